from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.phonons.embedding import (
    AdditivityError,
    EmbeddingEngine,
    EmbeddingSettings,
    PatchRangeError,
    SeparationError,
    UnstableHostError,
)
from defectnet_atomate.spectra import spectral_overlap


@pytest.fixture(scope="module")
def host():
    from pymatgen.core import Lattice, Structure

    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    return DirectEngine(settings=DirectSettings(relax_cell=False)).relax_host(
        si.get_primitive_structure()
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    settings = EmbeddingSettings(patch_atoms=16, cutoff=20.0, min_separation=3.0)
    return EmbeddingEngine(settings=settings, cache_dir=str(tmp_path_factory.mktemp("patches")))


def test_one_dopant_matches_direct_within_the_cutoff(engine, host):
    """With the cutoff covering the whole patch cell, embedding reproduces the direct engine."""
    matrix = engine.host_data(host)["matrix"]
    doped = make_doped_supercell(host, ["Ge:Si:6.25"], supercell_matrix=matrix, seed=1)
    embedded = engine.run_supercell(doped)
    direct = DirectEngine(settings=DirectSettings(relax_cell=False)).run_supercell(doped)
    p, q = embedded.pdos, direct.pdos
    assert spectral_overlap(p.frequencies, p.total, q.frequencies, q.total) > 0.97
    assert embedded.settings.engine == "embedding"
    assert any("patches" in a for a in embedded.settings.approximations)


def test_sum_rules(engine, host):
    matrix = engine.host_data(host)["matrix"]
    doped = make_doped_supercell(host, ["C:Si:6.25"], supercell_matrix=matrix, seed=0)
    _, fc, masses = engine.force_constants(doped)
    assert np.abs(fc.sum(axis=1)).max() < 1e-8  # acoustic sum rule
    assert np.allclose(fc, fc.transpose(1, 0, 3, 2), atol=1e-8)
    assert masses.min() == pytest.approx(12.011, abs=0.01)
    doc = engine.run_supercell(doped)
    total = np.asarray(doc.pdos.total)
    assert np.allclose(sum(np.asarray(v) for v in doc.pdos.projected.values()), total)
    assert doc.pdos.integral() == pytest.approx(3.0, rel=0.02)


def test_patches_are_cached_and_reused(engine, host):
    matrix = engine.host_data(host)["matrix"]
    doped = make_doped_supercell(host, ["Ge:Si:6.25"], supercell_matrix=matrix, seed=2)
    engine.run_supercell(doped)
    before = dict(engine.stats)
    engine.run_supercell(doped)
    assert engine.stats["patches_computed"] == before["patches_computed"]
    assert engine.stats["patches_reused"] > before["patches_reused"]
    fresh = EmbeddingEngine(settings=engine.settings, cache_dir=engine.cache_dir)
    fresh.run_supercell(doped)
    assert fresh.stats["patches_computed"] == 0  # read from the on-disk cache


def test_cache_key_ignores_the_sign_of_zero(engine, host):
    """A relaxation leaves zero lattice entries as +-1e-9 at random: the same host, one key."""
    from pymatgen.core import Lattice

    matrix = host.lattice.matrix.copy()
    zeros = np.abs(matrix) < 1e-6
    assert zeros.any()
    keys = set()
    for sign in (1.0, -1.0):
        jittered = host.copy()
        jittered.lattice = Lattice(np.where(zeros, sign * 1e-9, matrix))
        keys.add(engine._host_key(jittered))
    assert keys == {engine._host_key(host)}


def test_unreadable_patch_cache_is_recomputed(engine, host, monkeypatch):
    """A cache file cut short (a killed writer) is recomputed and rewritten, not fatal."""
    from pathlib import Path

    matrix = engine.host_data(host)["matrix"]
    doped = make_doped_supercell(host, ["Ge:Si:6.25"], supercell_matrix=matrix, seed=2)
    engine.run_supercell(doped)  # the Ge patch is in the cache folder now
    files = sorted(Path(engine.cache_dir).glob("patch-*-Ge-*.json.gz"))
    assert files and not list(Path(engine.cache_dir).glob(".tmp-*"))
    for file in files:
        file.write_bytes(b"")  # what a run killed mid-write used to leave
    from defectnet_atomate.phonons import embedding as module

    warned = []  # (other tests' logging set-ups may disable this logger: record the call)
    monkeypatch.setattr(module.logger, "warning", lambda msg, *a: warned.append(msg % a))
    fresh = EmbeddingEngine(settings=engine.settings, cache_dir=engine.cache_dir)
    fresh.run_supercell(doped)
    assert any("unreadable" in w for w in warned)
    assert fresh.stats["patches_computed"] == 1
    again = EmbeddingEngine(settings=engine.settings, cache_dir=engine.cache_dir)
    again.run_supercell(doped)
    assert again.stats["patches_computed"] == 0  # rewritten whole


def test_close_dopants_are_refused(host):
    engine = EmbeddingEngine(settings=EmbeddingSettings(patch_atoms=16, min_separation=7.0))
    matrix = engine.host_data(host)["matrix"]
    doped = make_doped_supercell(host, ["Ge:Si:6.25", "Sn:Si:6.25"], supercell_matrix=matrix)
    with pytest.raises(SeparationError, match="direct engine"):
        engine.run_supercell(doped)


def test_interacting_dopants_are_refused_and_their_relaxations_reused(host, tmp_path):
    """The additivity check: one dopant adds up trivially; two dopants in one small cell
    interact, are measured to, and are refused above the limit (engine='auto' hands them
    to the direct engine); the relaxations it needs are the patches' own (computed once)."""
    settings = EmbeddingSettings(patch_atoms=16, min_separation=3.0)
    engine = EmbeddingEngine(settings=settings, cache_dir=str(tmp_path))
    matrix = engine.host_data(host)["matrix"]
    one = make_doped_supercell(host, ["C:Si:6.25"], supercell_matrix=matrix, seed=0)
    assert engine.extra_relaxation(one) == 0.0
    two = make_doped_supercell(host, ["C:Si:6.25", "Sn:Si:6.25"], supercell_matrix=matrix)
    extra = engine.extra_relaxation(two)
    assert engine.stats["relaxations_computed"] == 2 and engine.stats["patches_computed"] == 0
    assert 1e-4 < extra < 0.5  # C and Sn 3-4 A apart push each other's neighbours
    strict = EmbeddingEngine(
        settings=EmbeddingSettings(
            patch_atoms=16, min_separation=3.0, max_extra_relaxation=extra / 2
        ),
        cache_dir=str(tmp_path),
    )
    with pytest.raises(AdditivityError, match="direct engine") as caught:
        strict.force_constants(two)
    assert isinstance(caught.value, SeparationError)  # what engine="auto" hands over
    assert f"{extra:.4f} A" in str(caught.value)
    assert strict.stats["relaxations_computed"] == 0  # read from the cache folder
    with pytest.raises(AdditivityError, match="in 3 draws"):  # redrawn, in vain in this cell
        strict.run(host, ["C:Si:6.25", "Sn:Si:6.25"], supercell_matrix=matrix, max_tries=3)
    loose = EmbeddingEngine(
        settings=EmbeddingSettings(patch_atoms=16, min_separation=3.0, max_extra_relaxation=1.0),
        cache_dir=str(tmp_path),
    )
    loose.force_constants(two)
    assert loose.stats["patches_computed"] == 2 and loose.stats["relaxations_computed"] == 0
    # caches of patches from before 0.12 hold no relaxation files: the patches give them
    for file in tmp_path.glob("relax-*.npy"):
        file.unlink()
    old = EmbeddingEngine(settings=loose.settings, cache_dir=str(tmp_path))
    assert old.extra_relaxation(two) == pytest.approx(extra)
    assert old.stats["relaxations_computed"] == 0


def test_extra_relaxation_estimates_the_actual_relaxation(host, tmp_path):
    """The check's linear estimate against relaxing the added-up geometry itself."""
    from pymatgen.io.phonopy import get_pmg_structure

    from defectnet_atomate.phonons.direct import relax_structure
    from defectnet_atomate.phonons.dos import make_phonopy

    engine = EmbeddingEngine(
        settings=EmbeddingSettings(patch_atoms=16, min_separation=3.0), cache_dir=str(tmp_path)
    )
    matrix = engine.host_data(host)["matrix"]
    two = make_doped_supercell(host, ["C:Si:6.25", "Sn:Si:6.25"], supercell_matrix=matrix)
    estimate = engine.extra_relaxation(two)
    structure = get_pmg_structure(make_phonopy(host, matrix, is_symmetry=False).supercell)
    engine._embed(two, structure, True, blocks=False)
    relaxed, _ = relax_structure(structure, engine.calculator, False, 1e-3, 300)
    moved = relaxed.frac_coords - structure.frac_coords
    actual = np.linalg.norm((moved - np.round(moved)) @ structure.lattice.matrix, axis=1).max()
    assert actual > 1e-3  # the two relaxations do not simply add up ...
    assert actual / 3 < estimate < 3 * actual  # ... and the estimate says by how much


def test_patch_reaching_beyond_a_smaller_cell_is_refused(engine, host):
    """A whole-cell patch cannot go into a cell in which it would wrap onto itself."""
    assert EmbeddingSettings().cutoff is None  # the default: every atom of the patch cell
    smaller = [[2, 0, 0], [0, 2, 0], [0, 0, 1]]  # 8 atoms, the patch cell has 16
    doped = make_doped_supercell(host, ["Ge:Si:12.5"], supercell_matrix=smaller, seed=0)
    with pytest.raises(PatchRangeError, match="direct engine") as caught:
        engine.force_constants(doped)
    assert isinstance(caught.value, SeparationError)  # engine="auto" hands it over
    assert "supercell of 8 atoms" in str(caught.value)


def test_mass_defect_level_has_no_separation_rule_and_follows_the_masses(host):
    """Mass-defect model: neighbouring dopants allowed; heavier dopants soften the spectrum."""
    engine = EmbeddingEngine(settings=EmbeddingSettings(patch_atoms=16, patches=False))
    matrix = engine.host_data(host)["matrix"]
    doped = make_doped_supercell(host, ["Sn:Si:12.5", "Ge:Si:12.5"], supercell_matrix=matrix)
    doc = engine.run_supercell(doped)  # would be refused with patches (min_separation 7 A)
    assert doc.settings.engine == "mass-defect"
    assert any("mass-defect" in a for a in doc.settings.approximations)
    assert engine.stats["patches_computed"] == 0
    assert doc.pdos.integral() == pytest.approx(3.0, rel=0.02)

    def mean_frequency(p):
        f, d = np.asarray(p.frequencies), np.asarray(p.total)
        return float((f * d).sum() / d.sum())

    assert mean_frequency(doc.pdos) < 0.97 * mean_frequency(doc.pristine_pdos)
    # the host atoms keep their force constants: same positions as the pristine cell
    _, fc, masses = engine.force_constants(doped)
    assert np.allclose(fc, engine.host_force_constants(host, matrix)[1])
    assert sorted(np.round(masses, 0))[-1] == 119


@pytest.mark.parametrize("mesh_length", [5.0, 30.0])  # Gamma only, then a q-mesh
def test_cell_reference_is_the_undoped_cell_at_the_same_q_points(host, mesh_length):
    """The cell reference equals the undoped supercell sampled like the doped one."""
    from defectnet_atomate.phonons.dos import modes_from_force_constants

    engine = EmbeddingEngine(
        settings=EmbeddingSettings(patch_atoms=16, patches=False, mesh_length=mesh_length)
    )
    doped = make_doped_supercell(host, ["Ge:Si:2"], max_atoms=64, search_range=1)
    structure, fc, _ = engine.force_constants(doped)
    undoped = structure.copy()
    undoped.replace_species({"Ge": "Si"})
    sampled = modes_from_force_constants(undoped, fc, np.eye(3, dtype=int), mesh_length)
    assert (len(sampled.qpoints) == 1) == (mesh_length == 5.0)
    cell = engine.cell_reference(host, doped.supercell_matrix, sampled.qpoints)
    assert np.allclose(np.sort(cell.frequencies), np.sort(sampled.frequencies), atol=1e-5)
    assert sum(cell.weights["Si"]) == pytest.approx(3.0, rel=1e-6)


def test_documents_carry_the_cell_reference_and_it_removes_sampling(host):
    """doped - cell reference is the dopant's effect; the raw difference is mostly sampling."""
    engine = EmbeddingEngine(settings=EmbeddingSettings(patch_atoms=16, patches=False))
    doped = make_doped_supercell(host, ["Ge:Si:1"], max_atoms=128, search_range=1)
    doc = engine.run_supercell(doped)
    assert doc.cell_pristine_pdos is not None
    corrected = doc.sampling_corrected_pdos()
    assert np.trapezoid(corrected.total, corrected.frequencies) == pytest.approx(3.0, rel=0.01)

    def overlap(a, b):
        return spectral_overlap(a.frequencies, a.total, b.frequencies, b.total)

    raw = overlap(doc.pdos, doc.pristine_pdos)
    fixed = overlap(corrected, doc.pristine_pdos)
    assert fixed > 0.97  # one Ge in ~100 Si changes little ...
    assert 1 - fixed < 0.5 * (1 - raw)  # ... far less than the change of q-sampling
    # the dopant's effect against its own cell's sampling is the same size
    assert overlap(doc.pdos, doc.cell_pristine_pdos) == pytest.approx(fixed, abs=0.01)


def test_cells_beyond_the_dense_limit_take_the_sparse_lanczos_path(host, tmp_path):
    """Above ``max_dense_atoms``: sparse force constants and Lanczos quadrature, against dense."""
    # Gamma only, as for large cells
    settings = {"patch_atoms": 64, "patches": False, "mesh_length": 1.0}
    dense = EmbeddingEngine(settings=EmbeddingSettings(**settings), cache_dir=str(tmp_path))
    sparse_engine = EmbeddingEngine(
        settings=EmbeddingSettings(**settings, max_dense_atoms=100), cache_dir=str(tmp_path)
    )
    matrix = [[-3, 3, 3], [3, -3, 3], [3, 3, -3]]  # 216 atoms
    doped = make_doped_supercell(host, ["C:Si:1.4", "Sn:Si:1.4"], supercell_matrix=matrix, seed=3)
    assert sparse_engine.is_sparse(doped) and not dense.is_sparse(doped)
    a, b = dense.run_supercell(doped), sparse_engine.run_supercell(doped)
    assert any("Lanczos" in x for x in b.settings.approximations)
    p, q = a.pdos, b.pdos
    assert spectral_overlap(p.frequencies, p.total, q.frequencies, q.total) > 0.97
    assert np.allclose(sum(np.asarray(v) for v in q.projected.values()), q.total)
    assert q.integral() == pytest.approx(3.0, rel=0.02)

    # the dopants' effect (doped - cell reference) agrees: the same random vectors cancel noise
    def effect(doc):
        grid = np.asarray(a.pdos.frequencies)
        d = np.interp(grid, doc.pdos.frequencies, doc.pdos.total, left=0, right=0)
        c = doc.cell_pristine_pdos
        return d - np.interp(grid, c.frequencies, c.total, left=0, right=0)

    x, y = effect(a), effect(b)
    assert x @ y / np.linalg.norm(x) / np.linalg.norm(y) > 0.8


def test_sparse_embedded_force_constants_match_the_dense_ones(engine, host):
    """Patches go into the sparse matrix as into the dense one (same sites, same blocks)."""
    matrix = [[3, 0, 0], [0, 3, 0], [0, 0, 3]]  # 54 atoms
    doped = make_doped_supercell(host, ["Ge:Si:1.9"], supercell_matrix=matrix, seed=4)
    structure, fc, masses = engine.force_constants(doped)
    sparse_structure, sparse_fc, sparse_masses = engine.sparse_force_constants(doped)
    assert [s.specie.symbol for s in structure] == [s.specie.symbol for s in sparse_structure]
    assert np.allclose(masses, sparse_masses)
    dense = fc.transpose(0, 2, 1, 3).reshape(sparse_fc.shape)
    assert np.abs(sparse_fc.toarray() - dense).max() < 1e-3 * np.abs(dense).max()


def test_run_moves_to_a_larger_cell_when_the_patches_do_not_fit(host, monkeypatch):
    """``run`` replaces a supercell too small for the whole-cell patches by the next larger
    one that realises the same concentration (more dopant atoms), within ``max_atoms``."""
    engine = EmbeddingEngine(settings=EmbeddingSettings(patch_atoms=16, min_separation=3.0))
    engine._relaxed_hosts[engine._host_key(host)] = host  # no cell relaxation in this test
    tried = []

    def fake_run_supercell(doped, host_id=None):
        tried.append((doped.num_sites, doped.dopants[0].count))
        if doped.num_sites < 16:
            raise PatchRangeError(f"supercell of {doped.num_sites} atoms")
        return doped

    monkeypatch.setattr(engine, "run_supercell", fake_run_supercell)
    doped = engine.run(host, ["Ge:Si:12.5"], max_atoms=32)
    assert tried[0] == (8, 1) and doped.num_sites >= 16
    assert doped.dopants[0].atomic_percent == pytest.approx(12.5)
    with pytest.raises(PatchRangeError, match="No larger supercell"):
        engine.run(host, ["Ge:Si:12.5"], max_atoms=12)
    with pytest.raises(PatchRangeError, match="8 atoms"):  # a fixed cell is not replaced
        engine.run(host, ["Ge:Si:12.5"], supercell_matrix=[[2, 0, 0], [0, 2, 0], [0, 0, 1]])


def test_unstable_host_is_refused_before_any_dopant_is_placed():
    """TlBr is no minimum of CHGNet (about 30 % imaginary modes): refused, unless told not to."""
    from pymatgen.core import Lattice, Structure

    tlbr = Structure(Lattice.cubic(3.97), ["Tl", "Br"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    engine = EmbeddingEngine(settings=EmbeddingSettings(patch_atoms=16, patches=False))
    with pytest.raises(UnstableHostError, match=r"TlBr is not a minimum of CHGNet.*imaginary"):
        engine.run(tlbr, ["Cs:Tl:12.5"], max_atoms=16)
    assert engine.host_imaginary_fraction(engine._relaxed_hosts[engine._host_key(tlbr)]) > 0.2
    unchecked = EmbeddingEngine(
        settings=EmbeddingSettings(patch_atoms=16, patches=False, max_host_imaginary=None)
    )
    doc = unchecked.run(tlbr, ["Cs:Tl:12.5"], max_atoms=16)
    assert doc.imaginary_fraction > 0.02  # what the screen spares: a flagged spectrum
    assert not any("imaginary are refused" in a for a in doc.settings.approximations)
    assert any(
        "imaginary are refused" in a for a in engine.settings.phonon_settings().approximations
    )


def test_relaxation_from_the_host_force_constants_is_shorter_to_the_same_minimum(engine, host):
    """BFGS started from the host's force constants of the cell: same minimum, fewer steps."""
    from pymatgen.io.phonopy import get_pmg_structure

    from defectnet_atomate.phonons.direct import relax_structure

    data = engine.host_data(host)
    doped = get_pmg_structure(data["phonon"].supercell)
    doped.replace(0, "C")
    s = engine.settings
    plain, plain_info = relax_structure(doped, engine.calculator, False, s.fmax, s.max_steps)
    started, info = relax_structure(
        doped, engine.calculator, False, s.fmax, s.max_steps, force_constants=data["fc"]
    )
    assert plain_info.converged and info.converged
    assert info.n_steps < plain_info.n_steps / 2  # measured: 11 against 34
    assert plain_info.max_displacement > 0.2  # C pulls its neighbours in by a third of an A
    # both stop at fmax 5e-3 eV/A: the same minimum within a few mA
    assert np.abs(plain.cart_coords - started.cart_coords).max() < 3e-3
    with pytest.raises(ValueError, match="do not fit"):
        relax_structure(doped, engine.calculator, False, force_constants=data["fc"][:4, :4])
