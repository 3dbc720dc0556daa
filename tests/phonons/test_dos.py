from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.phonons.dos import (
    element_modes,
    mass_defect_signature,
    modes_from_force_constants,
)


def test_modes_of_a_spring_model(si_structure, spring_fc):
    supercell = si_structure.copy().make_supercell([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])
    supercell.replace(0, "Ge")
    fc = spring_fc(supercell)
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


def _chain_frequencies(masses: np.ndarray) -> np.ndarray:
    """Eigenfrequencies of a ring of unit springs (sqrt(k/m) units)."""
    n = masses.size
    i = np.arange(n)
    d = np.zeros((n, n))
    d[i, i] = 2.0
    d[i, (i + 1) % n] = d[(i + 1) % n, i] = -1.0
    s = 1 / np.sqrt(masses)
    return np.sqrt(np.clip(np.linalg.eigvalsh(d * s[:, None] * s[None, :]), 0, None))


@pytest.mark.parametrize("eps", [0.5, -2.0])
def test_mass_defect_signature_matches_an_exact_chain(eps):
    """One mass defect in a 1,500-atom chain, diagonalised exactly, against the formula."""
    n = 1500
    f = np.linspace(0, 3, 301)
    eta = 2 * (f[1] - f[0])

    def dos(w):
        return (eta / np.pi / ((f[:, None] - w[None, :]) ** 2 + eta**2)).sum(1) / w.size

    pure = _chain_frequencies(np.ones(n))
    doped_masses = np.ones(n)
    doped_masses[0] = 1 - eps
    observed = (dos(_chain_frequencies(doped_masses)) - dos(pure)) * n  # per unit fraction
    signature = mass_defect_signature(f, dos(pure), eps)
    cosine = observed @ signature / np.linalg.norm(observed) / np.linalg.norm(signature)
    assert cosine > 0.85
    assert signature.sum() * (f[1] - f[0]) == pytest.approx(0, abs=0.01)  # modes conserved
    if eps > 0:  # a light defect: a local mode above the band edge (2) at 2 / sqrt(1 - eps^2)
        assert f[np.argmax(signature)] == pytest.approx(2 / np.sqrt(1 - eps**2), abs=0.02)
        assert f[np.argmax(observed)] == pytest.approx(2 / np.sqrt(1 - eps**2), abs=0.02)
    assert np.allclose(mass_defect_signature(f, dos(pure), 0.0), 0)
    rows = mass_defect_signature(f, dos(pure), [0.0, eps])
    assert rows.shape == (2, f.size) and np.allclose(rows[1], signature)


def test_stiffness_signature_matches_an_exact_chain():
    """An atom tied to its place by an extra on-site spring, diagonalised exactly."""
    from defectnet_atomate.phonons.dos import signature_from_green, site_green_function

    n, delta = 1500, 1.5
    f = np.linspace(0, 3, 301)
    eta = 2 * (f[1] - f[0])

    def dos(w):
        return (eta / np.pi / ((f[:, None] - w[None, :]) ** 2 + eta**2)).sum(1) / w.size

    i = np.arange(n)
    d = np.zeros((n, n))
    d[i, i] = 2.0
    d[i, (i + 1) % n] = d[(i + 1) % n, i] = -1.0
    pure = np.sqrt(np.clip(np.linalg.eigvalsh(d), 0, None))
    d[0, 0] += delta
    observed = (dos(np.sqrt(np.clip(np.linalg.eigvalsh(d), 0, None))) - dos(pure)) * n
    green = site_green_function(f, dos(pure))
    signature = signature_from_green(f, green, 0.0, stiffness_change=delta)
    cosine = observed @ signature / np.linalg.norm(observed) / np.linalg.norm(signature)
    assert cosine > 0.85
    assert f[np.argmax(signature)] == pytest.approx(f[np.argmax(observed)], abs=0.03)
    assert f[np.argmax(signature)] > 2.0  # a stiffer site: a local mode above the band
    # a mass change and a stiffness change broadcast to one row each
    rows = signature_from_green(f, green, [0.0, 0.3], stiffness_change=[delta, 0.0])
    assert rows.shape == (2, f.size) and np.allclose(rows[0], signature)
    assert np.allclose(rows[1], signature_from_green(f, green, 0.3))


def test_elements_without_a_standard_phonopy_mass_get_pymatgen_masses():
    """phonopy has no standard mass for Ra, Po, Pu...: dopants of those must still run."""
    from pymatgen.core import Lattice, Structure

    from defectnet_atomate.phonons.dos import make_phonopy

    rocksalt = Structure(Lattice.cubic(5.5), ["Ba", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert make_phonopy(rocksalt, np.eye(3, dtype=int)).primitive.masses[0] == pytest.approx(
        137.327
    )
    rocksalt.replace(0, "Ra")
    masses = make_phonopy(rocksalt, 2 * np.eye(3, dtype=int)).supercell.masses
    assert masses[0] == pytest.approx(226.0) and masses[-1] == pytest.approx(15.9994)
