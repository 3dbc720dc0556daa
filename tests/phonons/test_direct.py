from __future__ import annotations

import re

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
    inner = calculator.model.predict_graph

    def recording(*args, task="efsm", **kwargs):
        tasks.append(task)
        return inner(*args, task=task, **kwargs)

    monkeypatch.setattr(calculator.model, "predict_graph", recording)
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


@pytest.fixture(scope="module")
def cu_emt():
    """fcc Cu with ASE's EMT potential (analytic stress, milliseconds per call)."""
    from ase.calculators.emt import EMT
    from pymatgen.core import Lattice, Structure

    cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.59), ["Cu"], [[0, 0, 0]])
    return cu.get_primitive_structure(), EMT()


def test_clamped_elastic_tensor_is_cubic_and_matches_the_energy_curvature(cu_emt):
    from pymatgen.io.ase import AseAtomsAdaptor

    from defectnet_atomate.phonons.direct import clamped_elastic_tensor

    cu, emt = cu_emt
    c = clamped_elastic_tensor(cu, emt)
    assert c.shape == (6, 6) and np.allclose(c, c.T)
    assert c[0, 0] == pytest.approx(c[1, 1], rel=1e-3) == pytest.approx(c[2, 2], rel=1e-3)
    assert c[0, 1] == pytest.approx(c[0, 2], rel=1e-3) and 0 < c[0, 1] < c[0, 0]
    assert c[3, 3] == pytest.approx(c[5, 5], rel=1e-3) and c[3, 3] > 0
    assert np.abs(c[:3, 3:]).max() < 1e-3 * c[0, 0]  # no normal-shear coupling in a cubic cell
    # C11 is the curvature of the energy under uniaxial strain, per volume (atoms clamped)
    atoms = AseAtomsAdaptor.get_atoms(cu)
    cell, h, energies = atoms.get_cell().array.copy(), 2e-3, []
    for eps in (-h, 0.0, h):
        strained = atoms.copy()
        strained.set_cell(cell @ np.diag([1 + eps, 1, 1]), scale_atoms=True)
        strained.calc = emt
        energies.append(strained.get_potential_energy())
    curvature = (energies[0] - 2 * energies[1] + energies[2]) / h**2 / atoms.get_volume()
    assert c[0, 0] == pytest.approx(curvature, rel=0.02)


def test_cell_hessian_scales_with_volume_over_atoms_squared():
    from defectnet_atomate.phonons.direct import cell_hessian

    c = np.diag([1.0, 1.0, 1.0, 0.5, 0.5, 0.5])
    c[:3, :3] += 0.3 * (1 - np.eye(3))
    h = cell_hessian(c, volume=500.0, n_atoms=40)
    assert h.shape == (9, 9) and np.allclose(h, h.T)
    assert np.linalg.eigvalsh(h).min() > 0  # rotations get the floor, not zero
    assert h[0, 0] == pytest.approx(500.0 / 40**2)  # xx: V C11 / n^2
    assert np.allclose(cell_hessian(c, volume=1000.0, n_atoms=80), h / 2)
    with pytest.raises(ValueError, match="6x6 Voigt"):
        cell_hessian(np.eye(3), 10.0, 2)


def test_elastic_start_relaxes_the_cell_in_fewer_steps_to_the_same_minimum(cu_emt):
    from defectnet_atomate.phonons.direct import clamped_elastic_tensor, relax_structure

    cu, emt = cu_emt
    cell = cu.copy()
    cell.make_supercell(3)
    cell.replace(0, "Au")  # larger atoms: the cell must swell and shear
    cell.replace(5, "Ni")
    cell.replace(11, "Au")
    cell.translate_sites([3], [0.04, -0.02, 0.03], frac_coords=False)
    elastic = clamped_elastic_tensor(cu, emt)
    uniform, info_u = relax_structure(cell, emt, relax_cell=True, fmax=1e-3, max_steps=400)
    started, info_e = relax_structure(
        cell, emt, relax_cell=True, fmax=1e-3, max_steps=400, elastic_tensor=elastic
    )
    assert info_u.converged and info_e.converged
    assert info_e.n_steps < 0.6 * info_u.n_steps  # 23 against 62 steps
    # the residual force at the start and every 10 steps: 7 records of 62 steps
    assert len(info_u.fmax_history) == info_u.n_steps // 10 + 1
    assert info_u.fmax_history[0] > 0.1 > info_u.fmax_history[-1]
    assert started.volume == pytest.approx(uniform.volume, rel=1e-4)
    assert np.allclose(started.lattice.abc, uniform.lattice.abc, atol=1e-3)
    with pytest.raises(ValueError, match="relax_cell=False"):
        relax_structure(cell, emt, relax_cell=False, elastic_tensor=elastic)


def test_host_force_constants_start_relaxes_in_fewer_steps_to_the_same_minimum(cu_emt):
    """Atoms from the host's force constants, cell from its elastic tensor (EMT: 5 vs 21)."""
    from defectnet_atomate.doping import make_doped_supercell
    from defectnet_atomate.phonons.direct import (
        clamped_elastic_tensor,
        compute_force_constants,
        host_site_order,
        relax_structure,
    )
    from defectnet_atomate.phonons.dos import make_phonopy

    cu, emt = cu_emt
    matrix = 3 * np.eye(3, dtype=int)
    doped = make_doped_supercell(cu, ["Au:Cu:7.4", "Ni:Cu:3.7"], seed=0, supercell_matrix=matrix)
    cell = doped.structure
    supercell = make_phonopy(cu, matrix, is_symmetry=False).supercell
    order = host_site_order(cell, supercell.cell, supercell.scaled_positions)
    assert sorted(order.tolist()) == list(range(27)) and order.tolist() != list(range(27))
    fc = compute_force_constants(cu, matrix, emt)[np.ix_(order, order)]
    elastic = clamped_elastic_tensor(cu, emt)
    kwargs = {"relax_cell": True, "fmax": 1e-3, "max_steps": 400, "elastic_tensor": elastic}
    plain, info_p = relax_structure(cell, emt, **kwargs)
    started, info_s = relax_structure(cell, emt, force_constants=fc, hessian_floor=2.0, **kwargs)
    assert info_p.converged and info_s.converged
    assert info_s.n_steps < 0.5 * info_p.n_steps  # 5 against 21 steps
    assert started.volume == pytest.approx(plain.volume, rel=1e-4)
    assert np.abs(started.cart_coords - plain.cart_coords).max() < 1e-3
    with pytest.raises(ValueError, match=r"\(27, 27, 3, 3\)"):
        relax_structure(cell, emt, force_constants=fc[:3, :3])


def test_host_site_order_refuses_cells_that_are_not_the_host_supercell(cu_emt):
    from defectnet_atomate.phonons.direct import host_site_order

    cu, _ = cu_emt
    cell = cu.copy()
    cell.make_supercell(2)
    frac = cell.frac_coords[::-1]
    assert host_site_order(cell, cell.lattice.matrix, frac).tolist() == list(range(8))[::-1]
    moved = cell.copy()
    moved.translate_sites([0], [0.3, 0, 0], frac_coords=False)
    assert host_site_order(moved, cell.lattice.matrix, frac) is None
    assert host_site_order(cell, 1.01 * cell.lattice.matrix, frac) is None
    assert host_site_order(cell, cell.lattice.matrix, frac[:7]) is None


def test_engine_starts_doped_cells_from_the_host_elastic_tensor(engine, ge_doc, monkeypatch):
    """The doped cell's relaxation gets the host's tensor (cached) and force constants in
    its own site order; the id ignores the start."""
    from dataclasses import replace

    from defectnet_atomate.batch import DopingTask
    from defectnet_atomate.phonons import direct

    seen, seen_fc = [], []
    inner = direct.relax_structure

    def recording(*args, elastic_tensor=None, force_constants=None, **kwargs):
        seen.append(elastic_tensor)
        seen_fc.append(force_constants)
        return inner(
            *args, elastic_tensor=elastic_tensor, force_constants=force_constants, **kwargs
        )

    monkeypatch.setattr(direct, "relax_structure", recording)
    host = ge_doc.host.structure
    doped = direct.make_doped_supercell(host, ["Ge:Si:6.25"], seed=1)
    engine.run_supercell(doped)
    assert seen[-1] is not None and seen[-1].shape == (6, 6)
    assert seen[-1] is engine.host_elastic_tensor(host)  # once per host
    fc = seen_fc[-1]
    assert fc.shape == (len(doped.structure), len(doped.structure), 3, 3)
    assert np.allclose(fc, fc.transpose(1, 0, 3, 2), atol=1e-6)  # Phi_ij = Phi_ji^T
    # the on-site blocks of a one-element host are equal whatever the site order
    assert np.allclose(fc[0, 0], fc[5, 5], atol=1e-4)
    assert np.allclose(fc, engine.host_force_constants(doped))
    uniform = replace(engine.settings, cell_start="uniform", atom_start="uniform")
    task = DopingTask(host=host, dopings=["Ge:Si:6.25"], seed=1, host_id="mp-149")
    assert task.task_id("CHGNet", engine.settings) == task.task_id("CHGNet", uniform)


def test_unknown_cell_start_is_refused_with_the_choices():
    from defectnet_atomate.phonons.direct import DirectSettings

    with pytest.raises(ValueError, match=r"'elastic'.*'uniform'"):
        DirectSettings(cell_start="hessian")
    with pytest.raises(ValueError, match=r"'host'.*'uniform'"):
        DirectSettings(atom_start="hessian")


def test_cell_left_unrelaxed_is_refused_before_its_force_constants(engine, ge_doc, monkeypatch):
    """With max_residual_force, a cell above it at the step limit gets no spectrum."""
    from dataclasses import replace

    from defectnet_atomate.batch import DopingTask
    from defectnet_atomate.phonons import direct

    inner = direct.compute_force_constants

    def host_force_constants_only(structure, *args, **kwargs):
        # the host's (the relaxation's start and the pristine reference) are wanted
        if "Ge" in structure.composition:
            raise AssertionError("the force constants of an unrelaxed cell were computed")
        return inner(structure, *args, **kwargs)

    monkeypatch.setattr(direct, "compute_force_constants", host_force_constants_only)
    strict = replace(engine.settings, max_steps=1, max_residual_force=1e-6)
    doped = direct.make_doped_supercell(ge_doc.host.structure, ["Ge:Si:6.25"], seed=2)
    with pytest.raises(direct.UnrelaxedCellError, match="max_residual_force=None") as refused:
        DirectEngine(settings=strict).run_supercell(doped)
    # the relaxation's progress goes with the refusal (one record: the start)
    assert re.search(r"every 10 steps \(eV/A\): [0-9.e+-]+\.$", str(refused.value))
    task = DopingTask(host=ge_doc.host.structure, dopings=["Ge:Si:6.25"], seed=2)
    assert task.task_id("CHGNet", strict) == task.task_id(
        "CHGNet", replace(strict, max_residual_force=None)
    )  # the screen decides whether a request gives a spectrum, not which: same id
