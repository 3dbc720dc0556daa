"""Linear-scaling phonon DOS of very large cells: sparse force constants and Lanczos quadrature.

Dense diagonalisation costs ``N^3`` time and ``N^2`` memory: beyond about 1,500 atoms (a
dopant at 0.07 at.%) it stops being practical on a workstation. Two pieces replace it:

1. :func:`sparse_force_constants` carries a host's force constants, computed in a modest
   host supercell, to an arbitrarily large supercell as a sparse matrix: every atom gets
   the blocks of its site in the host cell, each on its shortest periodic images
   (phonopy's convention), which is phonopy's dynamical-matrix transform of the force
   constants done in real space. Memory and time grow linearly with the atoms.
2. :func:`lanczos_modes` estimates the element-projected DOS by stochastic Lanczos
   quadrature (Ubaru, Chen and Saad, SIAM J. Matrix Anal. Appl. 38, 1075 (2017)): for
   random vectors supported on one element's coordinates, ``n_steps`` Lanczos steps give a
   Gauss quadrature of the spectral measure, i.e. a few hundred weighted pseudo-modes per
   vector. Returned as :class:`~defectnet_atomate.schemas.PhononModes`, they are broadened
   like exact modes. Cost: ``n_steps`` sparse products per block of vectors.

The stochastic error falls as ``1 / sqrt(vectors x atoms of the element)``; a doped cell and
its undoped reference evaluated with the same seed share most of it, so their difference
(what the model reads) is far less noisy than either (``benchmarks/lanczos_dos.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from scipy.linalg import eigh_tridiagonal
from scipy.spatial import cKDTree

from defectnet_atomate.phonons.dos import site_images
from defectnet_atomate.schemas import PhononModes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray
    from phonopy import Phonopy

__all__ = [
    "THZ_PER_SQRT_EV_A2_AMU",
    "assemble_force_constants",
    "dynamical_matrix",
    "lanczos_modes",
    "sparse_force_constants",
]

THZ_PER_SQRT_EV_A2_AMU = 15.633302300230191
"""sqrt(eV / Angstrom^2 / amu) in THz (phonopy's ``DefaultToTHz``)."""


def sparse_force_constants(
    host_phonon: Phonopy,
    target_phonon: Phonopy,
    cutoff: float | None = None,
    extra: Sequence[tuple[NDArray, NDArray, NDArray]] = (),
) -> sparse.csr_matrix:
    """Host force constants carried to a (large) supercell, as a sparse ``3N x 3N`` matrix.

    Every block of the host supercell goes to each of its shortest periodic images (split
    equally among equally short ones, phonopy's convention for the dynamical matrix), so
    the result equals phonopy's dynamical-matrix transform of the force constants to the
    target cell (``DynmatToForceConstants``), built in linear time and memory.

    Parameters
    ----------
    host_phonon
        Phonopy object of the host unit cell with its force constants in a host supercell
        (``host_phonon.force_constants``, full ``(n, n, 3, 3)``), eV/Angstrom^2.
    target_phonon
        Phonopy object of the same unit cell and the target supercell (no force constants
        needed; ``make_phonopy(host, matrix, is_symmetry=False)``).
    cutoff
        Leave out blocks between atoms farther apart than this, Angstrom (``None``: keep
        all; the sum rule is restored either way).
    extra
        Further blocks ``(rows, cols, blocks)`` (atom indices, ``(k, 3, 3)``) added on top,
        e.g. dopant patches.

    Returns
    -------
    scipy.sparse.csr_matrix
        Force constants of the target supercell in phonopy's atom order, with the acoustic
        sum rule restored on the diagonal blocks and ``Phi_ij = Phi_ji^T``.
    """
    fc = np.asarray(host_phonon.force_constants, float)
    primitive = host_phonon.primitive
    if fc.shape[0] != len(host_phonon.supercell):
        raise ValueError("The host force constants must be full (n, n, 3, 3), not compact.")
    svecs, multi = primitive.get_smallest_vectors()
    svecs = np.asarray(svecs, float) @ np.asarray(primitive.cell, float)  # Cartesian
    multi = np.asarray(multi)
    target = target_phonon.supercell
    t_lat = np.asarray(target.cell, float)
    t_frac = np.mod(np.asarray(target.scaled_positions), 1.0) % 1.0
    t_pos = t_frac @ t_lat
    tree = cKDTree(t_frac, boxsize=1.0)
    t_p2s = list(target_phonon.primitive.p2s_map)
    t_basis = np.array([t_p2s.index(s) for s in target_phonon.primitive.s2p_map])
    rows: list[NDArray] = [np.zeros(0, int)]
    cols: list[NDArray] = [np.zeros(0, int)]
    blocks: list[NDArray] = [np.zeros((0, 3, 3))]
    for p, i0 in enumerate(primitive.p2s_map):
        counts, starts = multi[:, p, 0], multi[:, p, 1]
        j_host = np.repeat(np.arange(len(counts)), counts)
        offsets = np.concatenate([np.arange(c) for c in counts])
        vectors = svecs[starts[j_host] + offsets]
        weight = 1.0 / counts[j_host]
        keep = np.linalg.norm(vectors, axis=1) > 1e-6
        if cutoff is not None:
            keep &= np.linalg.norm(vectors, axis=1) < cutoff
        j_host, vectors, weight = j_host[keep], vectors[keep], weight[keep]
        atoms = np.flatnonzero(t_basis == p)
        if not atoms.size or not j_host.size:
            continue
        where = t_pos[atoms][:, None, :] + vectors[None, :, :]
        j = site_images(tree, t_lat, where.reshape(-1, 3))
        if (j < 0).any():
            raise RuntimeError(
                "The host and target supercells do not match (a neighbour has no atom); "
                "build both from the same unit cell."
            )
        rows.append(np.repeat(atoms, j_host.size))
        cols.append(j)
        host_blocks = fc[i0, j_host] * weight[:, None, None]
        shape = (atoms.size, j_host.size, 3, 3)
        blocks.append(np.broadcast_to(host_blocks, shape).reshape(-1, 3, 3))
    for i, j, b in extra:
        rows.append(np.asarray(i, int))
        cols.append(np.asarray(j, int))
        blocks.append(np.asarray(b, float).reshape(-1, 3, 3))
    return assemble_force_constants(
        len(target), np.concatenate(rows), np.concatenate(cols), np.concatenate(blocks)
    )


def assemble_force_constants(
    n_atoms: int, rows: NDArray, cols: NDArray, blocks: NDArray
) -> sparse.csr_matrix:
    """Off-diagonal 3x3 blocks -> symmetric sparse force constants with the sum rule restored.

    Repeated ``(row, col)`` pairs add up (patches on top of host blocks); diagonal blocks
    given are ignored: they are set to minus the sum of their row.
    """
    rows, cols = np.asarray(rows), np.asarray(cols)
    blocks = np.asarray(blocks, float)
    off = rows != cols
    rows, cols, blocks = rows[off], cols[off], blocks[off]
    a = np.arange(3)
    r = (3 * rows[:, None, None] + a[None, :, None]).repeat(3, axis=2)
    c = (3 * cols[:, None, None] + a[None, None, :]).repeat(3, axis=1)
    matrix = sparse.coo_matrix((blocks.ravel(), (r.ravel(), c.ravel())), shape=(3 * n_atoms,) * 2)
    matrix = matrix.tocsr()
    matrix = 0.5 * (matrix + matrix.T)
    # acoustic sum rule: Phi_ii = -sum_{j != i} Phi_ij, block by block
    summed = np.asarray(matrix @ np.kron(np.ones((n_atoms, 1)), np.eye(3)))  # (3n, 3)
    diag = -summed.reshape(n_atoms, 3, 3)
    diag = 0.5 * (diag + diag.transpose(0, 2, 1))
    d_rows = (3 * np.arange(n_atoms)[:, None, None] + a[None, :, None]).repeat(3, axis=2)
    d_cols = (3 * np.arange(n_atoms)[:, None, None] + a[None, None, :]).repeat(3, axis=1)
    diagonal = sparse.coo_matrix(
        (diag.ravel(), (d_rows.ravel(), d_cols.ravel())), shape=(3 * n_atoms,) * 2
    )
    return (matrix + diagonal).tocsr()


def dynamical_matrix(
    force_constants: sparse.spmatrix, masses: Sequence[float]
) -> sparse.csr_matrix:
    """Gamma-point dynamical matrix ``M^-1/2 Phi M^-1/2`` (eV/Angstrom^2/amu), sparse."""
    scale = np.repeat(1.0 / np.sqrt(np.asarray(masses, float)), 3)
    d = sparse.diags(scale)
    return (d @ force_constants @ d).tocsr()


def lanczos_modes(
    dynmat: sparse.spmatrix,
    symbols: Sequence[str],
    n_vectors: int = 16,
    n_steps: int = 250,
    seed: int = 0,
) -> PhononModes:
    """Element-resolved pseudo-modes of a Gamma-point dynamical matrix by Lanczos quadrature.

    Parameters
    ----------
    dynmat
        Sparse ``3N x 3N`` dynamical matrix (:func:`dynamical_matrix`).
    symbols
        Element of each atom.
    n_vectors
        Random vectors per element (Rademacher, on that element's coordinates).
    n_steps
        Lanczos steps per vector (quadrature nodes per vector).
    seed
        Seed of the random vectors: the same seed on a doped cell and its undoped
        reference makes most of the stochastic error cancel in their difference.

    Returns
    -------
    PhononModes
        Ritz frequencies (THz; negative for negative eigenvalues) with quadrature weights
        per element, normalised like :func:`~defectnet_atomate.phonons.dos.element_modes`
        (the total integrates to 3); q-points: Gamma.
    """
    symbols = list(symbols)
    n = len(symbols)
    elements = sorted(set(symbols))
    # one random matrix over all coordinates, restricted to each element's: a doped cell and
    # its reference drawn with the same seed then share the vectors on the host's atoms
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(3 * n, n_vectors))
    freqs: list[NDArray] = []
    weights: dict[str, list[NDArray]] = {el: [] for el in elements}
    for el in elements:
        atoms = np.flatnonzero(np.array(symbols) == el)
        coords = (3 * atoms[:, None] + np.arange(3)[None, :]).ravel()
        block = np.zeros((3 * n, n_vectors))
        block[coords] = signs[coords] / np.sqrt(coords.size)
        steps = min(n_steps, coords.size)
        alpha, beta = _lanczos(dynmat, block, steps)
        for v in range(n_vectors):
            b = beta[: steps - 1, v]
            stop = np.flatnonzero(b < 1e-10 * max(1.0, np.abs(alpha[:, v]).max()))
            m = int(stop[0]) + 1 if stop.size else steps
            theta, vecs = eigh_tridiagonal(alpha[:m, v], b[: m - 1])
            tau = vecs[0] ** 2
            freqs.append(np.sign(theta) * np.sqrt(np.abs(theta)) * THZ_PER_SQRT_EV_A2_AMU)
            w = tau * (3.0 * atoms.size / n) / n_vectors
            for other in elements:
                weights[other].append(w if other == el else np.zeros_like(w))
    return PhononModes(
        frequencies=np.round(np.concatenate(freqs), 6).tolist(),
        weights={el: np.round(np.concatenate(weights[el]), 12).tolist() for el in elements},
        qpoints=[[0.0, 0.0, 0.0]],
    )


def _lanczos(matrix: sparse.spmatrix, start: NDArray, steps: int) -> tuple[NDArray, NDArray]:
    """Independent Lanczos recurrences on the columns of ``start`` (unit vectors).

    Returns the diagonals ``alpha`` ``(steps, k)`` and off-diagonals ``beta`` ``(steps, k)``
    of the tridiagonal matrices. No reorthogonalisation: its loss only duplicates
    converged Ritz values, whose quadrature weights then split, so the measure stays right.
    """
    k = start.shape[1]
    alpha = np.zeros((steps, k))
    beta = np.zeros((steps, k))
    previous = np.zeros_like(start)
    current = start.copy()
    b_prev = np.zeros(k)
    for s in range(steps):
        w = matrix @ current
        a = np.einsum("ij,ij->j", w, current)
        w -= a * current + b_prev * previous
        b = np.linalg.norm(w, axis=0)
        alpha[s], beta[s] = a, b
        previous, current = current, w / np.where(b > 0, b, 1.0)
        b_prev = b
    return alpha, beta
