from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.ml.augment import MeasurementAugmentation
from defectnet_atomate.spectra import Spectrum


@pytest.fixture
def pair(ml_docs):
    d = ml_docs[0]
    doped = Spectrum(d["pdos"]["frequencies"], d["pdos"]["total"])
    pristine = Spectrum(d["pristine_pdos"]["frequencies"], d["pristine_pdos"]["total"])
    return doped, pristine


def area(s: Spectrum) -> float:
    return float(np.trapezoid(s.densities, s.frequencies))


def test_resolution_and_multiphonon_keep_the_area(pair):
    doped, pristine = pair
    f_max = pristine.quantile_frequency(0.999)
    out = MeasurementAugmentation.distort(doped, f_max, fwhm=(0.05 * f_max, 0.02), multiphonon=0.1)
    assert area(out) == pytest.approx(area(doped), rel=0.02)
    # the two-phonon tail puts weight above the one-phonon band

    def above(s: Spectrum) -> float:
        return float(s.densities[s.frequencies > 1.3 * f_max].sum() / s.densities.sum())

    assert 0.01 < above(out) - above(doped) < 0.1


def test_scale_error_moves_the_spectrum(pair):
    doped, pristine = pair
    f_max = pristine.quantile_frequency(0.999)
    out = MeasurementAugmentation.distort(doped, f_max, scale=1.03)
    assert out.quantile_frequency(0.5) == pytest.approx(1.03 * doped.quantile_frequency(0.5), 0.01)


def test_background_and_noise_are_added_and_seeded(pair):
    doped, pristine = pair
    aug = MeasurementAugmentation(probability=1.0, noise=(0.05, 0.05), background=(0.05, 0.05))
    a, _ = aug(doped, pristine, np.random.default_rng(3))
    b, _ = aug(doped, pristine, np.random.default_rng(3))
    c, _ = aug(doped, pristine, np.random.default_rng(4))
    assert np.array_equal(a.densities, b.densities)
    assert not np.array_equal(a.densities, c.densities)
    assert area(a) > area(doped)  # the background adds area
    assert (a.densities >= 0).all()


def test_probability_zero_leaves_the_pair_alone(pair):
    doped, pristine = pair
    out = MeasurementAugmentation(probability=0.0)(doped, pristine, np.random.default_rng(0))
    assert out[0] is doped and out[1] is pristine


def test_neutron_share_swaps_in_the_neutron_pair_and_keeps_old_draws(pair):
    from defectnet_atomate.spectra import Spectrum

    doped, pristine = pair
    weighted = (
        Spectrum(
            doped.frequencies,
            doped.densities * (1 + 0.5 * doped.frequencies / 20),
            source="neutron-weighted",
        ),
        Spectrum(pristine.frequencies, pristine.densities, source="neutron-weighted"),
    )
    plain = MeasurementAugmentation(probability=1.0)
    a, _ = plain(doped, pristine, np.random.default_rng(5))
    b, _ = plain(doped, pristine, np.random.default_rng(5), neutron=weighted)
    assert np.array_equal(a.densities, b.densities)  # chance 0: no extra draw, same result
    always = MeasurementAugmentation(probability=1.0, neutron=1.0, noise=(0, 0))
    c, _ = always(doped, pristine, np.random.default_rng(5), neutron=weighted)
    assert c.source == "distorted neutron-weighted"
    none, _ = always(doped, pristine, np.random.default_rng(5))  # no neutron form given
    assert "neutron" not in none.source
