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


def test_effect_probability_switches_effects_off_and_keeps_old_draws(pair):
    doped, pristine = pair
    f_max = pristine.quantile_frequency(0.999)
    # the draws of an augmentation with every effect, in the order __call__ makes them
    rng = np.random.default_rng(8)
    rng.random()  # probability
    a = rng.uniform(0.005, 0.04) * f_max
    b = rng.uniform(0.0, 0.03)
    scale = 1 + rng.uniform(-0.02, 0.02)
    multiphonon, background, noise = (rng.uniform(*r) for r in ((0, 0.08), (0, 0.03), (0, 0.04)))
    every = MeasurementAugmentation.distort(
        doped,
        f_max,
        fwhm=(a, b),
        scale=scale,
        multiphonon=multiphonon,
        background=background,
        noise=noise,
        rng=rng,
    )
    old, _ = MeasurementAugmentation(probability=1.0)(doped, pristine, np.random.default_rng(8))
    assert np.array_equal(old.densities, every.densities)  # chance 1: the draws of before
    # chance 0: no tail, no background, no noise, a constant width; the same a and scale
    bare, _ = MeasurementAugmentation(probability=1.0, effect_probability=0.0)(
        doped, pristine, np.random.default_rng(8)
    )
    expected = MeasurementAugmentation.distort(doped, f_max, fwhm=(a, 0.0), scale=scale)
    assert np.allclose(bare.densities, expected.densities)
    assert not np.allclose(
        bare.densities[: old.densities.size], old.densities[: bare.densities.size]
    )
    assert area(bare) == pytest.approx(area(doped), rel=0.02)


def test_measured_like_examples_take_an_augmentation(ml_docs):
    from defectnet_atomate.ml.augment import measured_like_examples
    from defectnet_atomate.ml.training import examples_from_docs

    examples = [e for e in examples_from_docs(ml_docs[:6]) if e.truth][:3]
    default = measured_like_examples(examples, seed=2)
    explicit = measured_like_examples(examples, seed=2, augmentation=MeasurementAugmentation())
    off = (0.0, 0.0)
    # probability 0 is overridden: every spectrum is distorted
    reduced = measured_like_examples(
        examples,
        seed=2,
        augmentation=MeasurementAugmentation(
            probability=0.0, multiphonon=off, background=off, noise=off
        ),
    )

    def beyond_band(s: Spectrum, top: float) -> float:
        return float(s.densities[s.frequencies > 1.3 * top].sum() / s.densities.sum())

    for d, x, r, e in zip(default, explicit, reduced, examples, strict=True):
        assert np.array_equal(d.doped.densities, x.doped.densities)
        assert r.doped.source.startswith("distorted")
        top = e.pristine.quantile_frequency(0.999)
        # the tail and the background put weight above the band; the reduced draw has less
        assert beyond_band(r.doped, top) < beyond_band(d.doped, top) - 0.005


def test_measured_reference_shares_the_instrument(ml_docs):
    from defectnet_atomate.ml.augment import measured_like_examples
    from defectnet_atomate.ml.training import examples_from_docs

    examples = examples_from_docs(ml_docs[:6])
    pristine = next(e for e in examples if not e.truth)
    quiet = MeasurementAugmentation(noise=(0.0, 0.0))
    # two noiseless measurements of the same pristine sample on one instrument are equal
    (same,) = measured_like_examples([pristine], seed=3, augmentation=quiet, reference="measured")
    assert same.pristine.source.startswith("distorted")
    assert np.allclose(same.doped.densities, same.pristine.densities)
    # the simulated-reference draw keeps the pristine example's clean reference
    (clean,) = measured_like_examples([pristine], seed=3, augmentation=quiet)
    assert clean.pristine is pristine.pristine
    # with noise, each measurement draws its own
    (noisy,) = measured_like_examples([pristine], seed=3, reference="measured")
    assert not np.allclose(noisy.doped.densities, noisy.pristine.densities)
    assert area(noisy.doped) == pytest.approx(area(noisy.pristine), rel=0.05)
    with pytest.raises(ValueError, match="reference must be"):
        measured_like_examples([pristine], reference="lab")


def test_augmentation_draws_measured_references(ml_docs):
    from defectnet_atomate.ml.training import examples_from_docs

    pristine = next(e for e in examples_from_docs(ml_docs[:6]) if not e.truth)
    pair = (pristine.doped, pristine.pristine)
    quiet = {"probability": 1.0, "noise": (0.0, 0.0)}
    # chance 1: the reference is measured alike, so a noiseless pristine pair stays equal
    d, p = MeasurementAugmentation(measured_reference=1.0, **quiet)(*pair, np.random.default_rng(4))
    assert np.allclose(d.densities, p.densities)
    # without it the reference is at most broadened: no background under it
    loud = {
        "probability": 1.0,
        "background": (0.05, 0.05),
        "multiphonon": (0.0, 0.0),
        "noise": (0.0, 0.0),
        "pristine_same_instrument": 1.0,
    }
    _, measured = MeasurementAugmentation(measured_reference=1.0, **loud)(
        *pair, np.random.default_rng(4)
    )
    _, broadened = MeasurementAugmentation(**loud)(*pair, np.random.default_rng(4))
    assert measured.densities.min() > 0.02 * measured.densities.max()
    assert broadened.densities.min() < 1e-3 * broadened.densities.max()


def test_measurement_like_copies_are_read_as_measurements(si_docs):
    """A fidelity-aware network reads measurement-like copies at level 0, as predict does."""
    from dataclasses import replace

    from defectnet_atomate.ml.augment import measured_like_examples
    from defectnet_atomate.ml.training import examples_from_docs

    examples = [replace(e, engine="mass-defect") for e in examples_from_docs(si_docs)[:2]]
    assert {e.engine for e in measured_like_examples(examples, seed=0)} == {"measured"}
