from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.phonons.direct import DirectEngine, compute_force_constants


@pytest.fixture(scope="module")
def engine():
    return DirectEngine()


@pytest.fixture(scope="module")
def ge_doc(engine):
    from pymatgen.core import Lattice, Structure

    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    return engine.run(si.get_primitive_structure(), ["Ge:Si:6.25"], seed=0, host_id="mp-149")


def test_document_physics(ge_doc):
    doc = ge_doc
    assert doc.num_sites == 16
    assert doc.dopant_elements == ["Ge"]
    assert doc.dopants[0].atomic_percent == pytest.approx(6.25)
    assert doc.pdos.integral() == pytest.approx(3.0, rel=0.02)
    assert doc.pristine_pdos.integral() == pytest.approx(3.0, rel=0.02)
    total = np.asarray(doc.pdos.total)
    assert np.allclose(sum(np.asarray(v) for v in doc.pdos.projected.values()), total, atol=1e-9)
    ge = np.trapezoid(doc.pdos.projected["Ge"], doc.pdos.frequencies)
    assert ge == pytest.approx(3 / 16, rel=0.02)
    assert not doc.has_imaginary_modes
    assert doc.relaxation.converged
    # Si optical peak near 15-16 THz with CHGNet (PBE-like potentials soften Si slightly)
    f = np.asarray(doc.pristine_pdos.frequencies)
    assert 13.5 < f[np.nonzero(np.asarray(doc.pristine_pdos.total) > 1e-3)[0][-1]] < 17.5
    # Ge is heavier: the doped cell's mean frequency is lower than the pristine host's
    mean = np.trapezoid(f * doc.pristine_pdos.total, f) / 3
    fd = np.asarray(doc.pdos.frequencies)
    assert np.trapezoid(fd * total, fd) / 3 < mean
    assert doc.calculator.name == "CHGNet" and doc.calculator.weights_hash
    assert doc.settings.engine == "direct"
    assert set(doc.timings) >= {"relax", "force_constants", "modes", "pristine", "total"}


def test_force_constants_obey_sum_rule_and_symmetry(engine, si_structure):
    relaxed = engine.relax_host(si_structure)
    fc = compute_force_constants(relaxed, 2 * np.eye(3, dtype=int), engine.calculator)
    assert np.abs(fc.sum(axis=1)).max() < 1e-8  # acoustic sum rule
    assert np.allclose(fc, fc.transpose(1, 0, 3, 2), atol=1e-8)  # Phi_ij = Phi_ji^T


def test_displacements_and_fixed_cell_relaxations_ask_for_forces_only(
    engine, si_structure, monkeypatch
):
    from defectnet_atomate.phonons.direct import relax_structure

    calculator = engine.calculator
    tasks = []
    inner = calculator.calculate

    def recording(*args, task="efsm", **kwargs):
        tasks.append(task)
        return inner(*args, task=task, **kwargs)

    monkeypatch.setattr(calculator, "calculate", recording)
    relaxed = engine.relax_host(si_structure)  # cell and positions: with the stress
    tasks.clear()
    compute_force_constants(relaxed, 2 * np.eye(3, dtype=int), calculator)
    assert tasks and set(tasks) == {"ef"}  # every displaced cell: no stress
    tasks.clear()
    moved = relaxed.copy()
    moved.make_supercell(2)
    moved.translate_sites([0], [0.05, 0.0, 0.0], frac_coords=False)
    relax_structure(moved, calculator, relax_cell=False, fmax=0.01)
    assert tasks and set(tasks) == {"ef"}
    tasks.clear()
    relax_structure(moved, calculator, relax_cell=True, fmax=0.01)
    assert "efsm" in tasks  # the cell's relaxation needs the stress


def test_pristine_is_cached(engine, ge_doc):
    before = dict(engine._pristine_cache)
    engine.pristine_modes(ge_doc.host.structure, ge_doc.supercell_matrix)
    assert engine._pristine_cache.keys() == before.keys()


def test_cell_reference_and_its_backfill(engine, ge_doc):
    """Documents carry the undoped cell at their q-points; older ones can get it later."""
    from defectnet_atomate.dataset import add_cell_references

    cell = ge_doc.cell_pristine_pdos
    assert cell is not None and cell.integral() == pytest.approx(3.0, rel=0.02)
    assert len(ge_doc.modes.qpoints) > 1  # a 16-atom cell is sampled on a q-mesh
    old = ge_doc.model_dump()
    old.pop("cell_pristine_pdos")
    assert add_cell_references([old], force_field="CHGNet") == 1
    assert np.allclose(old["cell_pristine_pdos"]["total"], cell.total, atol=1e-6)
    assert add_cell_references([old]) == 0  # nothing left to do


def test_host_unstable_with_the_potential_is_refused_before_the_doped_relaxation(monkeypatch):
    """TlBr is no minimum of CHGNet: with the screen on, no doped cell is relaxed."""
    from dataclasses import replace

    from pymatgen.core import Lattice, Structure

    from defectnet_atomate.phonons.direct import UnstableHostError

    tlbr = Structure(Lattice.cubic(3.97), ["Tl", "Br"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    engine = DirectEngine()
    engine.settings = replace(engine.settings, max_host_imaginary=0.02)

    def never(*args, **kwargs):
        raise AssertionError("the doped cell was relaxed")

    monkeypatch.setattr(engine, "run_supercell", never)
    with pytest.raises(UnstableHostError, match=r"TlBr is not a minimum of CHGNet.*\d+\.\d %"):
        engine.run(tlbr, ["Cs:Tl:12.5"], max_atoms=16)
    approximations = engine.settings.phonon_settings().approximations
    assert "imaginary are refused" in approximations[-1]
    assert not any("refused" in a for a in DirectEngine().settings.phonon_settings().approximations)
