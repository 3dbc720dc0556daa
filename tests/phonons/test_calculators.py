from __future__ import annotations

import pytest

from defectnet_atomate.phonons.calculators import (
    ChgnetForces,
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
    assert "stress" not in lean.results and "stress" not in lean.inner.results
    emt = EMT()
    assert forces_calculator(emt) is emt  # other calculators as they are
