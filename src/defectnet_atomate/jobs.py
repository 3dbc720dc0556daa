"""jobflow jobs of the defect-phonon workflow (thin adapters over the domain code).

Big arrays (the DOS) go to the job store's ``data`` side store.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Flow, Response, job

from defectnet_atomate.doping import DopedSupercell, make_doped_supercell, parse_doping
from defectnet_atomate.phonons.dos import cell_reference_modes, modes_from_force_constants
from defectnet_atomate.phonons.embedding import EmbeddingSettings
from defectnet_atomate.schemas import CalculatorInfo, DefectPhononDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from defectnet_atomate.flows import DefectPhononMaker
    from defectnet_atomate.phonons.direct import DirectSettings
    from defectnet_atomate.signatures import SignatureLibrary

__all__ = [
    "DILUTE_LIMIT",
    "assemble_signature_library",
    "defect_phonon_document",
    "doped_phonon_branches",
    "run_engine",
    "signature_library",
    "signature_patch",
    "signature_series",
]

_DATA_FIELDS = ["pdos", "pristine_pdos", "cell_pristine_pdos", "modes", "pristine_modes"]


def _current_provenance() -> dict[str, Any]:
    from jobflow import CURRENT_JOB

    current = CURRENT_JOB.job
    if current is None:
        return {}
    return {"flow_uuid": current.hosts[-1] if current.hosts else None, "job_uuids": [current.uuid]}


def _output_field(output: Any, name: str) -> Any:
    return output.get(name) if isinstance(output, dict) else getattr(output, name, None)


def _force_constants_array(output: Any) -> np.ndarray:
    fc = _output_field(output, "force_constants")
    if fc is None:
        raise ValueError(
            "The phonon document has no force constants; run atomate2's PhononMaker with "
            "store_force_constants=True."
        )
    if isinstance(fc, dict):  # atomate2 ForceConstants as a dict
        fc = fc.get("force_constants", fc)
    fc = getattr(fc, "force_constants", fc)
    return np.asarray(fc, dtype=float)


def _structure_of(output: Any) -> Structure:
    from pymatgen.core import Structure

    structure = _output_field(output, "structure")
    return Structure.from_dict(structure) if isinstance(structure, dict) else structure


@job(output_schema=DefectPhononDoc, data=_DATA_FIELDS)
def defect_phonon_document(
    doped: DopedSupercell,
    doped_phonon: Any,
    pristine_phonon: Any,
    calculator: CalculatorInfo | dict,
    settings: dict,
    host_id: str | None = None,
) -> DefectPhononDoc:
    """Turn two atomate2 phonon documents into a :class:`DefectPhononDoc`.

    The force constants stored by atomate2's ``PhononMaker`` are turned into total and
    element-projected DOS (atomate2 itself stores only the total DOS) for the doped
    supercell and its pristine host, with the same q-point density and broadening.

    Parameters
    ----------
    doped
        The doped supercell the branch was built from.
    doped_phonon, pristine_phonon
        Outputs (``PhononBSDOSDoc``) of atomate2's phonon flows.
    calculator
        Provenance of the forces.
    settings
        :class:`~defectnet_atomate.schemas.PhononSettings` fields.
    host_id
        Identifier of the host.
    """
    from defectnet_atomate.schemas import PhononSettings

    t0 = time.perf_counter()
    phonon_settings = PhononSettings(**settings)
    relaxed = _structure_of(doped_phonon)
    modes = modes_from_force_constants(
        relaxed,
        _force_constants_array(doped_phonon),
        np.transpose(_output_field(doped_phonon, "supercell_matrix")),  # phonopy -> pymatgen
        phonon_settings.mesh_length,
    )
    pristine_structure = _structure_of(pristine_phonon)
    pristine_fc = _force_constants_array(pristine_phonon)
    pristine_matrix = np.transpose(_output_field(pristine_phonon, "supercell_matrix"))
    pristine = modes_from_force_constants(
        pristine_structure, pristine_fc, pristine_matrix, phonon_settings.mesh_length
    )
    # the undoped supercell at the doped cell's q-points (exact for Gamma only; otherwise
    # the host's force constants interpolate where the doped cell's own would)
    cell = cell_reference_modes(
        pristine_structure, pristine_fc, pristine_matrix, doped.supercell_matrix, modes.qpoints
    )
    if isinstance(calculator, dict):
        calculator = CalculatorInfo(**calculator)
    return DefectPhononDoc.from_results(
        doped,
        relaxed,
        modes,
        calculator,
        phonon_settings,
        pristine_modes=pristine,
        cell_pristine_modes=cell,
        host_id=host_id,
        timings={"dos": time.perf_counter() - t0},
        **_current_provenance(),
    )


@job
def doped_phonon_branches(
    host: Structure,
    doping_sets: Sequence[Sequence[Any]],
    maker: DefectPhononMaker,
    host_id: str | None = None,
) -> Response:
    """Build the doped supercells of a (relaxed) host and fan out one phonon branch each.

    Returns a ``Response(replace=...)`` whose flow holds the pristine host's phonons (in
    the first doped supercell's matrix), one atomate2 phonon flow per doped supercell and
    one :func:`defect_phonon_document` job per supercell. Its output is the list of
    documents.
    """
    supercells = [
        make_doped_supercell(
            host, [parse_doping(d) for d in dopings], seed=maker.seed + i, **maker.supercell_kwargs
        )
        for i, dopings in enumerate(doping_sets)
    ]
    jobs: list = []
    pristine_maker = maker.atomate2_phonon_maker(relax=False)
    pristine_maker.name = f"{maker.name} pristine"
    # atomate2 hands supercell_matrix to phonopy, whose convention is pymatgen's transpose
    phonopy_matrix = np.transpose(supercells[0].supercell_matrix).tolist()
    pristine = pristine_maker.make(host, supercell_matrix=phonopy_matrix)
    jobs.append(pristine)
    calculator = maker.calculator_info().model_dump()
    settings = maker.phonon_settings().model_dump()
    outputs = []
    for i, doped in enumerate(supercells):
        label = " ".join(str(d.element) + f"{d.atomic_percent:.3g}%" for d in doped.dopants)
        branch_maker = maker.atomate2_phonon_maker(relax=True)
        branch_maker.name = f"{maker.name} {label}"
        branch = branch_maker.make(doped.structure, supercell_matrix=np.eye(3).tolist())
        doc = defect_phonon_document(
            doped, branch.output, pristine.output, calculator, settings, host_id
        )
        doc.name = f"defect phonon document {i} ({label})"
        jobs += [branch, doc]
        outputs.append(doc.output)
    return Response(replace=Flow(jobs, output=outputs, name=f"{maker.name} branches"))


DILUTE_LIMIT = 1.5
"""Largest concentration (at.%) that ``engine="auto"`` sends to the embedding engine."""


@job(output_schema=DefectPhononDoc, data=_DATA_FIELDS)
def run_engine(
    host: Structure,
    dopings: Sequence[Any],
    seed: int,
    force_field: str,
    settings: DirectSettings,
    engine: str = "direct",
    embedding_settings: EmbeddingSettings | None = None,
    host_id: str | None = None,
    supercell_kwargs: dict | None = None,
    cache_dir: str | None = None,
) -> DefectPhononDoc:
    """One doped supercell through a fast engine (potential kept loaded per process).

    ``engine`` is ``"direct"``, ``"embedding"``, ``"mass-defect"`` (the embedding engine
    without patches) or ``"auto"``: embedding when every dopant is at most
    :data:`DILUTE_LIMIT` at.%, handing over to the direct engine when dopants cannot be
    placed as far apart as the embedding engine has been validated for, when the
    supercell is smaller than the patch cell (a whole-cell patch would wrap onto itself),
    when the dopants' relaxations interact so that their patches would not add
    (:class:`~defectnet_atomate.phonons.embedding.AdditivityError`), or when the relaxed
    host is not a minimum of the potential
    (:class:`~defectnet_atomate.phonons.embedding.UnstableHostError`).
    ``cache_dir`` keeps the embedding engine's host force constants and patches between jobs.
    """
    from dataclasses import replace

    from defectnet_atomate.phonons.direct import DirectEngine
    from defectnet_atomate.phonons.embedding import (
        EmbeddingEngine,
        SeparationError,
        UnstableHostError,
    )

    dopings = [parse_doping(d) for d in dopings]
    kwargs = dict(supercell_kwargs or {})
    dilute = max(d.atomic_percent for d in dopings) <= DILUTE_LIMIT
    doc = None
    if engine in ("embedding", "mass-defect") or (engine == "auto" and dilute):
        chosen = embedding_settings or EmbeddingSettings()
        if engine == "mass-defect":
            chosen = replace(chosen, patches=False)
        embedder = EmbeddingEngine(force_field=force_field, settings=chosen, cache_dir=cache_dir)
        try:
            doc = embedder.run(host, dopings, seed=seed, host_id=host_id, **kwargs)
        except (SeparationError, UnstableHostError):
            if engine != "auto":
                raise
    if doc is None:
        direct = DirectEngine(force_field=force_field, settings=settings)
        doc = direct.run(host, dopings, seed=seed, host_id=host_id, **kwargs)
    for key, value in _current_provenance().items():
        setattr(doc, key, value)
    return doc


@job
def signature_library(
    host: Structure,
    candidates: Sequence[str],
    force_field: str,
    settings: EmbeddingSettings,
    replaces: dict[str, list[str]] | None = None,
    relax: bool = True,
    cache_dir: str | None = None,
    name: str = "signature library",
    series: Sequence[int] = (),
) -> Response:
    """Prepare a host's signature library and fan out one job per dopant patch.

    The host step of :meth:`~defectnet_atomate.signatures.SignatureLibrary.from_host`
    (relaxation, host screen, pristine DOS, lattice response), then a ``Response(replace=...)``
    flow of one :func:`signature_patch` job per (candidate, symmetry-distinct site), with
    ``series`` one :func:`signature_series` job each too (the direct engine's cells of
    :meth:`~defectnet_atomate.signatures.SignatureLibrary.with_series`), and an
    :func:`assemble_signature_library` job, whose output (the library) is this job's.
    """
    from defectnet_atomate.phonons.embedding import EmbeddingEngine
    from defectnet_atomate.signatures import SignatureLibrary

    engine = EmbeddingEngine(force_field=force_field, settings=settings, cache_dir=cache_dir)
    library = SignatureLibrary.prepare(host, engine=engine, relax=relax)
    patch_atoms = round(abs(np.linalg.det(engine.host_data(library.host)["matrix"])))
    patch_atoms *= len(library.host)
    jobs, patches, cells = [], [], []
    for site in library.sites(candidates, replaces):
        label = f"{site['element']} on {site['replaces']} {site['basis_index']}"
        patch = signature_patch(library, site, force_field, settings, cache_dir)
        patch.name = f"{name} {label}"
        jobs.append(patch)
        patches.append(patch.output)
        if series:
            more = signature_series(library, site, force_field, series, patch_atoms - 1)
            more.name = f"{name} {label} series"
            jobs.append(more)
            cells.append(more.output)
    assemble = assemble_signature_library(library, patches, cells or None)
    assemble.name = f"{name} assemble"
    return Response(replace=Flow([*jobs, assemble], output=assemble.output, name=name))


@job
def signature_patch(
    library: SignatureLibrary,
    site: dict[str, Any],
    force_field: str,
    settings: EmbeddingSettings,
    cache_dir: str | None = None,
) -> dict[str, Any]:
    """One signature of a prepared library (one dopant patch; cached in ``cache_dir``)."""
    from defectnet_atomate.phonons.embedding import EmbeddingEngine

    engine = EmbeddingEngine(force_field=force_field, settings=settings, cache_dir=cache_dir)
    return library.compute_signature(engine, **site)


@job
def signature_series(
    library: SignatureLibrary,
    site: dict[str, Any],
    force_field: str,
    multiples: Sequence[int],
    max_atoms: int | None = None,
) -> list[dict[str, Any]]:
    """One signature's concentration series (direct engine, default settings)."""
    from defectnet_atomate.phonons.direct import DirectEngine

    engine = DirectEngine(force_field=force_field)
    return library.compute_series(
        engine, site["element"], site["basis_index"], multiples, max_atoms=max_atoms
    )


@job(data=["signatures"])
def assemble_signature_library(
    library: SignatureLibrary,
    signatures: Sequence[dict[str, Any]],
    series: Sequence[list[dict[str, Any]]] | None = None,
) -> SignatureLibrary:
    """Return the prepared library with its signatures (they go to the ``data`` store)."""
    from dataclasses import replace

    signatures = [dict(s) for s in signatures]
    for signature, cells in zip(signatures, series or [], strict=False):
        signature["series"] = sorted(cells, key=lambda e: e["percent"])
    return replace(library, signatures=signatures)
