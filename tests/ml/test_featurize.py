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
