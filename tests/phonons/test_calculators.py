from __future__ import annotations

import pytest

from defectnet_atomate.phonons.calculators import force_field_name, load_calculator


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
