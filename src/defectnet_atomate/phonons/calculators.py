"""Universal interatomic potentials as ASE calculators, with the provenance documents need.

Potentials are loaded through atomate2 (:func:`atomate2.forcefields.utils.ase_calculator`),
so every atomate2 force-field name works (``"CHGNet"``, ``"SevenNet"``, ``"MACE_MP_0"``,
...). Only CHGNet (a core dependency) and SevenNet (extra ``sevennet``) ship their weights
in their wheels; the others download weights at first use.

Finite displacements and fixed-cell relaxations need forces only:
:func:`forces_calculator` gives them without the stress where a calculator computes it at
every call (CHGNet: 0.6 of the time per evaluation, ``benchmarks/force_evaluation.py``).
The finite displacements of one cell share its neighbour graph: :func:`fixed_neighbours`
lets CHGNet build the graph of the undisplaced cell once and move the atoms in it, instead
of a new neighbour list and line graph for every displaced copy.
"""

from __future__ import annotations

import copy
import hashlib
from contextlib import contextmanager, nullcontext
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from defectnet_atomate.schemas import CalculatorInfo

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ase import Atoms

__all__ = [
    "GRAPH_REUSE_DISTANCE",
    "ChgnetForces",
    "PotentialMixin",
    "calculator_info",
    "fixed_neighbours",
    "force_field_name",
    "forces_calculator",
    "load_calculator",
]

GRAPH_REUSE_DISTANCE = 0.015
"""Largest move of any atom (Angstrom) from the reference cell of :func:`fixed_neighbours`
for which CHGNet's graph of that cell is reused. Phonopy's displaced cells (0.01 A) fall
within it; a pair of atoms can then cross one of CHGNet's cutoffs (3 and 6 A) only if it
lies within 0.015 A of it, where CHGNet's smooth envelope makes the pair's share of the
forces nearly zero (``tests/phonons/test_calculators.py`` bounds the difference)."""

_PACKAGES = {
    "CHGNet": "chgnet",
    "SevenNet": "sevenn",
    "MACE": "mace-torch",
    "MACE_MP_0": "mace-torch",
    "MACE_MPA_0": "mace-torch",
    "MACE_MP_0B3": "mace-torch",
    "M3GNet": "matgl",
    "MATPES_PBE": "matgl",
    "MATPES_R2SCAN": "matgl",
    "MatterSim": "mattersim",
    "Nequip": "nequip",
    "GAP": "quippy-ase",
}


def force_field_name(name: object) -> str:
    """Normalise a force-field name given as str, atomate2 ``MLFF`` or its monty dict."""
    from atomate2.forcefields.utils import MLFF

    if isinstance(name, dict):  # {"@module": ..., "@class": "MLFF", "value": "CHGNet"}
        name = name.get("value", name.get("name"))
    if isinstance(name, MLFF):
        return name.name
    if isinstance(name, str):
        text = name.removeprefix("MLFF.")
        for member in MLFF:
            if text in (member.name, member.value):
                return member.name
    known = ", ".join(m.name for m in MLFF)
    raise ValueError(f"Unknown force field {name!r}; use one of: {known}.")


def _model_of(calculator: Any) -> Any:
    import torch

    for attr in ("model", "potential", "models"):
        obj = getattr(calculator, attr, None)
        if isinstance(obj, torch.nn.Module):
            return obj
        if isinstance(obj, list | tuple) and obj and isinstance(obj[0], torch.nn.Module):
            return obj[0]
    return None


def calculator_info(name: str, calculator: Any) -> CalculatorInfo:
    """Describe a loaded calculator: package version, model version, hash of the weights."""
    package = _PACKAGES.get(name)
    try:
        package_version = version(package) if package else None
    except PackageNotFoundError:
        package_version = None
    model = _model_of(calculator)
    weights_hash = model_version = None
    if model is not None:
        digest = hashlib.sha256()
        for key, tensor in sorted(model.state_dict().items()):
            digest.update(key.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        weights_hash = digest.hexdigest()[:16]
        model_version = getattr(model, "version", None)
        model_version = str(model_version) if model_version is not None else None
    return CalculatorInfo(
        name=name,
        package_version=package_version,
        model_version=model_version,
        weights_hash=weights_hash,
    )


@cache
def load_calculator(name: str = "CHGNet", **kwargs: Any) -> tuple[Calculator, CalculatorInfo]:
    """Load a force field once per process and describe it.

    Parameters
    ----------
    name
        atomate2 force-field name, e.g. ``"CHGNet"`` or ``"SevenNet"``.
    **kwargs
        Passed to the calculator's constructor (hashable values only).

    Returns
    -------
    tuple
        The ASE calculator and its :class:`~defectnet_atomate.schemas.CalculatorInfo`.
    """
    from atomate2.forcefields.utils import ase_calculator

    name = force_field_name(name)
    package = _PACKAGES.get(name)
    try:
        calculator = ase_calculator(name, **kwargs)
    except ImportError as exc:
        extra = f" (pip install {package})" if package else ""
        raise ImportError(f"The force field {name} needs its package{extra}: {exc}") from exc
    if calculator is None:
        raise ValueError(f"atomate2 could not build a calculator for {name!r}.")
    return calculator, calculator_info(name, calculator)


class ChgnetForces(Calculator):
    """CHGNet's energy and forces without its stress and magnetic moments.

    ``CHGNetCalculator`` runs ``task="efsm"`` at every call: the stress is a second
    derivative through the cell's strain, and a phonon calculation's displaced cells do not
    need it. Forces from ``task="ef"`` are the same numbers (the same graph and gradient)
    in 0.6 of the time (``benchmarks/force_evaluation.py``).

    Inside :meth:`reference` (or :func:`fixed_neighbours`) cells that differ from the
    reference cell only by small moves of their atoms reuse the reference's crystal graph
    (its neighbour pairs, periodic images and bond angles) with the moved positions: the
    graph is what CHGNet builds in Python at every call, about a quarter of a force
    evaluation of a 64-atom cell. Outside it every call builds its own graph.

    Parameters
    ----------
    calculator
        A loaded ``chgnet.model.dynamics.CHGNetCalculator``.
    """

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, calculator: Calculator) -> None:
        super().__init__()
        self.inner = calculator
        self._reference: tuple | None = None
        self.graphs_built = 0
        self.graphs_reused = 0

    @contextmanager
    def reference(
        self, atoms: Atoms, max_displacement: float = GRAPH_REUSE_DISTANCE
    ) -> Iterator[ChgnetForces]:
        """Reuse the crystal graph of ``atoms`` for cells within ``max_displacement`` of it.

        Parameters
        ----------
        atoms
            The undisplaced cell (same atoms in the same order, same lattice).
        max_displacement
            Largest move of any atom (Angstrom) for which the graph is reused; a cell with
            another lattice, other atoms or larger moves gets a graph of its own.
        """
        graph = self._build(atoms)
        outer = self._reference  # restored on exit: contexts may nest
        self._reference = (
            graph,
            np.array(atoms.positions, dtype=float),
            np.array(atoms.cell.array, dtype=float),
            np.array(atoms.numbers),
            float(max_displacement),
        )
        try:
            yield self
        finally:
            self._reference = outer

    def _build(self, atoms: Atoms) -> Any:
        from pymatgen.io.ase import AseAtomsAdaptor

        self.graphs_built += 1
        return self.inner.model.graph_converter(AseAtomsAdaptor.get_structure(atoms))

    def _graph(self, atoms: Atoms) -> Any:
        """Return the reference's graph with the positions of ``atoms``, or a new graph."""
        if self._reference is not None:
            graph, positions, cell, numbers, limit = self._reference
            if (
                len(atoms) == len(numbers)
                and np.array_equal(atoms.numbers, numbers)
                and np.allclose(atoms.cell.array, cell, rtol=0.0, atol=1e-9)
            ):
                delta = np.asarray(atoms.positions, dtype=float) - positions
                if np.linalg.norm(delta, axis=1).max() <= limit:
                    import torch

                    frac = graph.atom_frac_coord.detach()
                    moved = frac.numpy() + np.linalg.solve(cell.T, delta.T).T
                    reused = copy.copy(graph)
                    reused.atom_frac_coord = torch.tensor(
                        moved, dtype=frac.dtype, requires_grad=True
                    )
                    self.graphs_reused += 1
                    return reused
        return self._build(atoms)

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: list[str] | None = None,
        system_changes: list[str] = all_changes,
    ) -> None:
        """Compute energy and forces of ``atoms`` with CHGNet's ``task="ef"``."""
        super().calculate(atoms, properties, system_changes)
        model = self.inner.model
        prediction = model.predict_graph(self._graph(self.atoms), task="ef")
        energy = float(prediction["e"]) * (len(self.atoms) if model.is_intensive else 1)
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": np.asarray(prediction["f"], dtype=float),
        }


_LEAN: WeakKeyDictionary = WeakKeyDictionary()


def forces_calculator(calculator: Calculator) -> Calculator:
    """Return the calculator to use where only forces (and the energy) are needed.

    Finite displacements and relaxations at a fixed cell read forces only. CHGNet's
    calculator is wrapped in :class:`ChgnetForces` (no stress; one wrapper per calculator, so
    that :func:`fixed_neighbours` holds across calls); any other calculator is returned as
    it is (SevenNet's stress is a cheap sum over the edge forces it computes
    anyway).
    """
    if type(calculator).__module__.startswith("chgnet.") and not isinstance(
        calculator, ChgnetForces
    ):
        lean = _LEAN.get(calculator)
        if lean is None:
            lean = _LEAN[calculator] = ChgnetForces(calculator)
        return lean
    return calculator


def fixed_neighbours(calculator: Calculator, atoms: Atoms) -> Any:
    """Context in which the forces calculator reuses the neighbour graph of ``atoms``.

    For the finite displacements of one cell: with CHGNet, every displaced copy within
    :data:`GRAPH_REUSE_DISTANCE` of ``atoms`` reuses the graph of ``atoms`` (1.3x faster
    per evaluation of a 64-atom cell, forces equal to about 1e-4 eV/A); other calculators
    are used as they are.

    Parameters
    ----------
    calculator
        A loaded ASE calculator.
    atoms
        The undisplaced cell.

    Returns
    -------
    contextlib.AbstractContextManager
        Yields the calculator to use (:func:`forces_calculator` of ``calculator``).

    Examples
    --------
    >>> with fixed_neighbours(calculator, supercell) as calc:  # doctest: +SKIP
    ...     forces = [forces_of(cell, calc) for cell in displaced_cells]
    """
    lean = forces_calculator(calculator)
    if isinstance(lean, ChgnetForces):
        return lean.reference(atoms)
    return nullcontext(lean)


class PotentialMixin:
    """The loaded potential of an engine with ``force_field`` and ``calculator_kwargs``."""

    force_field: str
    calculator_kwargs: dict

    @property
    def calculator(self) -> Calculator:
        """The loaded ASE calculator (loaded once per process)."""
        return load_calculator(self.force_field, **self.calculator_kwargs)[0]

    @property
    def calculator_info(self) -> CalculatorInfo:
        """Provenance of the calculator."""
        return load_calculator(self.force_field, **self.calculator_kwargs)[1]
