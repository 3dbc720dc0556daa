"""atomate2-style Makers of the defect-phonon workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from jobflow import Flow, Maker
from pymatgen.core import Structure

from defectnet_atomate.doping import Doping, make_doped_supercell, parse_doping
from defectnet_atomate.jobs import doped_phonon_branches, run_engine, signature_library
from defectnet_atomate.phonons.direct import DirectSettings
from defectnet_atomate.phonons.embedding import EmbeddingSettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from atomate2.common.flows.phonons import BasePhononMaker

    from defectnet_atomate.schemas import CalculatorInfo, PhononSettings

__all__ = ["DefectPhononMaker", "SignatureLibraryMaker"]


def _doping_sets(dopings: Any) -> list[list[Doping]]:
    """Normalise ``dopings`` to a list of supercells, each a list of :class:`Doping`.

    A flat list (``["Ge:Si:5", "C:Si:1"]``) is ONE supercell holding all of them; a list
    of lists (``[["Ge:Si:5"], ["Ge:Si:2", "C:Si:1"]]``) is one supercell per inner list.
    """
    if isinstance(dopings, str | Doping | dict):
        dopings = [dopings]
    if not isinstance(dopings, list | tuple) or not dopings:
        raise TypeError(
            "dopings must be a doping ('Ge:Si:5'), a list of dopings for one supercell, "
            f"or a list of such lists; got {type(dopings).__name__} {dopings!r}."
        )
    nested = all(isinstance(d, list | tuple) and not _is_triplet(d) for d in dopings)
    sets = dopings if nested else [dopings]
    return [[parse_doping(d) for d in s] for s in sets]


def _is_triplet(value: Sequence) -> bool:
    return len(value) == 3 and isinstance(value[0], str) and not isinstance(value[2], str | list)


@dataclass
class DefectPhononMaker(Maker):
    """Phonon DOS of substitutionally doped supercells of a host, with its pristine DOS.

    ``make(structure, dopings)`` returns a Flow: the host is relaxed, its doped supercells
    are built (near-cubic, just large enough for the requested concentrations, random
    sites with ``seed``), and each goes through the chosen engine; each branch ends in a
    :class:`~defectnet_atomate.schemas.DefectPhononDoc`. The Flow's output is the list
    of documents, so it can be a job of a larger workflow.

    Parameters
    ----------
    name
        Name of the flows produced by this maker.
    engine
        ``"atomate2"``: each supercell through atomate2's force-field ``PhononMaker``
        (one jobflow job per displacement; what atomate2 users know, and the way to DFT
        through ``phonon_maker``). ``"direct"``: one job per supercell with the potential
        kept loaded (about 15x faster, same physics; see
        :mod:`defectnet_atomate.phonons.direct`). ``"embedding"``: host force constants
        plus cached dopant patches, for large dilute cells
        (:mod:`defectnet_atomate.phonons.embedding`). ``"mass-defect"``: the host's force
        constants with dopant masses (no patches; the cheap fidelity level of training
        sets). ``"auto"``: embedding when every dopant is at most 1.5 at.%, the dopants
        can be placed far enough apart and the supercell is at least as large as the patch
        cell (about 216 atoms, i.e. about 0.5 at.% and below for one atom per dopant), else
        direct.
    force_field
        atomate2 force-field name (``"CHGNet"``, ``"SevenNet"``, ...).
    embedding_settings
        Settings of the embedding engine (cutoff, patch cell, validated separation).
    settings
        Displacement, relaxation, q-point density and broadening
        (:class:`~defectnet_atomate.phonons.direct.DirectSettings`); the same for every
        engine and for the pristine host.
    phonon_maker
        An atomate2 phonon maker to use instead of the force-field one (``engine``
        ``"atomate2"`` only), e.g. ``atomate2.vasp.flows.phonons.PhononMaker()`` for DFT.
        Its ``bulk_relax_maker`` relaxes the host and each doped supercell.
    seed
        Seed of the dopant sites of the first supercell (the i-th uses ``seed + i``).
    rel_tolerance
        Accepted relative deviation of realised from requested concentrations.
    max_atoms
        Largest supercell built.
    supercell_matrix
        Use this supercell of the host for every doped cell instead of choosing the
        smallest near-cubic one (requests it cannot realise are refused).
    calculator_kwargs
        Passed to the force field's calculator.
    search_range
        Supercell shape search range (2: ASE's; 1: faster, for sampling large cells; see
        :func:`~defectnet_atomate.doping.make_doped_supercell`).
    cache_dir
        Folder where the embedding and mass-defect engines keep host force constants and
        dopant patches between jobs (on a cluster: a shared filesystem); ``None``: each
        job computes what it needs.

    Examples
    --------
    >>> from jobflow import run_locally
    >>> maker = DefectPhononMaker(engine="direct")
    >>> flow = maker.make(si, [["Ge:Si:6"], ["Ge:Si:3", "C:Si:3"]])  # doctest: +SKIP
    >>> run_locally(flow, store=default_job_store())  # doctest: +SKIP
    """

    name: str = "defect phonon"
    engine: Literal["atomate2", "direct", "embedding", "mass-defect", "auto"] = "atomate2"
    force_field: str = "CHGNet"
    settings: DirectSettings = field(default_factory=DirectSettings)
    embedding_settings: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    phonon_maker: BasePhononMaker | None = None
    seed: int = 0
    rel_tolerance: float = 0.1
    max_atoms: int = 600
    supercell_matrix: list[list[int]] | None = None
    calculator_kwargs: dict = field(default_factory=dict)
    cache_dir: str | None = None
    search_range: int = 2

    def make(
        self,
        structure: Structure,
        dopings: Any,
        host_id: str | None = None,
    ) -> Flow:
        """Make the flow.

        Parameters
        ----------
        structure
            Host crystal (a primitive cell keeps supercells small). May be an output
            reference of an earlier job.
        dopings
            ``"Ge:Si:5"``, a list of dopings for one supercell (``["Ge:Si:5", "C:Si:1"]``)
            or a list of such lists, one supercell each.
        host_id
            Identifier of the host recorded in the documents (e.g. ``"mp-149"``).

        Returns
        -------
        Flow
            Output: the list of :class:`~defectnet_atomate.schemas.DefectPhononDoc`.
        """
        from atomate2.forcefields.utils import MLFF  # noqa: F401  (validates install)

        from defectnet_atomate.phonons.calculators import force_field_name

        doping_sets = _doping_sets(dopings)
        self.force_field = force_field_name(self.force_field)
        if isinstance(structure, Structure):  # refuse impossible requests now, not mid-flow
            for i, dopings_i in enumerate(doping_sets):
                make_doped_supercell(
                    structure, dopings_i, seed=self.seed + i, **self.supercell_kwargs
                )
        if self.engine in ("direct", "embedding", "mass-defect", "auto"):
            if self.phonon_maker is not None:
                raise ValueError("phonon_maker is only used by engine='atomate2'.")
            jobs = []
            for i, dopings_i in enumerate(doping_sets):
                j = run_engine(
                    structure,
                    [d.as_dict() for d in dopings_i],
                    seed=self.seed + i,
                    force_field=self.force_field,
                    settings=self.settings,
                    engine=self.engine,
                    embedding_settings=self.embedding_settings,
                    host_id=host_id,
                    supercell_kwargs=self.supercell_kwargs,
                    cache_dir=self.cache_dir,
                )
                j.name = f"{self.name} {self.engine} {i}"
                jobs.append(j)
            return Flow(jobs, output=[j.output for j in jobs], name=self.name)
        if self.engine != "atomate2":
            raise ValueError(
                f"Unknown engine {self.engine!r}; use 'atomate2', 'direct', 'embedding', "
                "'mass-defect' or 'auto'."
            )
        jobs = []
        host = structure
        relax_maker = self.atomate2_phonon_maker(relax=True).bulk_relax_maker
        if relax_maker is not None:
            relax = relax_maker.make(structure)
            relax.name = f"{self.name} host relax"
            jobs.append(relax)
            host = relax.output.structure
        branches = doped_phonon_branches(host, doping_sets, self, host_id)
        branches.name = f"{self.name} branches"
        jobs.append(branches)
        return Flow(jobs, output=branches.output, name=self.name)

    @property
    def supercell_kwargs(self) -> dict:
        """Keyword arguments of :func:`~defectnet_atomate.doping.make_doped_supercell`."""
        return {
            "rel_tolerance": self.rel_tolerance,
            "max_atoms": self.max_atoms,
            "supercell_matrix": self.supercell_matrix,
            "search_range": self.search_range,
        }

    def atomate2_phonon_maker(self, relax: bool = True) -> BasePhononMaker:
        """Return the atomate2 phonon maker each supercell goes through.

        The supercell is the simulation cell (``supercell_matrix`` is passed as the
        identity); the relaxation has free cell and ``settings.fmax``; no static energy
        job; force constants are stored for the projected DOS.
        """
        from copy import deepcopy

        if self.phonon_maker is not None:
            maker = deepcopy(self.phonon_maker)
            if not relax:
                maker.bulk_relax_maker = None
            return maker
        from atomate2.forcefields.flows.phonons import PhononMaker
        from atomate2.forcefields.jobs import ForceFieldRelaxMaker, ForceFieldStaticMaker

        kwargs = {"force_field_name": self.force_field, "calculator_kwargs": self.calculator_kwargs}
        return PhononMaker(
            bulk_relax_maker=ForceFieldRelaxMaker(
                relax_cell=self.settings.relax_cell,
                steps=self.settings.max_steps,
                relax_kwargs={"fmax": self.settings.fmax},
                **kwargs,
            )
            if relax
            else None,
            static_energy_maker=None,
            phonon_displacement_maker=ForceFieldStaticMaker(**kwargs),
            displacement=self.settings.displacement,
            symprec=self.settings.symprec,
            store_force_constants=True,
        )

    def calculator_info(self) -> CalculatorInfo:
        """Provenance of the forces (loads the potential to hash its weights)."""
        from defectnet_atomate.schemas import CalculatorInfo

        if self.phonon_maker is not None and not hasattr(self.phonon_maker, "mlff"):
            return CalculatorInfo(name=str(getattr(self.phonon_maker, "code", "dft")))
        from defectnet_atomate.phonons.calculators import load_calculator

        name = self.force_field
        if self.phonon_maker is not None:
            name = self.phonon_maker.mlff.name
        return load_calculator(name, **self.calculator_kwargs)[1]

    def phonon_settings(self) -> PhononSettings:
        """Return the settings as recorded in the documents of this maker's engine."""
        settings = self.settings.phonon_settings(self.engine)
        if self.engine == "atomate2":
            settings.plus_minus = "auto"
            settings.approximations = [
                f"atomate2 PhononMaker, finite displacements of {self.settings.displacement} A "
                "(phonopy 'auto' +/-: central differences in cells without symmetry)",
                "force constants of the whole supercell (no cutoff)",
                f"q-mesh of phonopy length {self.settings.mesh_length} A on the supercell",
            ]
        return settings


def _signature_settings() -> EmbeddingSettings:
    return EmbeddingSettings(cutoff=6.0)


@dataclass
class SignatureLibraryMaker(Maker):
    """A host's dopant signatures as a jobflow flow, one job per dopant patch.

    The same library as :meth:`~defectnet_atomate.signatures.SignatureLibrary.from_host`,
    with its patches (minutes each) run as parallel jobs on a cluster: one job prepares
    the host (relaxation, host screen, pristine DOS, lattice response) and fans out one
    job per (candidate, symmetry-distinct site), then one job assembles the
    :class:`~defectnet_atomate.signatures.SignatureLibrary`, the flow's output (its
    signatures in the ``data`` store).

    Parameters
    ----------
    name
        Name of the flow and prefix of its jobs.
    force_field
        Potential of the patches (default SevenNet, with ``settings`` the setting
        validated against the direct engine on dilute cells).
    settings
        Embedding-engine settings (patch cutoff, patch cell); default 6 A patches.
    relax
        Relax the host with the potential first; ``False`` when it already is.
    cache_dir
        Folder of the engine's host force constants and patches (on a cluster, a shared
        filesystem: each patch job then reuses the host's force constants computed once);
        ``None``: each job computes what it needs.
    series
        Supercell multiples of a concentration series
        (:meth:`~defectnet_atomate.signatures.SignatureLibrary.with_series`, e.g. ``(3, 2)``),
        one direct-engine job per signature; empty (default): dilute signatures only.

    Examples
    --------
    >>> from jobflow import run_locally
    >>> flow = SignatureLibraryMaker(cache_dir="patches").make(zns, ["Se", "Cd", "O"])
    >>> responses = run_locally(flow, store=default_job_store())  # doctest: +SKIP
    """

    name: str = "signature library"
    force_field: str = "SevenNet"
    settings: EmbeddingSettings = field(default_factory=_signature_settings)
    relax: bool = True
    cache_dir: str | None = None
    series: tuple[int, ...] = ()

    def make(
        self,
        structure: Structure,
        candidates: Sequence[str],
        replaces: dict[str, list[str]] | None = None,
    ) -> Flow:
        """Make the flow.

        Parameters
        ----------
        structure
            Host crystal (primitive or conventional cell); may be an output reference.
        candidates
            Dopant elements.
        replaces
            Candidate -> host elements it may replace; default
            :func:`~defectnet_atomate.signatures.plausible_sites`.

        Returns
        -------
        Flow
            Output: the :class:`~defectnet_atomate.signatures.SignatureLibrary`.
        """
        from defectnet_atomate.phonons.calculators import force_field_name
        from defectnet_atomate.signatures import patch_sites

        if not self.settings.patches:
            raise ValueError(
                "settings has patches=False (the mass-defect level): signatures need the "
                "dopant patches; use EmbeddingSettings(patches=True)."
            )
        candidates = list(candidates)
        if isinstance(structure, Structure):  # refuse bad input now, not mid-flow
            patch_sites(structure, candidates, replaces)
        prepare = signature_library(
            structure,
            candidates,
            force_field=force_field_name(self.force_field),
            settings=self.settings,
            replaces=replaces,
            relax=self.relax,
            cache_dir=self.cache_dir,
            name=self.name,
            series=tuple(self.series),
        )
        prepare.name = f"{self.name} host"
        return Flow([prepare], output=prepare.output, name=self.name)
