from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.doping import (
    Doping,
    DopingError,
    make_doped_supercell,
    parse_doping,
    recommend_dopants,
)


def test_parse_doping_forms():
    expected = Doping("Ge", "Si", 5.0)
    assert parse_doping("Ge:Si:5") == expected
    assert parse_doping("Ge:Si:5%") == expected
    assert parse_doping({"element": "Ge", "replaces": "Si", "atomic_percent": 5}) == expected
    assert parse_doping(("Ge", "Si", 5)) == expected
    assert parse_doping(expected.as_dict()) == expected
    assert str(expected) == "Ge:Si:5"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("Xx:Si:1", "not a chemical element"),
        ("Ge:Si", "ELEMENT:REPLACED:AT_PERCENT"),
        ("Ge:Si:lots", "must be a number"),
        ("Ge:Si:0.05", "outside the supported range"),
        ("Ge:Si:30", "outside the supported range"),
        ("Si:Si:5", "cannot replace itself"),
        ({"element": "Ge"}, "missing"),
        (42, "Cannot read a doping"),
    ],
)
def test_parse_doping_refuses(bad, match):
    with pytest.raises(DopingError, match=match):
        parse_doping(bad)


def test_doping_wrong_types():
    with pytest.raises(DopingError, match="must be a number"):
        Doping("Ge", "Si", "5")
    with pytest.raises(DopingError, match="element symbol"):
        Doping(32, "Si", 5)


def test_supercell_realises_concentrations(si_structure):
    doped = make_doped_supercell(si_structure, ["Ge:Si:5", "C:Si:1"], seed=3)
    n = doped.num_sites
    assert n <= 200
    for d in doped.dopants:
        assert abs(d.atomic_percent - d.target_atomic_percent) <= 0.1 * d.target_atomic_percent
        assert d.atomic_percent == pytest.approx(100 * d.count / n)
        assert d.sublattice_fraction == pytest.approx(d.count / n)  # Si is the only sublattice
    composition = doped.structure.composition
    assert composition["Ge"] == doped.dopants[0].count
    assert composition["C"] == doped.dopants[1].count
    assert composition["Si"] == n - doped.dopants[0].count - doped.dopants[1].count
    assert np.linalg.det(doped.supercell_matrix) > 0
    # dopant_sites point at the dopants
    assert {doped.structure[i].specie.symbol for i in doped.dopant_sites[0]} == {"Ge"}


def test_supercell_is_smallest_and_seeded(si_structure):
    doped = make_doped_supercell(si_structure, ["Ge:Si:6.25"])
    assert doped.num_sites == 16  # one Ge in 16 atoms is exactly 6.25 at.%
    a = make_doped_supercell(si_structure, ["Ge:Si:3", "Sn:Si:3"], seed=1)
    b = make_doped_supercell(si_structure, ["Ge:Si:3", "Sn:Si:3"], seed=1)
    c = make_doped_supercell(si_structure, ["Ge:Si:3", "Sn:Si:3"], seed=2)
    assert a.dopant_sites == b.dopant_sites
    assert a.dopant_sites != c.dopant_sites


def test_supercell_min_atoms_gives_a_larger_cell_of_the_same_concentration(si_structure):
    small = make_doped_supercell(si_structure, ["Ge:Si:12.5"], seed=0)
    large = make_doped_supercell(
        si_structure, ["Ge:Si:12.5"], seed=0, min_atoms=small.num_sites + 1
    )
    assert large.num_sites > small.num_sites
    assert large.dopants[0].atomic_percent == pytest.approx(small.dopants[0].atomic_percent)
    assert large.dopants[0].count > small.dopants[0].count
    with pytest.raises(DopingError, match="of 9 to 12 atoms"):
        make_doped_supercell(si_structure, ["Ge:Si:12.5"], min_atoms=9, max_atoms=12)


def test_supercell_dilute_needs_hundreds_of_atoms(si_structure):
    doped = make_doped_supercell(si_structure, ["Ge:Si:0.2"])
    assert 450 <= doped.num_sites <= 560


def test_zno_sublattice_fraction(zno_structure):
    doped = make_doped_supercell(zno_structure, ["Al:Zn:2"], seed=0)
    d = doped.dopants[0]
    assert d.sublattice_fraction == pytest.approx(2 * d.atomic_percent / 100)


@pytest.mark.parametrize(
    ("dopings", "kwargs", "match"),
    [
        (["Ge:Si:0.2"], {"supercell_matrix": [[2, 0, 0], [0, 4, 0], [0, 0, 4]]}, "64-atom"),
        (["Ge:O:1"], {}, "has no O"),
        ([f"{el}:Si:1" for el in ["Ge", "C", "Sn", "P", "B", "Al", "Ga"]], {}, "at most 6"),
        (["Ge:Si:1", "Ge:Si:2"], {}, "appears twice"),
        (["Ge:Si:0.2"], {"max_atoms": 100}, "raise max_atoms"),
        ([], {}, "No dopings"),
    ],
)
def test_supercell_refuses(si_structure, dopings, kwargs, match):
    with pytest.raises(DopingError, match=match):
        make_doped_supercell(si_structure, dopings, **kwargs)


def test_supercell_refuses_overfull_sublattice(zno_structure):
    with pytest.raises(DopingError, match="add up to"):
        make_doped_supercell(zno_structure, ["Al:Zn:25", "Ga:Zn:25"])


def test_supercell_refuses_non_structure():
    with pytest.raises(DopingError, match="pymatgen Structure"):
        make_doped_supercell("Si.cif", ["Ge:Si:5"])


def test_recommend_ionic_host(zno_structure):
    suggestions = recommend_dopants(zno_structure, num_dopants=3)
    assert suggestions
    assert all(s.method == "substitution_probability" for s in suggestions)
    assert all(s.element not in ("Zn", "O") for s in suggestions)
    # match_oxi_sign: anions only on the O site, cations only on the Zn site
    for s in suggestions:
        assert (s.replaces == "O") == (s.element in ("F", "Cl", "N", "S", "Br", "I", "P"))
    assert sum(s.kind == "n_type" for s in suggestions) <= 3
    probabilities = [s.probability for s in suggestions if s.kind == "n_type"]
    assert probabilities == sorted(probabilities, reverse=True)


def test_recommend_covalent_host_falls_back(si_structure):
    suggestions = recommend_dopants(si_structure, num_dopants=2)
    assert suggestions and all(s.method == "periodic_table" for s in suggestions)
    kinds = {s.kind: s.element for s in suggestions}
    assert set(kinds) == {"n_type", "p_type", "isovalent"}
    assert all(s.replaces == "Si" for s in suggestions)


def test_recommend_element_filter(zno_structure):
    suggestions = recommend_dopants(zno_structure, num_dopants=2, elements=["Al", "Ga", "In", "F"])
    assert suggestions
    assert {s.element for s in suggestions} <= {"Al", "Ga", "In", "F"}
    doping = suggestions[0].to_doping(1.0)
    assert isinstance(doping, Doping)


def test_fast_shape_search_gives_valid_supercells(si_structure):
    """search_range=1 (used to sample large cells) still realises the request exactly."""
    for percent in (0.25, 1.0, 4.0):
        fast = make_doped_supercell(si_structure, [f"Ge:Si:{percent}"], search_range=1)
        slow = make_doped_supercell(si_structure, [f"Ge:Si:{percent}"])
        assert len(fast.structure) == len(slow.structure)
        assert round(abs(np.linalg.det(fast.supercell_matrix))) * len(si_structure) == len(
            fast.structure
        )
        assert fast.dopants[0].count == slow.dopants[0].count
