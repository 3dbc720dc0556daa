from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.ml.featurize import (
    DIFFERENCE_SCALE,
    N_BINS,
    N_CHANNELS,
    X_MAX,
    bin_spectrum,
    featurize,
    host_scale,
)
from defectnet_atomate.spectra import Spectrum


def _spectrum(peaks, f_max=20.0):
    f = np.linspace(0, f_max, 800)
    d = sum(np.exp(-0.5 * ((f - p) / 0.3) ** 2) for p in peaks)
    return Spectrum(f, d, "THz")


def test_bins_have_unit_area_and_follow_the_host_scale():
    s = _spectrum([5.0, 10.0])
    binned = bin_spectrum(s.frequencies, s.densities, 10.0)
    assert binned.shape == (N_BINS,)
    assert binned.sum() == pytest.approx(1.0, rel=1e-5)
    centre = (np.arange(N_BINS) + 0.5) * X_MAX / N_BINS
    assert centre[np.argmax(binned)] == pytest.approx(0.5, abs=0.02) or centre[
        np.argmax(binned)
    ] == pytest.approx(1.0, abs=0.02)
    assert host_scale(s) == pytest.approx(10.0 + 3 * 0.3, abs=0.5)


def test_featurize_shapes_and_checks():
    doped, pristine = _spectrum([5.0, 9.0]), _spectrum([5.0, 10.0])
    f = featurize(doped, pristine, {"Si": 1.0}, ["Ge", "C"])
    assert f.spectra.shape == (N_CHANNELS, N_BINS)
    # channels: doped, pristine, difference, and the difference on an asinh scale
    assert np.allclose(f.spectra[2], f.spectra[0] - f.spectra[1])
    assert np.allclose(f.spectra[3], np.arcsinh(f.spectra[2] / DIFFERENCE_SCALE))
    assert list(f.cand_z[:3]) == [31, 5, -1]
    assert f.host_frac.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="Unknown element"):
        featurize(doped, pristine, {"Si": 1.0}, ["Gx"])
    with pytest.raises(ValueError, match="listed twice"):
        featurize(doped, pristine, {"Si": 1.0}, ["Ge", "Ge"])
    with pytest.raises(ValueError, match="host elements"):
        featurize(doped, pristine, {"Si": 1.0}, ["Si"])
    with pytest.raises(ValueError, match="at most"):
        featurize(
            doped,
            pristine,
            {"Si": 1.0},
            ["Li", "Be", "B", "C", "N", "O", "F", "Na", "Mg", "Al", "P", "S", "Cl"],
        )
    with pytest.raises(ValueError, match="beyond Pu"):
        featurize(doped, pristine, {"Si": 1.0}, ["Am"])


def test_candidate_site_pairs_follow_the_projected_dos():
    """Pairs exist for known sites only; a mass-defect change is read back at its at.%."""
    from pymatgen.core import Element

    from defectnet_atomate.ml.featurize import BIN_CENTRES, SIGNATURE_PERCENT
    from defectnet_atomate.phonons.dos import mass_defect_signature

    pristine = _spectrum([5.0, 10.0])
    # one-element host: the total DOS is the site's projection
    one = featurize(pristine, pristine, {"Si": 1.0}, ["Ge", "C"])
    assert one.pair_mask[:2, 0].all() and one.pair_mask.sum() == 2
    # a two-element host needs the projections; without them the pairs are masked
    two = featurize(pristine, pristine, {"Ga": 0.5, "As": 0.5}, ["Ge", "C"])
    assert not two.pair_mask.any() and not two.pair_signals.any()
    projected = {"Ga": _spectrum([5.0]).densities, "As": _spectrum([10.0]).densities}
    two = featurize(pristine, pristine, {"Ga": 0.5, "As": 0.5}, ["Ge", "C"], projected)
    assert two.pair_mask[:2, :2].all() and two.pair_mask.sum() == 4
    # hosts are sorted (As, Ga): the As site's DOS peaks at f_max, Ga's at half of it
    assert np.argmax(two.pair_signals[0, 0, 1]) > np.argmax(two.pair_signals[0, 1, 1])
    # a doped spectrum made of 2 at.% C on Si sites: the pair's fit reads back 2 at.%
    scale = host_scale(pristine)
    base = featurize(pristine, pristine, {"Si": 1.0}, ["C"])
    eps = 1 - Element("C").atomic_mass / Element("Si").atomic_mass
    signature = mass_defect_signature(BIN_CENTRES, base.pair_signals[0, 0, 1], eps)
    doped_binned = base.spectra[1] + 0.02 * signature
    doped = Spectrum(BIN_CENTRES * scale, np.clip(doped_binned, 0, None), "THz")
    f = featurize(doped, pristine, {"Si": 1.0}, ["C", "Sn"])
    amplitude, cosine, joint = np.sinh(f.pair_scalars[0, 0, 2]), *f.pair_scalars[0, 0, 3:5]
    assert amplitude == pytest.approx(2.0 / SIGNATURE_PERCENT, rel=0.25)
    assert cosine > 0.8  # the doped spectrum is binned again (smoothed by a bin)
    assert np.sinh(joint) == pytest.approx(2.0, rel=0.25)
    assert np.sinh(f.pair_scalars[1, 0, 4]) < 0.5  # Sn is not what changed the spectrum
