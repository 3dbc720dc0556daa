"""Universal interatomic potentials as ASE calculators, with the provenance documents need.

Potentials are loaded through atomate2 (:func:`atomate2.forcefields.utils.ase_calculator`),
so every atomate2 force-field name works (``"CHGNet"``, ``"SevenNet"``, ``"MACE_MP_0"``,
...). Only CHGNet (a core dependency) and SevenNet (extra ``sevennet``) ship their weights
in their wheels; the others download weights at first use.

Finite displacements and fixed-cell relaxations need forces only:
:func:`forces_calculator` gives them without the stress where a calculator computes it at
every call (CHGNet: 0.6 of the time per evaluation, ``benchmarks/force_evaluation.py``).
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from ase.calculators.calculator import Calculator, all_changes

from defectnet_atomate.schemas import CalculatorInfo

if TYPE_CHECKING:
    from ase import Atoms

__all__ = [
    "PotentialMixin",
    "calculator_info",
    "force_field_name",
    "forces_calculator",
    "load_calculator",
]

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

    Parameters
    ----------
    calculator
        A loaded ``chgnet.model.dynamics.CHGNetCalculator``.
    """

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, calculator: Calculator) -> None:
        super().__init__()
        self.inner = calculator

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: list[str] | None = None,
        system_changes: list[str] = all_changes,
    ) -> None:
        """Compute energy and forces of ``atoms`` with CHGNet's ``task="ef"``."""
        super().calculate(atoms, properties, system_changes)
        # CHGNet merges new results into its old ones: cleared first, so that no stress of
        # another structure is left behind for a later ``get_stress`` to return
        self.inner.reset()
        self.inner.calculate(self.atoms, ["energy", "forces"], system_changes, task="ef")
        self.results = {key: self.inner.results[key] for key in self.implemented_properties}


def forces_calculator(calculator: Calculator) -> Calculator:
    """Return the calculator to use where only forces (and the energy) are needed.

    Finite displacements and relaxations at a fixed cell read forces only. CHGNet's
    calculator is wrapped in :class:`ChgnetForces` (no stress); any other calculator is
    returned as it is (SevenNet's stress is a cheap sum over the edge forces it computes
    anyway).
    """
    if type(calculator).__module__.startswith("chgnet.") and not isinstance(
        calculator, ChgnetForces
    ):
        return ChgnetForces(calculator)
    return calculator


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
