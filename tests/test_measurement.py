from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.measurement import (
    apply_resolution,
    chopper_resolution,
    neutron_weight,
    neutron_weighted_dos,
    partial_dos,
)
from defectnet_atomate.schemas import DefectPhononDoc, PhononDosData
from defectnet_atomate.spectra import broaden_modes, frequency_grid


def test_one_element_crystal_neutron_dos_is_its_pdos(si_docs):
    pristine = DefectPhononDoc.model_validate(si_docs[0]).pristine_pdos
    assert list(pristine.projected) == ["Si"]
    weighted = neutron_weighted_dos(pristine)
    assert np.allclose(weighted, pristine.total)


def test_two_elements_weight_as_cross_sections_say(si_docs):
    doc = DefectPhononDoc.model_validate(si_docs[0])  # Si with Ge
    raw = neutron_weighted_dos(doc.pdos, normalise=False)
    expected = sum(neutron_weight(el) * np.asarray(d) for el, d in doc.pdos.projected.items())
    assert np.allclose(raw, expected)
    # Ge scatters 8.6 b / 72.6 amu, Si 2.17 b / 28.1 amu: Ge's modes gain weight
    assert neutron_weight("Ge") / neutron_weight("Si") == pytest.approx(
        (8.6 / 72.63) / (2.167 / 28.085), rel=1e-3
    )
    f = np.asarray(doc.pdos.frequencies)
    ge_share_pdos = np.trapezoid(doc.pdos.projected["Ge"], f) / np.trapezoid(doc.pdos.total, f)
    weighted = neutron_weighted_dos(doc.pdos)
    ge_share_neutron = np.trapezoid(
        neutron_weight("Ge") * np.asarray(doc.pdos.projected["Ge"]), f
    ) / np.trapezoid(raw, f)
    assert ge_share_neutron > ge_share_pdos
    assert np.trapezoid(weighted, f) == pytest.approx(np.trapezoid(doc.pdos.total, f))
    assert np.allclose(partial_dos(doc.pdos, "Ge"), doc.pdos.projected["Ge"])
    with pytest.raises(ValueError, match="No Sn"):
        partial_dos(doc.pdos, "Sn")


def test_resolution_keeps_area_and_sets_width():
    grid = frequency_grid(0, 20, step=0.01, sigma=0.01)
    line = broaden_modes([10.0], [1.0], grid, sigma=0.01)
    fwhm_mev = 2.0
    wide = apply_resolution(grid, line, fwhm_mev, unit="meV")
    assert np.trapezoid(wide, grid) == pytest.approx(1.0, rel=1e-6)
    mean = np.trapezoid(grid * wide, grid)
    sigma_thz = np.sqrt(np.trapezoid((grid - mean) ** 2 * wide, grid))
    expected = np.sqrt((fwhm_mev / 4.135667696 / 2.3548) ** 2 + 0.01**2)
    assert sigma_thz == pytest.approx(expected, rel=0.03)
    # energy-dependent: a polynomial that widens with energy
    low = broaden_modes([3.0], [1.0], grid, sigma=0.01)
    a = apply_resolution(grid, low, [0.5, 0.1], unit="meV")
    b = apply_resolution(grid, line, [0.5, 0.1], unit="meV")
    assert a.max() > b.max()
    chopper = chopper_resolution(80.0)
    assert chopper(0.0) == pytest.approx(3.2)
    assert np.trapezoid(apply_resolution(grid, line, chopper), grid) == pytest.approx(1.0, rel=1e-6)


def test_neutron_dos_needs_projections():
    with pytest.raises(ValueError, match="projections"):
        neutron_weighted_dos(PhononDosData(frequencies=[0, 1, 2], total=[0, 1, 0]))


@pytest.mark.parametrize(("scale", "fwhm"), [(1.0, 0.0), (1.06, 0.6), (0.95, 0.25)])
def test_match_instrument_recovers_scale_and_resolution(si_docs, scale, fwhm):
    """An undoped 'measurement' (stretched, broadened, background, noise) of the simulated
    reference: the fit finds the instrument, and the matched reference fits it."""
    from defectnet_atomate.measurement import match_instrument
    from defectnet_atomate.spectra import Spectrum

    ref = DefectPhononDoc.model_validate(si_docs[0]).pristine_pdos
    reference = Spectrum(ref.frequencies, ref.total)
    f = np.linspace(0, 20, 600)
    d = np.interp(f, reference.frequencies * scale, reference.densities / scale, right=0)
    if fwhm:
        d = apply_resolution(f, d, fwhm, unit="THz")
    rng = np.random.default_rng(0)
    d = d + 0.02 * d.max() * (1 + rng.normal(0, 0.5, f.size)).clip(0)
    match = match_instrument(Spectrum(f, d), reference)
    assert match.scale == pytest.approx(scale, abs=0.01)
    assert match.fwhm_thz == pytest.approx(fwhm, abs=0.15)
    assert match.misfit_after <= match.misfit_before + 1e-9
    matched = match.apply(reference)
    area = np.trapezoid(matched.densities, matched.frequencies)
    assert area == pytest.approx(np.trapezoid(reference.densities, reference.frequencies), 0.01)
    assert "energy axis x" in match.describe()


def test_match_instrument_fits_a_resolution_that_grows_with_energy(si_docs):
    """A spectrometer's FWHM a + b f: the fit finds the slope, and matches better with it."""
    from defectnet_atomate.measurement import match_instrument
    from defectnet_atomate.spectra import Spectrum

    ref = DefectPhononDoc.model_validate(si_docs[0]).pristine_pdos
    reference = Spectrum(ref.frequencies, ref.total)
    f = np.linspace(0, 20, 600)
    d = np.interp(f, reference.frequencies * 1.02, reference.densities / 1.02, right=0)
    d = apply_resolution(f, d, [0.1, 0.05], unit="THz")  # 0.1 THz + 5 % of the energy
    sloped = match_instrument(Spectrum(f, d), reference, energy_dependent=True)
    flat = match_instrument(Spectrum(f, d), reference)
    assert flat.fwhm_slope == 0.0
    assert sloped.fwhm_slope == pytest.approx(0.05, abs=0.015)
    assert sloped.fwhm_thz == pytest.approx(0.1, abs=0.1)
    assert sloped.scale == pytest.approx(1.02, abs=0.005)
    assert sloped.misfit_after < 0.8 * flat.misfit_after
    assert sloped.fwhm(10.0) == pytest.approx(sloped.fwhm_thz + 10 * sloped.fwhm_slope)
    matched = sloped.apply(reference)
    area = np.trapezoid(matched.densities, matched.frequencies)
    assert area == pytest.approx(np.trapezoid(reference.densities, reference.frequencies), 0.01)
    assert "% of the energy" in sloped.describe()


def test_neutron_weight_shares_show_hydrogen_dominates():
    from defectnet_atomate.measurement import neutron_weight_shares
    from defectnet_atomate.ml.quantifier import _neutron_dominance

    koh = neutron_weight_shares({"K": 1 / 3, "O": 1 / 3, "H": 1 / 3})
    assert sum(koh.values()) == pytest.approx(1.0)
    assert koh["H"] > 0.99
    gaas = neutron_weight_shares({"Ga": 0.5, "As": 0.5})
    assert max(gaas.values()) < 0.9
    warning = _neutron_dominance({"K": 1 / 3, "O": 1 / 3, "H": 1 / 3})
    assert warning and "H holds 100 %" in warning[0] and "deuterated" in warning[0]
    assert not _neutron_dominance({"Ga": 0.5, "As": 0.5})
    assert not _neutron_dominance({"Si": 1.0})  # one element: the neutron DOS is the PDoS
    with pytest.raises(ValueError, match="Unknown element"):
        neutron_weight_shares({"Xx": 1.0})
