from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
from defectnet_atomate.signatures import (
    MEASURED,
    SignatureFit,
    SignatureLibrary,
    plausible_sites,
    single_dopant_cell,
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return EmbeddingEngine(
        settings=EmbeddingSettings(patch_atoms=16, min_separation=3.0),
        cache_dir=str(tmp_path_factory.mktemp("patches")),
    )


@pytest.fixture(scope="module")
def library(engine):
    from pymatgen.core import Lattice, Structure

    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    return SignatureLibrary.from_host(si.get_primitive_structure(), ["Ge", "C"], engine=engine)


def test_signatures_conserve_area_and_differ_by_dopant(library):
    assert library.elements == ["Ge", "C"]
    assert [s["multiplicity"] for s in library.signatures] == [2, 2]  # both Si sites alike
    ge, c = (np.asarray(s["per_percent"]) for s in library.signatures)
    step = library.frequencies[1] - library.frequencies[0]
    for sig in (ge, c):  # a change of a unit-area DOS has no area
        assert abs(sig.sum() * step / library.scale) < 1e-6
    # light C pulls a local mode out above the Si band (a third of an atom's modes per at.%
    # of atoms, in density units of the relative grid), heavy Ge does not
    above = library.frequencies > 1.05 * library.scale
    assert c[above].sum() > 0.2
    assert abs(ge[above].sum()) < 0.01


def test_fit_reads_a_single_dopant_cell_and_ignores_distractors(library, engine):
    doped = single_dopant_cell(library.host, engine.host_data(library.host)["matrix"], 1, "C")
    doc = engine.run_supercell(doped)
    fit = library.fit(doc, lattice="fixed")  # the embedding engine keeps the host's lattice
    assert isinstance(fit, SignatureFit)
    assert fit.present == ["C"]
    assert fit.concentrations["C"] == pytest.approx(100 / 16, rel=0.02)
    assert fit.concentrations["Ge"] < 0.05
    assert fit.explained > 0.99
    # as inelastic neutron scattering would see it (C scatters 5.6 barn per 12 amu, Si 2.2 per 28)
    neutron = library.fit(doc, kind="neutron", lattice="fixed")
    assert neutron.present == ["C"]
    assert neutron.concentrations["C"] == pytest.approx(100 / 16, rel=0.02)
    # the same spectrum as a plain (frequencies, DOS) pair against its cell reference
    qpoints = engine.modes(doped, patches=False)[1].qpoints
    reference = engine.cell_reference(library.host, doped.supercell_matrix, qpoints)
    pair = (np.asarray(doc.pdos.frequencies), np.asarray(doc.pdos.total))
    again = library.fit(pair, cell_reference=reference.dos(), unit="THz", lattice="fixed")
    assert again.concentrations["C"] == pytest.approx(fit.concentrations["C"], rel=0.05)


def test_fit_a_partial_dos_of_a_host_element(library, engine):
    # Si's partial DOS of pristine Si is its DOS
    assert np.allclose(library.pristine_partial["Si"], library.pristine)
    ge, c = library.signatures
    total, partial = np.asarray(c["per_percent"]), np.asarray(c["per_percent_partial"]["Si"])
    # C's local mode above the Si band sits on the C atom: the total DOS shows it, Si's
    # partial DOS (what nuclear resonant scattering of 29Si would see) hardly does
    above = library.frequencies > 1.05 * library.scale
    assert partial[above].sum() < 0.2 * total[above].sum()
    assert not np.allclose(ge["per_percent_partial"]["Si"], ge["per_percent"])
    doped = single_dopant_cell(library.host, engine.host_data(library.host)["matrix"], 1, "C")
    doc = engine.run_supercell(doped)
    fit = library.fit(doc, kind="partial:Si", lattice="fixed")
    assert fit.present == ["C"]
    assert fit.concentrations["C"] == pytest.approx(100 / 16, rel=0.02)
    # the same partial DOS as a plain spectrum against the library's pristine partial DOS
    corrected = library.change(doc, kind="partial:Si") + np.asarray(library.pristine_partial["Si"])
    pair = (library.frequencies, corrected)
    again = library.fit(pair, unit="THz", kind="partial:Si", lattice="fixed")
    assert again.present == ["C"]
    assert again.concentrations["C"] == pytest.approx(fit.concentrations["C"], rel=0.02)
    with pytest.raises(ValueError, match="C is not an element of the host"):
        library.fit(doc, kind="partial:C")
    older = SignatureLibrary.from_dict({**library.as_dict(), "pristine_partial": None})
    with pytest.raises(ValueError, match="no partial-DOS signatures"):
        older.fit(doc, kind="partial:Si")


def test_fit_with_an_instrument_resolution(library, engine):
    from defectnet_atomate.measurement import apply_resolution

    doped = single_dopant_cell(library.host, engine.host_data(library.host)["matrix"], 0, "Ge")
    doc = engine.run_supercell(doped)
    corrected = library.change(doc) + np.asarray(library.pristine)  # on the library's grid
    measured = apply_resolution(library.frequencies, corrected, 2.0)  # 2 meV FWHM
    pair = (library.frequencies, measured)
    fit = library.fit(pair, unit="THz", resolution=2.0, lattice="fixed")
    assert fit.present == ["Ge"]
    assert fit.concentrations["Ge"] == pytest.approx(100 / 16, rel=0.05)
    assert fit.explained > 0.95
    # read as if sharp, the broadening itself is taken for dopants
    assert library.fit(pair, unit="THz", lattice="fixed").explained < fit.explained
    # a document (a simulation) is read as the instrument would show it
    as_measured = library.fit(doc, resolution=2.0, lattice="fixed")
    assert as_measured.concentrations["Ge"] == pytest.approx(100 / 16, rel=0.02)


def test_fit_a_measured_spectrum_with_measurement_terms(library, engine):
    from defectnet_atomate.ml.augment import MeasurementAugmentation
    from defectnet_atomate.spectra import Spectrum

    doped = single_dopant_cell(library.host, engine.host_data(library.host)["matrix"], 0, "Ge")
    sample = library.change(engine.run_supercell(doped)) + np.asarray(library.pristine)
    top = library.scale
    # a measurement: energies 3 % high, 4 % of the area in the two-phonon tail, a background
    # under it, 1.5 meV resolution (0.36 THz), against the simulated pristine DOS
    effects = {"fwhm": (0.3627, 0.0), "scale": 1.03, "multiphonon": 0.04, "background": 0.02}
    measured = MeasurementAugmentation.distort(
        Spectrum(library.frequencies, sample), top, **effects
    )
    pair = (measured.frequencies, measured.densities)
    plain = library.fit(pair, unit="THz", resolution=1.5, lattice="fixed")
    # read as if simulated, the measurement's effects are taken for dopants
    assert plain.concentrations["Ge"] < 0.5 * 100 / 16
    assert "C" in plain.present
    fit = library.fit(
        pair, unit="THz", resolution=1.5, lattice="fixed", nuisance=MEASURED, scale="fit"
    )
    assert fit.scale == pytest.approx(1.03, abs=0.003)
    assert fit.present == ["Ge"]
    assert fit.concentrations["Ge"] == pytest.approx(100 / 16, rel=0.15)
    assert fit.nuisance["multiphonon"] > 0.01
    assert fit.explained > 0.9
    assert 0 < fit.uncertainties["Ge"] < 0.5 * fit.concentrations["Ge"]
    assert "energy scale" in str(fit)
    parts = fit.components  # the fit, bin by bin, as plot() draws it
    observed, residual = np.asarray(parts["observed"]), np.asarray(parts["residual"])
    fitted = sum(np.asarray(v) for v in parts["dopants"].values()) + np.asarray(
        parts["measurement"]
    )
    assert np.allclose(observed - residual, fitted)
    assert SignatureFit.from_dict(fit.as_dict()).components["dopants"].keys() == {"Ge", "C"}
    import matplotlib

    matplotlib.use("Agg")
    legend = [t.get_text() for t in fit.plot().get_legend().get_texts()]
    assert any(t.startswith("Ge ") for t in legend) and "measurement terms" in legend
    # the undoped crystal on the same instrument comes back undoped
    pristine = Spectrum(library.frequencies, np.asarray(library.pristine))
    blank = MeasurementAugmentation.distort(pristine, top, **effects)
    none = library.fit(
        (blank.frequencies, blank.densities),
        unit="THz",
        resolution=1.5,
        lattice="fixed",
        nuisance=MEASURED,
        scale="fit",
    )
    assert none.present == []
    # read against that measured pristine spectrum, the scale comes from it
    against = library.fit(
        pair,
        pristine=(blank.frequencies, blank.densities),
        unit="THz",
        resolution=1.5,
        lattice="fixed",
        scale="fit",
    )
    assert against.scale == pytest.approx(1.03, abs=0.003)
    assert against.present == ["Ge"]
    with pytest.raises(ValueError, match="Unknown measurement term"):
        library.fit(pair, unit="THz", nuisance=["dust"])
    with pytest.raises(ValueError, match="scale='fast'"):
        library.fit(pair, unit="THz", scale="fast")
    with pytest.raises(ValueError, match="positive"):
        library.rescaled(-1.0)


def test_fit_weights_bins_by_error_bars(library, engine):
    from defectnet_atomate.spectra import Spectrum

    doped = single_dopant_cell(library.host, engine.host_data(library.host)["matrix"], 0, "Ge")
    sample = library.change(engine.run_supercell(doped)) + np.asarray(library.pristine)
    f = library.frequencies
    # a spurious peak where C's local mode lies, in a region of poor statistics
    where = np.exp(-0.5 * ((f - 1.15 * library.scale) / (0.03 * library.scale)) ** 2)
    spurious = sample + 0.5 * sample.max() * where
    errors = 1e-3 * sample.max() + 0.5 * sample.max() * where
    plain = library.fit((f, spurious), unit="THz", lattice="fixed")
    assert "C" in plain.present  # unweighted, the artefact reads as carbon
    weighted = library.fit(Spectrum(f, spurious, "THz", errors=errors), lattice="fixed")
    assert weighted.present == ["Ge"]
    assert weighted.concentrations["Ge"] == pytest.approx(100 / 16, rel=0.1)


def test_a_spectrum_on_the_library_grid_bins_to_itself(library):
    from defectnet_atomate.signatures import _binned

    pristine = np.asarray(library.pristine)
    again = _binned(library.frequencies, pristine, library.scale)
    assert np.allclose(again, pristine, atol=1e-6 * pristine.max())
    fit = library.fit((library.frequencies, pristine), unit="THz")
    assert fit.present == [] and max(fit.concentrations.values()) < 1e-6


def test_concentration_series_reads_a_crowded_cell(library):
    from defectnet_atomate.phonons.direct import DirectEngine

    # one Ge in Si's two-atom cell: 50 at.% (ordered SiGe), the series' one point here
    crowded = library.with_series(multiples=(1, 2))  # 2x2x2 = the patch cell: skipped
    assert [[e["n_atoms"] for e in s["series"]] for s in crowded.signatures] == [[2], [2]]
    assert crowded.signatures[0]["series"][0]["percent"] == pytest.approx(50.0)
    cell = np.eye(3, dtype=int).tolist()
    doc = DirectEngine().run_supercell(single_dopant_cell(library.host, cell, 0, "Ge"))
    linear = crowded.fit(doc)
    assert linear.concentrations["Ge"] < 25  # the first order reads it far too low
    fit = crowded.fit(doc, series=True)
    assert fit.concentrations["Ge"] == pytest.approx(50.0, rel=0.01)
    assert fit.present == ["Ge"] and fit.explained > 0.99
    assert fit.series and 2 < fit.iterations <= 31 and "concentration series" in str(fit)
    assert not linear.series and linear.iterations == 1
    with pytest.raises(ValueError, match="no concentration series"):
        library.fit(doc, series=True)
    with pytest.raises(ValueError, match="lattice='relaxed'"):
        crowded.fit(doc, series=True, lattice="fixed")


def test_lattice_term_follows_vegard(library):
    # Si's bulk modulus with CHGNet, eV/A^3 (experiment: 98 GPa = 0.61 eV/A^3)
    assert 0.3 < library.bulk_modulus < 0.9
    ge, c = (s["ln_volume_per_percent"] for s in library.signatures)
    assert ge > 0 > c  # Ge widens the lattice, C shrinks it
    derivative = np.asarray(library.dos_per_ln_volume)
    # a wider lattice softens the host: weight moves to lower frequencies
    first_moment = (derivative * library.frequencies).sum()
    assert first_moment < 0
    relaxed = library._column(library.signatures[1], "pdos", "relaxed")
    fixed = library._column(library.signatures[1], "pdos", "fixed")
    assert not np.allclose(relaxed, fixed)


def test_library_round_trips_and_refuses_bad_input(library, engine):
    restored = SignatureLibrary.from_dict(library.as_dict())
    assert restored.elements == library.elements
    assert np.allclose(restored.signatures[0]["per_percent"], library.signatures[0]["per_percent"])
    with pytest.raises(ValueError, match=r"No signature of \['Sn'\].*from_host"):
        library.fit((library.frequencies, np.ones(library.frequencies.size)), candidates=["Sn"])
    with pytest.raises(ValueError, match="unit"):
        library.fit((library.frequencies, np.ones(library.frequencies.size)))
    with pytest.raises(ValueError, match="kind='xray' is not supported"):
        library.fit({"pdos": {}, "pristine_pdos": {}}, kind="xray")
    with pytest.raises(ValueError, match="lattice='bent'"):
        library.fit({"pdos": {}, "pristine_pdos": {}}, lattice="bent")
    without = SignatureLibrary.from_dict({**library.as_dict(), "pristine_neutron": None})
    with pytest.raises(ValueError, match="no neutron-weighted signatures"):
        without.fit({"pdos": {}, "pristine_pdos": {}}, kind="neutron")
    with pytest.raises(ValueError, match="own references"):
        library.fit({"pdos": {}, "pristine_pdos": {}}, pristine=object())
    with pytest.raises(ValueError, match="host elements"):
        SignatureLibrary.from_host(library.host, ["Si"], engine=engine, relax=False)
    with pytest.raises(ValueError, match="not elements of the host"):
        SignatureLibrary.from_host(
            library.host, ["Ge"], engine=engine, replaces={"Ge": ["O"]}, relax=False
        )
    masses_only = EmbeddingEngine(settings=EmbeddingSettings(patch_atoms=16, patches=False))
    with pytest.raises(ValueError, match="patches=False"):
        SignatureLibrary.from_host(library.host, ["Ge"], engine=masses_only, relax=False)


def test_plausible_sites_pair_cations_and_anions(zno_structure):
    assert plausible_sites(zno_structure, "Ga") == ["Zn"]
    assert plausible_sites(zno_structure, "S") == ["O"]
