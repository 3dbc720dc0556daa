"""Force constants -> phonon modes -> total and element-projected DOS.

One function, :func:`modes_from_force_constants`, serves every engine and the
atomate2 path, so that doped and pristine spectra share q-point density, broadening,
grid and normalisation (see :mod:`defectnet_atomate.spectra`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from defectnet_atomate.schemas import PhononModes

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray
    from phonopy import Phonopy
    from pymatgen.core import Structure
    from scipy.spatial import cKDTree

__all__ = [
    "cell_reference_modes",
    "element_modes",
    "make_phonopy",
    "mass_defect_signature",
    "mesh_modes",
    "modes_from_force_constants",
    "signature_from_green",
    "site_green_function",
    "site_images",
]


def _has_standard_masses(symbols: list[str]) -> bool:
    """Whether phonopy knows a standard mass for every symbol (not Ra, Po, Pu, ...)."""
    from phonopy.structure.atoms import PhonopyAtoms

    try:
        PhonopyAtoms(symbols=list(symbols), cell=np.eye(3), scaled_positions=np.zeros((1, 3)))
    except RuntimeError:
        return False
    return True


def make_phonopy(
    structure: Structure,
    supercell_matrix: ArrayLike,
    force_constants: ArrayLike | None = None,
    symprec: float = 1e-4,
    primitive_matrix: ArrayLike | str | None = None,
    is_symmetry: bool = True,
) -> Phonopy:
    """Build a phonopy object for ``structure`` (the unit cell) and ``supercell_matrix``.

    ``supercell_matrix`` follows pymatgen's convention (supercell lattice = S @ lattice,
    lattice vectors as rows), as everywhere in this package; phonopy's is its transpose.
    ``is_symmetry=False`` skips phonopy's symmetry search (slow for large supercells), for
    objects that only evaluate dynamical matrices or transform force constants.
    """
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    symbols = [site.specie.symbol for site in structure]
    unitcell = PhonopyAtoms(
        symbols=symbols,
        cell=structure.lattice.matrix,
        scaled_positions=structure.frac_coords,
        # phonopy has no standard mass for some radioactive elements (Ra, Po, Pu, ...)
        masses=None
        if _has_standard_masses(sorted(set(symbols)))
        else [float(site.specie.atomic_mass) for site in structure],
    )
    phonon = Phonopy(
        unitcell,
        # pymatgen's rows (S @ lattice) are phonopy's columns: phonopy takes the transpose
        supercell_matrix=np.asarray(supercell_matrix, dtype=int).T.tolist(),
        primitive_matrix=np.eye(3) if primitive_matrix is None else primitive_matrix,
        symprec=symprec,
        is_symmetry=is_symmetry,
        log_level=0,
    )
    if force_constants is not None:
        phonon.force_constants = np.asarray(force_constants, dtype=float)
    return phonon


def mesh_modes(
    phonon: Phonopy, mesh_length: float = 20.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Modes of ``phonon`` on a Gamma-centred q-mesh of phonopy length ``mesh_length``.

    Returns
    -------
    tuple of numpy.ndarray
        Frequencies (THz) of shape ``(n_q, n_modes)``, the weight of each mode on each atom
        of the primitive cell, shape ``(n_q, n_modes, n_atoms)`` (rows sum to 1), and the
        normalised q-point weights ``(n_q,)``.
    """
    phonon.run_mesh(
        mesh_length, with_eigenvectors=True, is_mesh_symmetry=False, is_gamma_center=True
    )
    mesh = phonon.get_mesh_dict()
    freqs = np.asarray(mesh["frequencies"])
    vecs = np.asarray(mesh["eigenvectors"])  # (n_q, 3N, 3N), column j is mode j
    n_q, n_modes = freqs.shape
    atom_weights = (np.abs(vecs) ** 2).reshape(n_q, n_modes // 3, 3, n_modes).sum(axis=2)
    q_weights = np.asarray(mesh["weights"], dtype=float)
    return freqs, atom_weights.transpose(0, 2, 1), q_weights / q_weights.sum()


def element_modes(
    frequencies: NDArray[np.float64],
    atom_weights: NDArray[np.float64],
    q_weights: NDArray[np.float64],
    symbols: list[str],
) -> PhononModes:
    """Fold per-atom mode weights into per-element weights (normalised per atom of the cell).

    Parameters
    ----------
    frequencies
        ``(n_q, n_modes)`` frequencies, THz.
    atom_weights
        ``(n_q, n_modes, n_atoms)`` weight of each mode on each atom.
    q_weights
        ``(n_q,)`` q-point weights summing to 1.
    symbols
        Element symbol of each atom.

    Returns
    -------
    PhononModes
        Broadening its weights gives the element-projected DOS, whose total integrates to 3.
    """
    elements = sorted(set(symbols))
    membership = np.array([[s == el for el in elements] for s in symbols], dtype=float)
    weights = (atom_weights @ membership) * q_weights[:, None, None] / len(symbols)
    flat = weights.reshape(-1, len(elements))
    return PhononModes(
        frequencies=np.round(frequencies.ravel(), 6).tolist(),
        weights={el: np.round(flat[:, i], 9).tolist() for i, el in enumerate(elements)},
    )


def modes_from_force_constants(
    structure: Structure,
    force_constants: ArrayLike,
    supercell_matrix: ArrayLike,
    mesh_length: float = 20.0,
    primitive_matrix: ArrayLike | str | None = None,
) -> PhononModes:
    """Element-resolved phonon modes of ``structure`` from its force constants.

    Parameters
    ----------
    structure
        Unit cell the force constants belong to.
    force_constants
        Force constants of the supercell ``supercell_matrix @ structure``, eV/Angstrom^2,
        shape ``(n_super, n_super, 3, 3)`` (or phonopy's compact form).
    supercell_matrix
        Supercell of the force constants.
    mesh_length
        q-point density (phonopy length, Angstrom). 20 gives Gamma only for cells longer
        than 20 Angstrom.
    primitive_matrix
        Passed to phonopy (``None``: the unit cell is the primitive cell).

    Returns
    -------
    PhononModes
        ``modes.dos(sigma, step)`` gives the total and element-projected DOS.
    """
    phonon = make_phonopy(
        structure, supercell_matrix, force_constants, primitive_matrix=primitive_matrix
    )
    freqs, atom_weights, q_weights = mesh_modes(phonon, mesh_length)
    modes = element_modes(freqs, atom_weights, q_weights, list(phonon.primitive.symbols))
    modes.qpoints = np.round(np.asarray(phonon.mesh.qpoints, float), 9).tolist()
    return modes


def site_images(tree: cKDTree, lattice: ArrayLike, cart: ArrayLike, tol: float = 0.3) -> NDArray:
    """Return the sites at Cartesian positions ``cart`` (periodic); -1 where there is none.

    ``tree`` is a ``cKDTree`` of the cell's fractional coordinates (wrapped to [0, 1), with
    ``boxsize=1``); ``lattice`` its lattice vectors as rows, Angstrom; ``tol`` in Angstrom.
    """
    lattice = np.asarray(lattice, float)
    frac = np.mod(np.asarray(cart, float) @ np.linalg.inv(lattice), 1.0) % 1.0
    dist, index = tree.query(frac)
    cart_dist = dist * np.linalg.norm(lattice, axis=1).min()
    return np.where(cart_dist < tol, index, -1)


def cell_reference_modes(
    host: Structure,
    force_constants: ArrayLike,
    force_constants_matrix: ArrayLike,
    supercell_matrix: ArrayLike,
    qpoints: ArrayLike | None = None,
    phonon: Phonopy | None = None,
) -> PhononModes:
    """Modes of the undoped supercell ``supercell_matrix @ host`` at the doped cell's q-points.

    A doped supercell's spectrum samples the host's phonons only at the q-points that
    fold onto the supercell's q-points (Gamma alone for a large cell): against a converged
    pristine reference, that sampling differs by far more than a dilute dopant changes the
    spectrum (measured in ``docs/concepts.md``). This function gives the pristine host with
    exactly the doped cell's sampling, so that ``doped - cell reference`` is the dopants'
    effect alone (see :func:`defectnet_atomate.spectra.sampling_corrected`).

    Parameters
    ----------
    host
        The host unit cell (the cell the supercell matrix refers to).
    force_constants
        Host force constants in the supercell ``force_constants_matrix @ host``,
        eV/Angstrom^2 (any supercell: phonopy interpolates the dynamical matrix).
    force_constants_matrix
        Supercell of ``force_constants`` (pymatgen convention).
    supercell_matrix
        The doped supercell (pymatgen convention: its lattice is ``S @ host.lattice``).
    qpoints
        The doped cell's q-points in its reduced reciprocal coordinates (``modes.qpoints``
        of the doped cell); ``None`` is Gamma only.
    phonon
        A phonopy object of ``host`` that already holds these force constants (reused
        instead of building one).

    Returns
    -------
    PhononModes
        Normalised per atom like the doped cell's modes.
    """
    from phonopy.harmonic.dynmat_to_fc import get_commensurate_points

    s = np.asarray(supercell_matrix, dtype=int)
    q_super = np.zeros((1, 3)) if qpoints is None else np.asarray(qpoints, float).reshape(-1, 3)
    folded = get_commensurate_points(s.T)  # host reduced coordinates (phonopy: transpose)
    q_host = (q_super @ np.linalg.inv(s).T)[:, None, :] + folded[None, :, :]
    if phonon is None:
        phonon = make_phonopy(host, force_constants_matrix, force_constants, is_symmetry=False)
    phonon.run_qpoints(q_host.reshape(-1, 3), with_eigenvectors=True)
    freqs = np.asarray(phonon.qpoints.frequencies)
    vecs = np.asarray(phonon.qpoints.eigenvectors)
    n_q, n_modes = freqs.shape
    atom_weights = (np.abs(vecs) ** 2).reshape(n_q, n_modes // 3, 3, n_modes).sum(axis=2)
    modes = element_modes(
        freqs,
        atom_weights.transpose(0, 2, 1),
        np.full(n_q, 1.0 / n_q),
        list(phonon.primitive.symbols),
    )
    modes.qpoints = np.round(q_super, 9).tolist()
    return modes


def site_green_function(
    frequencies: ArrayLike, site_dos: ArrayLike, broadening: float | None = None
) -> NDArray[np.complex128]:
    """Site Green's function ``G(w^2) = int g(w') / ((w + i eta)^2 - w'^2) dw'``.

    ``g`` is the site's projected DOS on the uniform grid ``frequencies``, normalised here
    to unit area; ``eta`` (``broadening``, same unit) defaults to two grid steps. All zeros
    when the DOS has no weight.
    """
    f = np.asarray(frequencies, float)
    p = np.clip(np.asarray(site_dos, float), 0.0, None)
    step = float(f[1] - f[0])
    area = p.sum() * step
    if area <= 0:
        return np.zeros(f.size, dtype=complex)
    w = f + 1j * (2 * step if broadening is None else broadening)
    return (p[None, :] * (step / area) / (w[:, None] ** 2 - f[None, :] ** 2)).sum(axis=1)


def signature_from_green(
    frequencies: ArrayLike,
    green: ArrayLike,
    mass_change: ArrayLike,
    broadening: float | None = None,
    stiffness_change: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """:func:`mass_defect_signature` from a site Green's function (reused for many masses).

    ``stiffness_change`` adds a change ``delta`` of the impurity's on-site force constant
    over the host atom's mass (per direction, in the square of the unit of ``frequencies``;
    broadcast against ``mass_change``): the perturbation becomes ``eps w^2 + delta``, the
    single-site picture of an impurity bound more (``delta > 0``) or less stiffly than the
    atom it replaces. The neighbours' force constants are left as they were, so it is a
    one-site model of changed bonding, not the full one (the patch signatures of
    :mod:`defectnet_atomate.signatures` are that).
    """
    f = np.asarray(frequencies, float)
    step = float(f[1] - f[0])
    w = f + 1j * (2 * step if broadening is None else broadening)
    eps, delta = np.broadcast_arrays(
        np.atleast_1d(np.asarray(mass_change, float)),
        np.atleast_1d(np.asarray(stiffness_change, float)),
    )
    perturbation = eps[:, None] * (w**2)[None, :] + delta[:, None]
    denominator = 1.0 - perturbation * np.asarray(green)[None, :]
    counted = -np.unwrap(np.angle(denominator), axis=1) / np.pi
    signature = np.gradient(counted, step, axis=1)
    scalar = np.ndim(mass_change) == 0 and np.ndim(stiffness_change) == 0
    return signature[0] if scalar else signature


def mass_defect_signature(
    frequencies: ArrayLike,
    site_dos: ArrayLike,
    mass_change: ArrayLike,
    broadening: float | None = None,
) -> NDArray[np.float64]:
    """Change of a unit-area DOS per unit atomic fraction of isolated mass defects (Lifshitz).

    An impurity of mass ``M'`` on a site of mass ``M`` with unchanged force constants
    changes the number of modes below ``w`` by ``-(1/pi) arg(1 - eps w^2 G(w^2))`` per
    direction (:func:`site_green_function`), with ``eps = 1 - M'/M``; the site's projected
    DOS alone determines it (exact for one defect on a cubic site, the trace approximation
    elsewhere). A light impurity pulls a local mode out above the band, a heavy one a
    resonance into it. On the campaign's single-dopant mass-defect spectra
    (``benchmarks/mass_defect_signature.py``) it predicts the observed change with a median
    cosine of about 0.7 and the amplitude to within about 30 %; on direct spectra (bonds
    changed too) with a median cosine of about 0.3. The model gets it as an input.

    Parameters
    ----------
    frequencies
        Uniform grid, any unit (``>= 0``).
    site_dos
        Projected DOS of the replaced species on ``frequencies`` (normalised here).
    mass_change
        ``eps = 1 - M'/M``, a scalar or an array of several.
    broadening
        Imaginary part added to the frequency (same unit); default two grid steps.

    Returns
    -------
    numpy.ndarray
        ``(len(mass_change), len(frequencies))`` (one row for a scalar ``mass_change``): a
        fraction ``x`` of all atoms being such defects changes a unit-area total DOS by ``x``
        times this. Each row integrates to about zero on a grid that holds the local mode.
    """
    green = site_green_function(frequencies, site_dos, broadening)
    return signature_from_green(frequencies, green, mass_change, broadening)
