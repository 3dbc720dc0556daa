from __future__ import annotations

import pytest

from defectnet_atomate.phonons.calculators import (
    GRAPH_REUSE_DISTANCE,
    ChgnetForces,
    fixed_neighbours,
    force_field_name,
    forces_calculator,
    load_calculator,
)


def test_force_field_names_survive_serialisation():
    from atomate2.forcefields.utils import MLFF

    for given in ("CHGNet", MLFF.CHGNet, "MLFF.CHGNet", {"@class": "MLFF", "value": "CHGNet"}):
        assert force_field_name(given) == "CHGNet"
    with pytest.raises(ValueError, match="Unknown force field"):
        force_field_name("NoSuchField")


def test_chgnet_provenance():
    calculator, info = load_calculator("CHGNet")
    assert info.name == "CHGNet"
    assert info.package_version
    assert info.model_version == "0.3.0"
    assert len(info.weights_hash) == 16
    assert load_calculator("CHGNet")[0] is calculator  # loaded once per process


def test_forces_only_chgnet_gives_the_same_forces(si_structure):
    from ase.calculators.emt import EMT
    from pymatgen.io.ase import AseAtomsAdaptor

    calculator = load_calculator("CHGNet")[0]
    cell = si_structure.copy()
    cell.make_supercell(2)
    cell.replace(0, "Ge")
    cell.translate_sites([3], [0.02, -0.01, 0.0], frac_coords=False)
    atoms = AseAtomsAdaptor.get_atoms(cell)
    atoms.calc = calculator
    full = atoms.get_forces().copy()
    lean = forces_calculator(calculator)
    assert isinstance(lean, ChgnetForces)
    assert forces_calculator(lean) is lean  # not wrapped twice
    atoms.calc = lean
    assert abs(atoms.get_forces() - full).max() < 1e-6
    assert abs(full).max() > 1e-3  # a displaced atom: real forces were compared
    assert "stress" not in lean.results
    emt = EMT()
    assert forces_calculator(emt) is emt  # other calculators as they are


def _doped_si_atoms(si_structure):
    from pymatgen.io.ase import AseAtomsAdaptor

    cell = si_structure.copy()
    cell.make_supercell(2)
    cell.replace(0, "Ge")
    cell.replace(5, "Ge")
    cell.perturb(0.03, min_distance=0.01)  # no symmetry left: every pair distance differs
    return AseAtomsAdaptor.get_atoms(cell)


def test_displaced_cells_reuse_the_graph_of_the_reference(si_structure):
    from ase.calculators.emt import EMT

    calculator = load_calculator("CHGNet")[0]
    atoms = _doped_si_atoms(si_structure)
    lean = forces_calculator(calculator)
    assert forces_calculator(calculator) is lean  # one wrapper per calculator
    displaced = []
    for i, step in enumerate([0.01, -0.01, 0.01, GRAPH_REUSE_DISTANCE]):
        cell = atoms.copy()
        cell.positions[3 * i, i % 3] += step
        displaced.append(cell)
    fresh = []
    for cell in displaced:
        cell.calc = lean
        fresh.append(cell.get_forces().copy())
    built, reused = lean.graphs_built, lean.graphs_reused
    with fixed_neighbours(calculator, atoms) as calc:
        assert calc is lean
        for cell, expected in zip(displaced, fresh, strict=True):
            cell.calc = calc
            forces = cell.get_forces()
            # the same graph up to pairs crossing a cutoff within 0.015 A of it
            assert abs(forces - expected).max() < 2e-4
            assert abs(forces - expected).max() < 0.01 * abs(expected).max()
        assert (lean.graphs_built, lean.graphs_reused) == (built + 1, reused + 4)
        far = atoms.copy()
        far.positions[1, 0] += 0.05  # beyond the reuse distance: a graph of its own
        strained = atoms.copy()
        strained.set_cell(atoms.cell * 1.001, scale_atoms=True)  # another lattice
        other = atoms.copy()
        other.symbols[7] = "C"  # other atoms
        for cell in (far, strained, other):
            cell.calc = calc
            cell.get_forces()
        assert (lean.graphs_built, lean.graphs_reused) == (built + 4, reused + 4)
        with fixed_neighbours(calculator, far):  # nested: the outer reference comes back
            pass
        displaced[1].positions[3, 1] += 1e-4
        displaced[1].calc = calc
        displaced[1].get_forces()
        assert lean.graphs_reused == reused + 5
    displaced[0].calc = lean
    displaced[0].positions[0, 0] += 1e-4  # a new call, after the context: own graph
    displaced[0].get_forces()
    assert lean.graphs_reused == reused + 5
    emt = EMT()
    with fixed_neighbours(emt, atoms) as calc:
        assert calc is emt  # other calculators as they are
