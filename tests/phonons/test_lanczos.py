from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Element, Lattice, Structure
from pymatgen.io.phonopy import get_pmg_structure

from defectnet_atomate.phonons.dos import make_phonopy, modes_from_force_constants
from defectnet_atomate.phonons.lanczos import (
    dynamical_matrix,
    lanczos_modes,
    sparse_force_constants,
)
from defectnet_atomate.spectra import broaden_modes, spectral_overlap


@pytest.fixture(scope="module")
def silicon(spring_fc):
    coords = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    coords += [[x + 0.25, y + 0.25, z + 0.25] for x, y, z in coords]
    si = Structure(Lattice.cubic(5.431), ["Si"] * 8, coords)
    host = make_phonopy(si, 2 * np.eye(3, dtype=int), is_symmetry=False)
    host.force_constants = spring_fc(get_pmg_structure(host.supercell))
    target = make_phonopy(si, 4 * np.eye(3, dtype=int), is_symmetry=False)
    big = get_pmg_structure(target.supercell)
    return host, target, big, spring_fc(big)


def _total(modes, grid):
    f = np.asarray(modes.frequencies)
    w = sum(np.asarray(v) for v in modes.weights.values())[:, None]
    return broaden_modes(f, w, grid, 0.1)[0]


def test_sparse_force_constants_equal_the_dense_ones(silicon):
    host, target, big, dense = silicon
    fc = sparse_force_constants(host, target)
    assert fc.shape == (3 * len(big),) * 2
    assert np.abs(fc.toarray() - dense.transpose(0, 2, 1, 3).reshape(fc.shape)).max() < 1e-10
    # a cutoff below the nearest neighbours leaves nothing, and the sum rule still holds
    empty = sparse_force_constants(host, target, cutoff=1.0)
    assert abs(empty).sum() == 0


def test_lanczos_dos_against_exact_modes_and_its_noise_cancels(silicon):
    """512 atoms, 5 C mass defects: Lanczos quadrature against dense diagonalisation."""
    host, target, big, dense = silicon
    fc = sparse_force_constants(host, target)
    symbols = ["Si"] * len(big)
    for i in np.random.default_rng(1).choice(len(big), 5, replace=False):
        symbols[i] = "C"
    masses = [Element(s).atomic_mass for s in symbols]
    doped_modes = lanczos_modes(dynamical_matrix(fc, masses), symbols, 16, 250, seed=0)
    pristine_modes = lanczos_modes(dynamical_matrix(fc, [28.0855] * len(big)), ["Si"] * len(big))
    doped = big.copy()
    for i, s in enumerate(symbols):
        if s != "Si":
            doped.replace(i, s)
    exact = modes_from_force_constants(doped, dense, np.eye(3), mesh_length=1.0)
    exact_pristine = modes_from_force_constants(big, dense, np.eye(3), mesh_length=1.0)
    dos = doped_modes.dos()
    assert dos.integral() == pytest.approx(3.0, rel=1e-3)
    assert np.trapezoid(dos.projected["C"], dos.frequencies) == pytest.approx(
        3 * 5 / len(big), rel=1e-3
    )
    grid = np.arange(-1.0, 40.0, 0.05)
    assert spectral_overlap(grid, _total(exact, grid), grid, _total(doped_modes, grid)) > 0.97
    # the dopants' effect: the same random vectors on both cells cancel most of the noise
    effect = _total(exact, grid) - _total(exact_pristine, grid)
    estimate = _total(doped_modes, grid) - _total(pristine_modes, grid)
    cosine = effect @ estimate / np.linalg.norm(effect) / np.linalg.norm(estimate)
    assert cosine > 0.95
    other = lanczos_modes(dynamical_matrix(fc, [28.0855] * len(big)), ["Si"] * len(big), seed=5)
    independent = _total(doped_modes, grid) - _total(other, grid)
    assert np.abs(estimate - effect).sum() < 0.5 * np.abs(independent - effect).sum()
