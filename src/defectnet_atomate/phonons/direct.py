"""The direct engine: relax, finite displacements of the whole doped supercell, DOS.

It computes the same physics as atomate2's force-field ``PhononMaker`` with the supercell
as the simulation cell, but in one process that keeps the potential loaded, with no
per-displacement jobs and no band structure.

Choices (the same everywhere in the package, atomate2 path included):

- **Cell policy**: the host is relaxed (cell and positions), the doped supercell is built
  from the relaxed host, then relaxed with cell shape and volume free (``relax_cell``), so
  concentrated cells reach their own lattice parameter (Vegard-like). ``fmax`` defaults to
  5e-3 eV/Angstrom: with central differences the residual forces cancel, and heavily
  doped cells took hundreds of BFGS steps to reach 1e-3 with CHGNet. Since 0.28 BFGS
  starts the cell's coordinates from the host's clamped-ion elastic tensor
  (``cell_start="elastic"``, :func:`cell_hessian`) instead of ASE's uniform 70 eV/A^2,
  which is hundreds of times too stiff for them: fewer steps to the same minimum
  (``benchmarks/relaxation_start.py``). Since 0.30 it starts the atoms' coordinates from
  the host's force constants in the same supercell (``atom_start="host"``, softest
  curvatures raised to :data:`HOST_HESSIAN_FLOOR`): computed anyway as the document's
  pristine reference, they give the far field of the dopants' relaxation at the first
  step, and BFGS takes several times fewer steps.
- **Force constants**: finite displacements of 0.01 Angstrom (phonopy's and atomate2's
  default), **central differences** (+/-) so that residual forces after relaxation and
  the even anharmonic terms cancel, then phonopy's force-constant symmetrisation
  (translational invariance and Phi_ij = Phi_ji^T). We do not use the autograd Hessian:
  it is not available for DFT or for every potential, and the fast embedding engine and
  the atomate2 path must see the same force constants. Displaced cells and fixed-cell
  relaxations ask the potential for forces only
  (:func:`~defectnet_atomate.phonons.calculators.forces_calculator`; CHGNet: 1.6x faster
  per evaluation, the same forces), and the displaced copies share the potential's
  neighbour graph of the undisplaced cell
  (:func:`~defectnet_atomate.phonons.calculators.fixed_neighbours`; CHGNet: 1.2x).
- **DOS**: :func:`~defectnet_atomate.phonons.dos.projected_dos_from_force_constants`
  with the same q-point density for the doped cell and the pristine host.
- **Hosts unstable with the potential** (``max_host_imaginary``, off by default, 0.02 in
  the training-set campaign): the pristine host's spectrum in the doped cell's supercell
  is computed first (it is needed anyway, and costs about 1 % of the doped cell) and a
  host with a larger share of imaginary modes is refused with :class:`UnstableHostError`
  before the doped cell is relaxed. In the committed direct exports, 156 of 489 spectra
  came from such hosts (the potential's failure, not the crystal's: phonondb's hosts
  are stable in DFT); 94 of them were flagged and left out of training, and the others
  rest on a reference whose imaginary modes the model cannot see
  (``benchmarks/host_screen.py``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from monty.json import MSONable

from defectnet_atomate.doping import DopedSupercell, DopingError, make_doped_supercell
from defectnet_atomate.phonons.calculators import (
    PotentialMixin,
    fixed_neighbours,
    forces_calculator,
)
from defectnet_atomate.phonons.dos import (
    cell_reference_modes,
    make_phonopy,
    modes_from_force_constants,
)
from defectnet_atomate.schemas import DefectPhononDoc, PhononSettings, RelaxationInfo
from defectnet_atomate.spectra import GRID_STEP_THZ, IMAGINARY_TOLERANCE_THZ, SIGMA_THZ

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ase.calculators.calculator import Calculator
    from numpy.typing import ArrayLike, NDArray
    from pymatgen.core import Structure

    from defectnet_atomate.doping import Doping
    from defectnet_atomate.schemas import PhononModes

__all__ = [
    "HOST_HESSIAN_FLOOR",
    "RELAXATION_HISTORY_INTERVAL",
    "DirectEngine",
    "DirectSettings",
    "UnrelaxedCellError",
    "UnstableHostError",
    "cell_hessian",
    "check_host_modes",
    "clamped_elastic_tensor",
    "compute_force_constants",
    "host_site_order",
    "relax_structure",
]

RELAXATION_HISTORY_INTERVAL = 10
"""Optimiser steps between the residual forces kept in ``RelaxationInfo.fmax_history``."""

HOST_HESSIAN_FLOOR = 2.0
"""Smallest curvature (eV/A^2) of BFGS's start from the host's force constants in a doped
cell relaxed with its cell free (``DirectSettings(atom_start="host")``): softer host modes
would send the first steps far along directions the dopants stiffen
(``benchmarks/relaxation_start.py``)."""


class UnstableHostError(DopingError):
    """A host that is not at a minimum of the potential (its own spectrum has imaginary modes)."""


class UnrelaxedCellError(DopingError):
    """The doped cell is still far from a minimum when the relaxation's step limit is reached.

    Raised by :meth:`DirectEngine.run_supercell` when ``DirectSettings.max_residual_force``
    is set, before the force constants are computed: a spectrum of a cell that is not at its
    minimum is left out of training anyway
    (:data:`defectnet_atomate.dataset.MAX_RESIDUAL_FORCE`), so its finite displacements
    would be wasted.
    """


def check_host_modes(
    modes: PhononModes,
    limit: float | None,
    host: Structure,
    force_field: str,
    remedy: str,
) -> float:
    """Share of a pristine host's modes that are imaginary; raise above ``limit``.

    Modes below ``-IMAGINARY_TOLERANCE_THZ`` count as imaginary (as in the documents'
    ``imaginary_fraction``). ``limit`` ``None``: never raises.

    Raises
    ------
    UnstableHostError
        The share exceeds ``limit``; the message names the host, the share, the lowest
        frequency, and ``remedy``.
    """
    freqs = np.asarray(modes.frequencies, dtype=float)
    share = float((freqs < -IMAGINARY_TOLERANCE_THZ).mean())
    if limit is not None and share > limit:
        raise UnstableHostError(
            f"The relaxed host {host.composition.reduced_formula} is not a minimum of "
            f"{force_field}: {100 * share:.1f} % of its own modes are imaginary (lowest "
            f"{freqs.min():.2f} THz; limit {100 * limit:g} %), so every doped spectrum "
            f"referred to it would be flagged or unreliable. {remedy}"
        )
    return share


@dataclass
class DirectSettings(MSONable):
    """Settings of the direct engine (see the module docstring for why these defaults)."""

    displacement: float = 0.01
    plus_minus: bool = True
    symprec: float = 1e-3
    relax_cell: bool = True
    fmax: float = 5e-3
    max_steps: int = 300
    mesh_length: float = 20.0
    sigma: float = SIGMA_THZ
    grid_step: float = GRID_STEP_THZ
    max_host_imaginary: float | None = None
    cell_start: Literal["elastic", "uniform"] = "elastic"
    max_residual_force: float | None = None
    atom_start: Literal["host", "uniform"] = "host"

    def __post_init__(self) -> None:
        if self.cell_start not in ("elastic", "uniform"):
            raise ValueError(
                f"cell_start={self.cell_start!r}: use 'elastic' (BFGS starts the cell from the "
                "host's clamped-ion elastic tensor) or 'uniform' (ASE's 70 eV/A^2)."
            )
        if self.atom_start not in ("host", "uniform"):
            raise ValueError(
                f"atom_start={self.atom_start!r}: use 'host' (BFGS starts the atoms from the "
                "host's force constants of the same supercell) or 'uniform' (ASE's 70 eV/A^2)."
            )

    def phonon_settings(self, engine: str = "direct") -> PhononSettings:
        """Return the settings as recorded in documents."""
        screen = (
            []
            if self.max_host_imaginary is None
            else [
                "hosts whose own spectrum has more than "
                f"{100 * self.max_host_imaginary:g} % of its modes imaginary are refused"
            ]
        )
        if self.max_residual_force is not None:
            screen.append(
                "doped cells left with a force above "
                f"{self.max_residual_force:g} eV/A after {self.max_steps} steps are refused"
            )
        return PhononSettings(
            engine=engine,
            displacement=self.displacement,
            plus_minus=self.plus_minus,
            symmetrize_force_constants=True,
            relax_cell=self.relax_cell,
            fmax=self.fmax,
            mesh_length=self.mesh_length,
            sigma=self.sigma,
            grid_step=self.grid_step,
            approximations=[
                f"finite displacements of {self.displacement} A, "
                + ("central differences" if self.plus_minus else "phonopy 'auto' differences"),
                "force constants of the whole supercell (no cutoff)",
                f"q-mesh of phonopy length {self.mesh_length} A on the supercell",
                *screen,
            ],
        )


def initial_hessian(force_constants: ArrayLike, floor: float = 0.1) -> NDArray[np.float64]:
    """BFGS's starting Hessian from force constants ``(N, N, 3, 3)`` (eV/A^2).

    Symmetrised, with the three uniform translations (zero modes of the force constants)
    given ASE's default curvature of 70 eV/A^2 and every other eigenvalue at least
    ``floor`` in magnitude, so that the first steps are Newton steps on the host's
    harmonic surface instead of steepest descent.
    """
    fc = np.asarray(force_constants, dtype=float)
    n = fc.shape[0]
    hessian = fc.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
    hessian = 0.5 * (hessian + hessian.T)
    translations = np.zeros((3 * n, 3))
    for axis in range(3):
        translations[axis::3, axis] = 1 / np.sqrt(n)
    hessian += 70.0 * translations @ translations.T
    values, vectors = np.linalg.eigh(hessian)
    values = np.maximum(np.abs(values), floor)
    return (vectors * values) @ vectors.T


VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
"""Voigt order of ASE's stress (xx, yy, zz, yz, xz, xy)."""


def clamped_elastic_tensor(
    structure: Structure, calculator: Calculator, strain: float = 5e-3
) -> NDArray[np.float64]:
    """Clamped-ion elastic tensor of ``structure``, 6x6 in Voigt order, eV/Angstrom^3.

    Central differences of the calculator's stress over +/- ``strain`` in each of the six
    strain components (engineering shear strain; atoms move with the cell, no internal
    relaxation): twelve evaluations of the cell. It is the cell's stiffness before the
    atoms relax, an upper bound of the relaxed one, meant for :func:`cell_hessian` (a
    starting point of BFGS), not as a published elastic constant (atomate2's
    ``ElasticMaker`` is for that).
    """
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    cell = atoms.get_cell().array.copy()
    elastic = np.zeros((6, 6))
    for column, (a, b) in enumerate(VOIGT_PAIRS):
        stresses = []
        for sign in (1.0, -1.0):
            eps = np.zeros((3, 3))
            eps[a, b] += sign * strain / (1 if a == b else 2)
            eps[b, a] = eps[a, b]
            strained = atoms.copy()
            strained.set_cell(cell @ (np.eye(3) + eps), scale_atoms=True)
            strained.calc = calculator
            stresses.append(np.asarray(strained.get_stress(voigt=True), dtype=float))
        elastic[:, column] = (stresses[0] - stresses[1]) / (2 * strain)
    return 0.5 * (elastic + elastic.T)


def cell_hessian(
    elastic_tensor: ArrayLike, volume: float, n_atoms: int, floor: float = 0.05
) -> NDArray[np.float64]:
    """BFGS's starting curvature of the nine cell coordinates of ``FrechetCellFilter``.

    The filter's cell coordinates are ``n_atoms`` times the logarithm of the deformation
    gradient (its default ``exp_cell_factor``), so a strain costs
    ``volume * C_ijkl / n_atoms**2`` eV per unit coordinate squared, with ``C`` the
    elastic tensor (eV/Angstrom^3, Voigt 6x6) and ``volume`` the cell's (Angstrom^3).
    ASE's uniform 70 eV/A^2 is hundreds of times stiffer for a cell of tens of atoms, so
    BFGS's first cell steps are far too short and it spends many steps learning the
    stiffness. Eigenvalues below ``floor`` times the largest (the rotations, which cost
    nothing, and soft directions) are raised to it.

    Returns
    -------
    numpy.ndarray
        ``(9, 9)``, eV per unit cell coordinate squared, row-major over the 3x3 coordinates.
    """
    c = np.asarray(elastic_tensor, dtype=float)
    if c.shape != (6, 6):
        raise ValueError(
            f"elastic_tensor has shape {c.shape}: pass the 6x6 Voigt tensor in eV/A^3 "
            "(clamped_elastic_tensor gives it)."
        )
    voigt = {}
    for index, (a, b) in enumerate(VOIGT_PAIRS):
        voigt[a, b] = voigt[b, a] = index
    pairs = [(i, j) for i in range(3) for j in range(3)]
    hessian = np.array([[c[voigt[p], voigt[q]] for q in pairs] for p in pairs], dtype=float) * (
        volume / n_atoms**2
    )
    hessian = 0.5 * (hessian + hessian.T)
    values, vectors = np.linalg.eigh(hessian)
    largest = float(np.abs(values).max())
    if largest <= 0:
        raise ValueError(
            "The elastic tensor is zero: the calculator gave the same stress for every "
            "strain. Check that it computes the stress."
        )
    values = np.maximum(np.abs(values), floor * largest)
    return (vectors * values) @ vectors.T


def relax_structure(
    structure: Structure,
    calculator: Calculator,
    relax_cell: bool = True,
    fmax: float = 1e-3,
    max_steps: int = 500,
    force_constants: ArrayLike | None = None,
    elastic_tensor: ArrayLike | None = None,
    hessian_floor: float = 0.1,
) -> tuple[Structure, RelaxationInfo]:
    """Relax positions (and the cell) with ASE's BFGS.

    ``force_constants`` (``(N, N, 3, 3)`` eV/A^2 in the structure's site order): BFGS
    starts the atoms' coordinates from them (:func:`initial_hessian`, eigenvalues at least
    ``hessian_floor``) instead of ASE's uniform 70 eV/A^2. For a dopant in a host
    supercell, the host's force constants of that supercell cut the steps to the same
    minimum several-fold: with the cell fixed (8 dopants in 216-atom Si, ZnS, MgO and LiF
    with SevenNet: 31 steps instead of 168, minima within 1 mA of each other at fmax
    5e-3 eV/A; ``benchmarks/patch_relaxation.py``), and with the cell free beside
    ``elastic_tensor`` (the direct engine's doped cells, with a floor of
    :data:`HOST_HESSIAN_FLOOR`; ``benchmarks/relaxation_start.py``).

    ``elastic_tensor`` (6x6 Voigt, eV/A^3, e.g. the host's :func:`clamped_elastic_tensor`;
    with ``relax_cell`` only): BFGS starts the cell coordinates from the curvature it
    gives (:func:`cell_hessian`) instead of ASE's 70.

    Returns
    -------
    tuple
        The relaxed structure and a :class:`~defectnet_atomate.schemas.RelaxationInfo`.
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS
    from pymatgen.io.ase import AseAtomsAdaptor

    if force_constants is not None and np.shape(force_constants) != (len(structure),) * 2 + (3, 3):
        raise ValueError(
            f"force_constants of shape {np.shape(force_constants)} do not fit a structure "
            f"of {len(structure)} sites: pass ({len(structure)}, {len(structure)}, 3, 3) "
            "in its site order."
        )
    if elastic_tensor is not None and not relax_cell:
        raise ValueError(
            "elastic_tensor starts the cell's degrees of freedom; a fixed-cell relaxation "
            "(relax_cell=False) has none: leave it out."
        )
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calculator if relax_cell else forces_calculator(calculator)
    start_positions = atoms.get_positions().copy()
    volume0 = atoms.get_volume()
    target = FrechetCellFilter(atoms) if relax_cell else atoms
    optimizer = BFGS(target, logfile=None)
    if force_constants is not None or elastic_tensor is not None:
        n = len(atoms)
        start = np.zeros((3 * n + 9, 3 * n + 9)) if relax_cell else np.zeros((3 * n, 3 * n))
        start[: 3 * n, : 3 * n] = (
            optimizer.alpha * np.eye(3 * n)
            if force_constants is None
            else initial_hessian(force_constants, hessian_floor)
        )
        if relax_cell:
            start[3 * n :, 3 * n :] = (
                optimizer.alpha * np.eye(9)
                if elastic_tensor is None
                else cell_hessian(elastic_tensor, volume0, n)
            )
        optimizer.H0 = start  # read at BFGS's first update
    history: list[float] = []

    def record() -> None:
        residual = np.linalg.norm(target.get_forces(), axis=1).max()
        history.append(round(float(residual), 5))

    optimizer.attach(record, interval=RELAXATION_HISTORY_INTERVAL)
    converged = bool(optimizer.run(fmax=fmax, steps=max_steps))
    forces = atoms.get_forces()
    moved = atoms.get_positions() - start_positions
    info = RelaxationInfo(
        n_steps=int(optimizer.nsteps),
        converged=converged,
        max_force=float(np.linalg.norm(forces, axis=1).max()),
        max_displacement=float(np.linalg.norm(moved, axis=1).max()),
        volume_change=float(atoms.get_volume() / volume0 - 1),
        fmax_history=history,
    )
    relaxed = AseAtomsAdaptor.get_structure(atoms)
    return relaxed, info


def compute_force_constants(
    structure: Structure,
    supercell_matrix: ArrayLike,
    calculator: Calculator,
    displacement: float = 0.01,
    plus_minus: bool = True,
    symprec: float = 1e-3,
) -> NDArray[np.float64]:
    """Finite-displacement force constants of ``supercell_matrix @ structure``.

    Uses phonopy's symmetry-reduced displacements, central differences when
    ``plus_minus``, and phonopy's symmetrisation of the result.

    Returns
    -------
    numpy.ndarray
        Full force constants, shape ``(n_super, n_super, 3, 3)``, eV/Angstrom^2.
    """
    phonon = make_phonopy(structure, supercell_matrix, symprec=symprec)
    phonon.generate_displacements(distance=displacement, is_plusminus=plus_minus)
    with fixed_neighbours(calculator, _ase_atoms(phonon.supercell)) as calc:
        forces = [_forces(cell, calc) for cell in phonon.supercells_with_displacements]
    phonon.forces = np.asarray(forces)
    phonon.produce_force_constants()
    phonon.symmetrize_force_constants()
    return np.asarray(phonon.force_constants)


def _ase_atoms(cell: Any) -> Any:
    """ASE ``Atoms`` of a phonopy cell."""
    from ase import Atoms

    return Atoms(
        symbols=cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True
    )


def _forces(cell: Any, calculator: Calculator) -> NDArray[np.float64]:
    atoms = _ase_atoms(cell)
    atoms.calc = forces_calculator(calculator)
    return np.asarray(atoms.get_forces(), dtype=float)


@dataclass
class DirectEngine(PotentialMixin):
    """Doped-supercell phonon DOS with the potential kept loaded in this process.

    Parameters
    ----------
    force_field
        atomate2 force-field name (``"CHGNet"`` by default).
    settings
        :class:`DirectSettings`.
    calculator_kwargs
        Passed to the calculator (hashable values only).

    Examples
    --------
    >>> engine = DirectEngine()  # doctest: +SKIP
    >>> doc = engine.run(si, ["Ge:Si:5"], seed=0, host_id="mp-149")  # doctest: +SKIP
    """

    force_field: str = "CHGNet"
    settings: DirectSettings = field(default_factory=DirectSettings)
    calculator_kwargs: dict = field(default_factory=dict)
    engine_name: str = "direct"
    _pristine_cache: dict = field(default_factory=dict, repr=False)
    _host_cache: dict = field(default_factory=dict, repr=False)

    def relax(
        self,
        structure: Structure,
        relax_cell: bool | None = None,
        elastic_tensor: ArrayLike | None = None,
        force_constants: ArrayLike | None = None,
    ) -> tuple[Structure, RelaxationInfo]:
        """Relax with this engine's settings.

        ``elastic_tensor`` and ``force_constants`` (in the structure's site order): where
        BFGS starts, see :func:`relax_structure`.
        """
        s = self.settings
        cell = s.relax_cell if relax_cell is None else relax_cell
        return relax_structure(
            structure,
            self.calculator,
            cell,
            s.fmax,
            s.max_steps,
            force_constants=force_constants,
            elastic_tensor=elastic_tensor if cell else None,
            hessian_floor=HOST_HESSIAN_FLOOR,
        )

    def host_force_constants(self, doped: DopedSupercell) -> NDArray[np.float64] | None:
        """Return the host's force constants in the doped cell's supercell, in its site order.

        Computed once per host and supercell (they are the pristine reference of the
        document too). ``None`` when the doped cell's sites are not those of the host's
        supercell (e.g. a cell moved before it was handed over).
        """
        from defectnet_atomate.phonons.dos import make_phonopy

        fc = self._pristine(doped.host, doped.supercell_matrix)[0]
        supercell = make_phonopy(doped.host, doped.supercell_matrix, is_symmetry=False).supercell
        order = host_site_order(doped.structure, supercell.cell, supercell.scaled_positions)
        return None if order is None else fc[np.ix_(order, order)]

    def host_elastic_tensor(self, host: Structure) -> NDArray[np.float64]:
        """Return the (relaxed) host's :func:`clamped_elastic_tensor`, computed once per host."""
        key = ("elastic", _structure_key(host))
        if key not in self._host_cache:
            self._host_cache[key] = clamped_elastic_tensor(host, self.calculator)
        return self._host_cache[key]

    def relax_host(self, host: Structure) -> Structure:
        """Relax a host (cell and positions) once per engine; later calls reuse it."""
        key = _structure_key(host)
        if key not in self._host_cache:
            self._host_cache[key] = self.relax(host, relax_cell=True)[0]
        return self._host_cache[key]

    def force_constants(
        self, structure: Structure, supercell_matrix: ArrayLike
    ) -> NDArray[np.float64]:
        """Force constants with this engine's settings."""
        s = self.settings
        return compute_force_constants(
            structure, supercell_matrix, self.calculator, s.displacement, s.plus_minus, s.symprec
        )

    def modes(
        self, structure: Structure, force_constants: ArrayLike, supercell_matrix: ArrayLike
    ) -> PhononModes:
        """Element-resolved modes with this engine's q-point density."""
        return modes_from_force_constants(
            structure, force_constants, supercell_matrix, self.settings.mesh_length
        )

    def _pristine(self, host: Structure, supercell_matrix: ArrayLike) -> tuple[Any, PhononModes]:
        key = (_structure_key(host), tuple(np.asarray(supercell_matrix, int).ravel()))
        if key not in self._pristine_cache:
            fc = self.force_constants(host, supercell_matrix)
            self._pristine_cache[key] = (fc, self.modes(host, fc, supercell_matrix))
        return self._pristine_cache[key]

    def pristine_modes(self, host: Structure, supercell_matrix: ArrayLike) -> PhononModes:
        """Modes of the (relaxed) host with force constants in ``supercell_matrix``; cached."""
        return self._pristine(host, supercell_matrix)[1]

    def cell_reference(
        self, host: Structure, supercell_matrix: ArrayLike, qpoints: ArrayLike | None = None
    ) -> PhononModes:
        """Modes of the undoped ``supercell_matrix @ host`` at the doped cell's q-points.

        From the host's force constants in that same supercell
        (:func:`~defectnet_atomate.phonons.dos.cell_reference_modes`).
        """
        fc = self._pristine(host, supercell_matrix)[0]
        return cell_reference_modes(host, fc, supercell_matrix, supercell_matrix, qpoints)

    def run_supercell(
        self, doped: DopedSupercell, host_id: str | None = None, **doc_kwargs: Any
    ) -> DefectPhononDoc:
        """Relax a doped supercell, compute its DOS and its host's, and return the document.

        ``doped.host`` is taken as already relaxed with this potential (use :meth:`run`
        to start from an unrelaxed host).
        """
        timings = {}
        t0 = time.perf_counter()
        elastic = host_fc = None
        if self.settings.relax_cell and self.settings.cell_start == "elastic":
            elastic = self.host_elastic_tensor(doped.host)
        if self.settings.atom_start == "host":
            host_fc = self.host_force_constants(doped)
        t_relax = time.perf_counter()
        timings["host_start"] = t_relax - t0  # the host's tensor and force constants, if new
        relaxed, relaxation = self.relax(
            doped.structure, elastic_tensor=elastic, force_constants=host_fc
        )
        timings["relax"] = time.perf_counter() - t_relax
        limit = self.settings.max_residual_force
        if limit is not None and relaxation.max_force > limit:
            raise UnrelaxedCellError(
                f"The doped {relaxed.composition.reduced_formula} cell still has a force of "
                f"{relaxation.max_force:.3g} eV/A after {relaxation.n_steps} BFGS steps (limit "
                f"{limit:g} eV/A): it is not at a minimum, so its spectrum is not computed. "
                "Raise DirectSettings.max_steps, or set max_residual_force=None to compute it "
                "anyway. The optimiser's residual force every "
                f"{RELAXATION_HISTORY_INTERVAL} steps (eV/A): "
                + ", ".join(f"{f:.2g}" for f in relaxation.fmax_history or [])
                + "."
            )
        t1 = time.perf_counter()
        fc = self.force_constants(relaxed, np.eye(3, dtype=int))
        timings["force_constants"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        modes = self.modes(relaxed, fc, np.eye(3, dtype=int))
        timings["modes"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        pristine = self.pristine_modes(doped.host, doped.supercell_matrix)
        cell = self.cell_reference(doped.host, doped.supercell_matrix, modes.qpoints)
        timings["pristine"] = time.perf_counter() - t3
        timings["total"] = time.perf_counter() - t0
        return DefectPhononDoc.from_results(
            doped,
            relaxed,
            modes,
            self.calculator_info,
            self.settings.phonon_settings(self.engine_name),
            pristine_modes=pristine,
            cell_pristine_modes=cell,
            host_id=host_id,
            relaxation=relaxation,
            timings=timings,
            **doc_kwargs,
        )

    def run(
        self,
        host: Structure,
        dopings: Iterable[Doping | str | dict],
        seed: int = 0,
        host_id: str | None = None,
        **supercell_kwargs: Any,
    ) -> DefectPhononDoc:
        """Relax the host, build the doped supercell from it, and compute the document.

        Parameters
        ----------
        host
            Host crystal (e.g. a primitive cell).
        dopings
            Doping requests, e.g. ``["Ge:Si:5"]``.
        seed
            Seed of the random dopant sites.
        host_id
            Identifier recorded in the document.
        **supercell_kwargs
            Passed to :func:`~defectnet_atomate.doping.make_doped_supercell`.
        """
        t0 = time.perf_counter()
        relaxed_host = self.relax_host(host)
        doped = make_doped_supercell(relaxed_host, dopings, seed=seed, **supercell_kwargs)
        if self.settings.max_host_imaginary is not None:
            # before the doped cell's relaxation; the pristine modes are cached for the doc
            check_host_modes(
                self.pristine_modes(relaxed_host, doped.supercell_matrix),
                self.settings.max_host_imaginary,
                relaxed_host,
                self.force_field,
                "Use another potential, or DirectSettings(max_host_imaginary=None) to "
                "compute it anyway.",
            )
        doc = self.run_supercell(doped, host_id=host_id)
        doc.timings["host_relax_and_total"] = time.perf_counter() - t0
        return doc

    def as_dict(self) -> dict:
        """Serialise the engine's settings (the calculator is reloaded from its name)."""
        return {
            "force_field": self.force_field,
            "settings": asdict(self.settings),
            "calculator_kwargs": self.calculator_kwargs,
        }


def host_site_order(
    structure: Structure, lattice: ArrayLike, frac_coords: ArrayLike, tolerance: float = 0.1
) -> NDArray[np.int64] | None:
    """Index of the host supercell site at each site of ``structure`` (same lattice).

    ``lattice`` (rows, Angstrom) and ``frac_coords`` describe the host supercell in another
    site order (e.g. phonopy's). ``None`` when the lattices differ or when the sites do not
    pair one to one within ``tolerance`` Angstrom.
    """
    matrix = structure.lattice.matrix
    if len(structure) != len(frac_coords) or not np.allclose(matrix, lattice, atol=1e-4):
        return None
    delta = structure.frac_coords[:, None, :] - np.asarray(frac_coords)[None, :, :]
    distances = np.linalg.norm((delta - np.round(delta)) @ matrix, axis=2)
    order = distances.argmin(axis=1)
    nearest = distances[np.arange(len(structure)), order]
    if nearest.max() > tolerance or len(set(order.tolist())) != len(structure):
        return None
    return order


def _structure_key(structure: Structure) -> tuple:
    return (
        structure.composition.reduced_formula,
        len(structure),
        tuple(np.round(structure.lattice.matrix.ravel(), 4)),
        tuple(np.round(structure.frac_coords.ravel(), 4)),
    )
