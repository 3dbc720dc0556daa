from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.phonons.dos import element_modes, modes_from_force_constants


def _nearest_neighbour_fc(structure, k=5.0):
    """A real, simple harmonic model: springs between nearest neighbours (eV/A^2)."""
    n = len(structure)
    fc = np.zeros((n, n, 3, 3))
    for i, neighbours in enumerate(structure.get_all_neighbors(2.5)):
        for nb in neighbours:
            d = nb.coords - structure[i].coords
            block = -k * np.outer(d, d) / d.dot(d)
            fc[i, nb.index] += block
            fc[i, i] -= block
    return fc


def test_modes_of_a_spring_model(si_structure):
    supercell = si_structure.copy().make_supercell([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])
    supercell.replace(0, "Ge")
    fc = _nearest_neighbour_fc(supercell)
    modes = modes_from_force_constants(supercell, fc, np.eye(3), mesh_length=10)
    dos = modes.dos()
    assert dos.integral() == pytest.approx(3.0, rel=1e-6)
    total = np.asarray(dos.total)
    assert np.allclose(sum(np.asarray(v) for v in dos.projected.values()), total)
    ge = np.trapezoid(dos.projected["Ge"], dos.frequencies)
    assert ge == pytest.approx(3 / len(supercell), rel=1e-6)
    # acoustic sum rule: three zero modes at Gamma
    freqs = np.asarray(modes.frequencies)[: 3 * len(supercell)]
    assert np.sort(np.abs(freqs))[:3] == pytest.approx(0, abs=1e-3)
    assert np.min(modes.frequencies) > -1e-3


def test_element_modes_weights():
    freqs = np.array([[1.0, 2.0, 3.0]])
    atom_weights = np.array([[[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]])
    modes = element_modes(freqs, atom_weights, np.array([1.0]), ["A", "B"])
    assert modes.weights["A"] == pytest.approx([0.5, 0.25, 0.0])
    assert modes.weights["B"] == pytest.approx([0.0, 0.25, 0.5])
