"""Documents: what one simulated doped-crystal spectrum is, with units in every field."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

from defectnet_atomate import __version__
from defectnet_atomate.spectra import GRID_STEP_THZ, IMAGINARY_TOLERANCE_THZ, SIGMA_THZ

if TYPE_CHECKING:
    from pymatgen.phonon.dos import PhononDos

    from defectnet_atomate.doping import DopedSupercell

__all__ = [
    "CalculatorInfo",
    "DefectPhononDoc",
    "DopantRecord",
    "HostInfo",
    "PhononDosData",
    "PhononModes",
    "PhononSettings",
    "RelaxationInfo",
    "make_config_id",
]

NORMALISATION = (
    "states per THz per atom of the cell: the total DOS integrates to 3, the DOS projected on "
    "element X to 3 * n_X / n_atoms; the projections sum to the total"
)


class PhononDosData(BaseModel):
    """A total and element-projected phonon DOS on one uniform grid."""

    frequencies: list[float] = Field(description="Uniform frequency grid, THz.")
    total: list[float] = Field(description=f"Total DOS, {NORMALISATION}.")
    projected: dict[str, list[float]] = Field(
        default_factory=dict,
        description="Element symbol -> DOS projected on that element, same units.",
    )
    sigma: float = Field(SIGMA_THZ, description="Gaussian broadening (standard deviation), THz.")
    normalisation: str = Field(NORMALISATION, description="How densities are normalised.")

    def to_phonon_dos(self) -> PhononDos:
        """Return the total DOS as a pymatgen :class:`~pymatgen.phonon.dos.PhononDos`."""
        from pymatgen.phonon.dos import PhononDos

        return PhononDos(np.asarray(self.frequencies), np.asarray(self.total))

    def element_dos(self) -> dict[str, PhononDos]:
        """Return the element-projected DOS as pymatgen ``PhononDos`` objects."""
        from pymatgen.phonon.dos import PhononDos

        freqs = np.asarray(self.frequencies)
        return {el: PhononDos(freqs, np.asarray(d)) for el, d in self.projected.items()}

    def integral(self) -> float:
        """Integral of the total DOS over frequency (3 for a complete spectrum)."""
        return float(np.trapezoid(self.total, self.frequencies))


class PhononModes(BaseModel):
    """The unbroadened modes behind a DOS, so that it can be re-broadened or re-weighted."""

    frequencies: list[float] = Field(description="Mode frequencies over all q-points, THz.")
    weights: dict[str, list[float]] = Field(
        description=(
            "Element -> weight of each mode on that element, times its q-point weight, divided "
            "by the number of atoms (dimensionless; broadening them gives the projected DOS)."
        )
    )
    qpoints: list[list[float]] | None = Field(
        None,
        description=(
            "q-points of the sampling, reduced coordinates of the cell's reciprocal lattice "
            "(dimensionless; [[0, 0, 0]] is Gamma only)."
        ),
    )

    def dos(self, sigma: float = SIGMA_THZ, step: float = GRID_STEP_THZ) -> PhononDosData:
        """Broaden the modes into a :class:`PhononDosData` with other settings."""
        from defectnet_atomate.spectra import broaden_modes, frequency_grid

        freqs = np.asarray(self.frequencies)
        elements = sorted(self.weights)
        w = np.stack([np.asarray(self.weights[el]) for el in elements], axis=1)
        grid = frequency_grid(float(freqs.min()), float(freqs.max()), step, sigma)
        channels = broaden_modes(freqs, w, grid, sigma)
        return PhononDosData(
            frequencies=np.round(grid, 6).tolist(),
            total=channels.sum(axis=0).tolist(),
            projected={el: channels[i].tolist() for i, el in enumerate(elements)},
            sigma=sigma,
        )


class CalculatorInfo(BaseModel):
    """Which potential (or code) produced the forces."""

    name: str = Field(description="Force-field name (atomate2 MLFF name) or DFT code.")
    package_version: str | None = Field(
        None, description="Version of the package that provides it."
    )
    model_version: str | None = Field(None, description="Version of the model weights, if stated.")
    weights_hash: str | None = Field(
        None, description="SHA-256 (first 16 hex digits) of the model's parameters."
    )


class PhononSettings(BaseModel):
    """Settings of the phonon calculation (identical for the doped and pristine spectra)."""

    engine: Literal["atomate2", "direct", "embedding", "mass-defect"] = Field(
        description=(
            "Engine that computed the force constants ('mass-defect': host force constants "
            "with dopant masses, the cheapest fidelity level)."
        )
    )
    displacement: float = Field(0.01, description="Finite-displacement step, Angstrom.")
    plus_minus: bool | Literal["auto"] = Field(
        True, description="Central (+/-) differences (True) or phonopy's 'auto' choice."
    )
    symmetrize_force_constants: bool = Field(
        True, description="Whether translational and index symmetry were imposed."
    )
    relax_cell: bool = Field(True, description="Whether cell shape and volume were relaxed.")
    fmax: float = Field(5e-3, description="Force convergence of the relaxation, eV/Angstrom.")
    mesh_length: float = Field(
        20.0, description="q-point density (phonopy length), Angstrom; same for doped and pristine."
    )
    sigma: float = Field(SIGMA_THZ, description="Gaussian broadening, THz.")
    grid_step: float = Field(GRID_STEP_THZ, description="Frequency grid step, THz.")
    approximations: list[str] = Field(
        default_factory=list, description="Approximations of the engine, in words."
    )


class RelaxationInfo(BaseModel):
    """How the doped supercell relaxed."""

    n_steps: int | None = Field(None, description="Optimiser steps taken.")
    converged: bool | None = Field(None, description="Whether fmax was reached.")
    max_force: float | None = Field(None, description="Largest residual force, eV/Angstrom.")
    max_displacement: float | None = Field(
        None, description="Largest atomic displacement during relaxation, Angstrom."
    )
    volume_change: float | None = Field(
        None, description="Relative volume change (V_relaxed / V_initial - 1), dimensionless."
    )
    fmax_history: list[float] | None = Field(
        None,
        description=(
            "The optimiser's largest residual force (atoms and, with the cell free, the "
            "cell's generalised forces) at its start and every 10 steps "
            "(phonons.direct.RELAXATION_HISTORY_INTERVAL), eV/Angstrom."
        ),
    )


class DopantRecord(BaseModel):
    """One dopant element in the supercell."""

    element: str = Field(description="Dopant element symbol.")
    replaces: str = Field(description="Host element whose sites it occupies.")
    count: int = Field(description="Number of dopant atoms in the supercell.")
    atomic_percent: float = Field(description="Realised concentration, at.% of all atoms.")
    target_atomic_percent: float | None = Field(
        None, description="Requested concentration, at.% of all atoms."
    )
    sublattice_fraction: float = Field(
        description="Fraction (0-1) of the replaced element's sites that the dopant occupies."
    )


class HostInfo(BaseModel):
    """The pristine host crystal."""

    host_id: str | None = Field(None, description="Identifier, e.g. a Materials Project id.")
    formula: str = Field(description="Reduced formula.")
    structure: Structure = Field(description="Host cell (relaxed with the same potential).")
    elements: list[str] = Field(description="Element symbols of the host, sorted.")
    composition: dict[str, float] = Field(description="Element -> atomic fraction (0-1).")

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @classmethod
    def from_structure(cls, structure: Structure, host_id: str | None = None) -> HostInfo:
        """Describe a host structure."""
        comp = structure.composition.fractional_composition
        return cls(
            host_id=host_id,
            formula=structure.composition.reduced_formula,
            structure=structure,
            elements=sorted(el.symbol for el in comp.elements),
            composition={el.symbol: float(comp[el]) for el in comp.elements},
        )


def make_config_id(
    host_id: str | None,
    host: Structure,
    dopants: list[DopantRecord],
    seed: int,
    settings: PhononSettings,
    calculator: CalculatorInfo,
    supercell_matrix: list[list[int]] | None = None,
) -> str:
    """Deterministic identifier of a configuration and its settings (for resumable runs)."""
    payload = {
        "host": host_id or host.composition.reduced_formula,
        "lattice": np.round(host.lattice.abc, 3).tolist(),
        "dopants": sorted((d.element, d.replaces, d.count) for d in dopants),
        "seed": seed,
        "supercell_matrix": supercell_matrix,
        "settings": settings.model_dump(exclude={"approximations"}),
        "calculator": [calculator.name, calculator.weights_hash],
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"dpd-{digest[:20]}"


class DefectPhononDoc(BaseModel):
    """Phonon DOS of a substitutionally doped supercell, with its pristine reference."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    config_id: str = Field(description="Deterministic id of configuration + settings (store key).")
    host: HostInfo = Field(description="The pristine host.")
    structure: Structure = Field(description="Relaxed doped supercell.")
    supercell_matrix: list[list[int]] = Field(
        description="Integer matrix S with supercell lattice = S @ host lattice."
    )
    seed: int = Field(0, description="Seed of the random dopant sites.")
    num_sites: int = Field(description="Atoms in the doped supercell.")
    dopants: list[DopantRecord] = Field(description="Dopant elements and concentrations.")
    dopant_elements: list[str] = Field(description="Dopant element symbols, sorted (for queries).")
    n_dopants: int = Field(description="Number of dopant elements (1-6).")
    total_dopant_percent: float = Field(description="Sum of dopant concentrations, at.%.")
    calculator: CalculatorInfo = Field(description="Potential that gave the forces.")
    settings: PhononSettings = Field(description="Phonon settings (same for the pristine host).")
    relaxation: RelaxationInfo | None = Field(None, description="Relaxation of the doped cell.")
    pdos: PhononDosData = Field(description="Total and element-projected DOS of the doped cell.")
    pristine_pdos: PhononDosData | None = Field(
        None, description="Pristine host DOS with the same settings and grid conventions."
    )
    cell_pristine_pdos: PhononDosData | None = Field(
        None,
        description=(
            "DOS of the undoped supercell at the doped cell's q-points (states/THz, same "
            "broadening): ``pdos - cell_pristine_pdos`` is the dopants' effect without the "
            "q-sampling difference to ``pristine_pdos`` (see ``sampling_corrected_pdos``)."
        ),
    )
    modes: PhononModes | None = Field(None, description="Unbroadened modes of the doped cell.")
    pristine_modes: PhononModes | None = Field(
        None, description="Unbroadened modes of the pristine host."
    )
    has_imaginary_modes: bool = Field(
        description=f"Any mode below -{IMAGINARY_TOLERANCE_THZ} THz in the doped cell."
    )
    min_frequency: float = Field(description="Lowest mode frequency of the doped cell, THz.")
    imaginary_fraction: float = Field(
        description=f"Fraction (0-1) of modes below -{IMAGINARY_TOLERANCE_THZ} THz."
    )
    timings: dict[str, float] = Field(
        default_factory=dict, description="Wall time of each stage, seconds."
    )
    flow_uuid: str | None = Field(None, description="jobflow flow uuid that produced this.")
    job_uuids: list[str] = Field(default_factory=list, description="jobflow job uuids involved.")
    package_version: str = Field(__version__, description="defectnet-atomate version.")
    created_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="Creation time (UTC)."
    )
    last_updated: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="Last update (UTC)."
    )

    def sampling_corrected_pdos(self) -> PhononDosData:
        """Return the doped DOS with the q-sampling difference to ``pristine_pdos`` removed.

        ``pristine_pdos + (pdos - cell_pristine_pdos)``
        (:func:`~defectnet_atomate.spectra.sampling_corrected`): what the model is trained
        on and what a bulk sample would show. ``pdos`` itself when the document has no
        ``cell_pristine_pdos`` (older documents) or no ``pristine_pdos``.
        """
        from defectnet_atomate.spectra import sampling_corrected

        if self.cell_pristine_pdos is None or self.pristine_pdos is None:
            return self.pdos
        return PhononDosData(
            **sampling_corrected(self.pdos, self.cell_pristine_pdos, self.pristine_pdos),
            sigma=self.pdos.sigma,
        )

    @classmethod
    def from_results(
        cls,
        doped: DopedSupercell,
        relaxed: Structure,
        modes: PhononModes,
        calculator: CalculatorInfo,
        settings: PhononSettings,
        pristine_modes: PhononModes | None = None,
        host_id: str | None = None,
        relaxation: RelaxationInfo | None = None,
        cell_pristine_modes: PhononModes | None = None,
        timings: dict[str, float] | None = None,
        config_id: str | None = None,
        **kwargs: object,
    ) -> DefectPhononDoc:
        """Assemble a document from an engine's results.

        Parameters
        ----------
        doped
            The doped supercell (from :func:`~defectnet_atomate.doping.make_doped_supercell`).
        relaxed
            The relaxed doped supercell.
        modes
            Modes of the doped cell (broadened here with ``settings``).
        calculator, settings
            See the fields of this document.
        pristine_modes
            Modes of the pristine host (broadened here with the same settings).
        cell_pristine_modes
            Modes of the undoped supercell at the doped cell's q-points
            (:func:`~defectnet_atomate.phonons.dos.cell_reference_modes`).
        host_id, relaxation, timings
            See the fields of this document.
        config_id
            Identifier to use instead of the one derived from the configuration (batch
            runs use the id of their request, so that they can skip finished requests).
        **kwargs
            Further fields (e.g. ``flow_uuid``).
        """
        dopants = [
            DopantRecord(
                element=d.element,
                replaces=d.replaces,
                count=d.count,
                atomic_percent=d.atomic_percent,
                target_atomic_percent=d.target_atomic_percent,
                sublattice_fraction=d.sublattice_fraction,
            )
            for d in doped.dopants
        ]
        freqs = np.asarray(modes.frequencies, dtype=float)
        imaginary = freqs < -IMAGINARY_TOLERANCE_THZ
        return cls(
            config_id=config_id
            or make_config_id(
                host_id,
                doped.host,
                dopants,
                doped.seed,
                settings,
                calculator,
                doped.supercell_matrix,
            ),
            host=HostInfo.from_structure(doped.host, host_id),
            structure=relaxed,
            supercell_matrix=doped.supercell_matrix,
            seed=doped.seed,
            num_sites=len(relaxed),
            dopants=dopants,
            dopant_elements=sorted(d.element for d in dopants),
            n_dopants=len(dopants),
            total_dopant_percent=sum(d.atomic_percent for d in dopants),
            calculator=calculator,
            settings=settings,
            relaxation=relaxation,
            pdos=modes.dos(settings.sigma, settings.grid_step),
            pristine_pdos=(
                pristine_modes.dos(settings.sigma, settings.grid_step) if pristine_modes else None
            ),
            cell_pristine_pdos=(
                cell_pristine_modes.dos(settings.sigma, settings.grid_step)
                if cell_pristine_modes
                else None
            ),
            modes=modes,
            pristine_modes=pristine_modes,
            has_imaginary_modes=bool(imaginary.any()),
            min_frequency=float(freqs.min()),
            imaginary_fraction=float(imaginary.mean()),
            timings=timings or {},
            **kwargs,
        )
