"""Dopant signatures from the embedding engine, and a fit of an observed change by them.

A dilute substitutional dopant changes a crystal's phonon DOS by an amount proportional to
its concentration, with a shape set by its mass **and** its bonds (the relaxation around it
and the changed force constants). The Lifshitz mass-defect formula
(:func:`~defectnet_atomate.phonons.dos.mass_defect_signature`) gives the mass part from the
host's projected DOS alone; with a universal potential the bonding part is usually larger
(``docs/benchmarks.md``, "Dilute dopants with their bonding"). The embedding engine
computes both: one dopant patch per (element, site) of a host, computed once and cached.

:class:`SignatureLibrary` turns those patches into **signatures**: the change of the
unit-area DOS per at.% of one dopant on one symmetry-distinct host site, computed by
embedding a single dopant in the patch supercell and subtracting the undoped cell with
the same q-point sampling. :meth:`SignatureLibrary.fit` then reads an observed change (a
doped spectrum against the pristine one) as a non-negative combination of the candidates'
signatures (linear unmixing, as linear-combination fitting of reference spectra in X-ray
absorption): the coefficients are the concentrations in at.%, and a candidate is called
present when its coefficient reaches ``threshold``.

The combination is exact where the embedding engine is (patches add: dilute, separated
dopants; measured in ``benchmarks/signature_unmixing.py``); at several at.% the DOS no
longer changes linearly with the concentration and the fit is an approximation. The
library is specific to its host and potential: it is built for the crystal a user
measures, once (minutes per candidate and site on one core with SevenNet and 6 A patches).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from monty.json import MSONable

from defectnet_atomate.measurement import neutron_weighted_dos
from defectnet_atomate.ml.featurize import (
    BIN_CENTRES,
    N_BINS,
    X_MAX,
    host_scale,
    unit_area_bins,
)
from defectnet_atomate.spectra import Spectrum, sampling_corrected

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from matplotlib.axes import Axes
    from pymatgen.core import Structure

    from defectnet_atomate.doping import DopedSupercell
    from defectnet_atomate.phonons.direct import DirectEngine
    from defectnet_atomate.phonons.embedding import EmbeddingEngine

__all__ = [
    "KINDS",
    "MEASURED",
    "MEASURED_SIGNIFICANCE",
    "NUISANCES",
    "SignatureFit",
    "SignatureLibrary",
    "default_engine",
    "patch_sites",
    "plausible_sites",
]

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.1
"""Coefficient (at.%) from which a candidate is called present: half the lowest
concentration in the model's range (0.2 at.%)."""

NUISANCES = ("background", "multiphonon", "resolution", "scale")
"""Measurement terms :meth:`SignatureLibrary.fit` can fit beside the dopants."""

MEASURED = ("background", "multiphonon", "resolution")
"""The terms for a measured spectrum read against the library's simulated pristine DOS."""

MEASURED_SIGNIFICANCE = 2.0
"""Standard errors from which ``defectnet signatures fit --measured`` calls a dopant present:
on measurement-like spectra of the SevenNet embedding part it halved the undoped
measurements called doped (10 to 5 %) at a cost of 0.07 in recall
(``benchmarks/signature_measured.py``)."""

ERROR_DRAWS = 200
"""Seeded draws that carry a spectrum's error bars onto the library's bins."""

SERIES_ITERATIONS = 30
"""Largest number of refits of ``fit(series=True)``."""

SERIES_TOLERANCE = 1e-3
"""Change of every concentration (at.%) below which ``fit(series=True)`` has settled."""

ELASTIC_WIDTH = 0.1
"""Decay of the elastic-line tail term, in units of the host's top frequency."""


def plausible_sites(host: Structure, element: str) -> list[str]:
    """Host elements a substitutional ``element`` is taken to replace by default.

    Cations replace cations and anions anions: the host's oxidation states are guessed
    from its composition (pymatgen's ``oxi_state_guesses``) and every host element whose
    sign the dopant's common oxidation states share is returned, closest in Pauling
    electronegativity first (W on Mg in MgO; Br on Se or O in La2SeO2, the fit decides).
    An element with both signs counts as an anion in groups 15-17 (Te on S in ZnS) and as
    a cation otherwise (Si on Zn). Without oxidation states (an element, an intermetallic)
    the host element closest in electronegativity is returned. Pass ``replaces`` to
    :meth:`SignatureLibrary.from_host` to choose otherwise.
    """
    from pymatgen.core import Element

    symbols = sorted({site.specie.symbol for site in host})
    if len(symbols) == 1:
        return symbols
    x = Element(element).X
    xs = {s: Element(s).X for s in symbols}
    if not np.isfinite(x) or not all(np.isfinite(v) for v in xs.values()):
        return symbols
    allowed: list[str] = []
    try:
        guesses = host.composition.oxi_state_guesses(max_sites=-50)
    except ValueError:  # too many sites to enumerate: electronegativity alone
        guesses = ()
    dopant = Element(element)
    signs = {int(np.sign(v)) for v in dopant.common_oxidation_states}
    if len(signs) > 1:  # both kinds (Si, Te, Cl): pnictogens, chalcogens, halogens as anions
        signs = {-1} if dopant.group in (15, 16, 17) else {1}
    if guesses and signs:
        allowed = [s for s in symbols if int(np.sign(guesses[0].get(s, 0))) in signs]
    if not allowed:
        return [min(symbols, key=lambda s: abs(xs[s] - x))]
    return sorted(allowed, key=lambda s: abs(xs[s] - x))


def _distinct_sites(host: Structure, element: str) -> list[tuple[int, int]]:
    """Symmetry-distinct host sites of ``element`` as ``(basis index, multiplicity)``."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    symmetrized = SpacegroupAnalyzer(host, symprec=1e-3).get_symmetrized_structure()
    return sorted(
        (min(group), len(group))
        for group in symmetrized.equivalent_indices
        if host[group[0]].specie.symbol == element
    )


def patch_sites(
    host: Structure, candidates: Iterable[str], replaces: Mapping[str, Sequence[str]] | None = None
) -> list[dict[str, Any]]:
    """Return the patches a signature library of ``candidates`` in ``host`` needs.

    One per candidate and symmetry-distinct site of each host element it may replace
    (``replaces``, default :func:`plausible_sites`): dicts of ``element``, ``replaces``,
    ``basis_index`` and ``multiplicity``, the arguments of
    :meth:`SignatureLibrary.compute_signature`.

    Raises
    ------
    ValueError
        For a candidate that is a host element, or a ``replaces`` entry that is not one.
    """
    from defectnet_atomate.ml.elements import validate_element

    candidates = [validate_element(c) for c in candidates]
    host_elements = {site.specie.symbol for site in host}
    clash = sorted(set(candidates) & host_elements)
    if clash:
        raise ValueError(
            f"Candidate(s) {clash} are host elements; substitutional dopants must be foreign."
        )
    out = []
    for element in candidates:
        targets = (replaces or {}).get(element) or plausible_sites(host, element)
        unknown = sorted(set(targets) - host_elements)
        if unknown:
            raise ValueError(
                f"replaces[{element!r}] names {unknown}, which are not elements of the "
                f"host ({sorted(host_elements)})."
            )
        for target in targets:
            for basis_index, multiplicity in _distinct_sites(host, target):
                out.append(
                    {
                        "element": element,
                        "replaces": target,
                        "basis_index": basis_index,
                        "multiplicity": multiplicity,
                    }
                )
    return out


def single_dopant_cell(
    host: Structure, supercell_matrix: Sequence[Sequence[int]], basis_index: int, element: str
) -> DopedSupercell:
    """One ``element`` on the image of host site ``basis_index`` in ``supercell_matrix @ host``."""
    from defectnet_atomate.doping import DopedSupercell, RealisedDoping

    structure = host.copy()
    structure.remove_oxidation_states()
    structure.make_supercell(supercell_matrix)
    target = structure.lattice.get_fractional_coords(host[basis_index].coords)
    delta = structure.frac_coords - target
    delta -= np.round(delta)
    site = int(np.argmin(np.linalg.norm(delta @ structure.lattice.matrix, axis=1)))
    replaces = structure[site].specie.symbol
    structure.replace(site, element)
    n_cells = round(abs(np.linalg.det(np.asarray(supercell_matrix, float))))
    n_sublattice = n_cells * sum(s.specie.symbol == replaces for s in host)
    percent = 100.0 / len(structure)
    return DopedSupercell(
        host=host,
        supercell_matrix=np.asarray(supercell_matrix, int).tolist(),
        structure=structure,
        dopants=[
            RealisedDoping(
                element=element,
                replaces=replaces,
                count=1,
                atomic_percent=percent,
                target_atomic_percent=percent,
                sublattice_fraction=1.0 / n_sublattice,
            )
        ],
        dopant_sites=[[site]],
    )


def _binned(frequencies: Any, densities: Any, scale: float) -> np.ndarray:
    """Unit-area DOS on the relative grid, per unit relative frequency.

    Each point's density holds over the cell between the midpoints to its neighbours (a
    histogram, as reduction software writes a measured spectrum), so a spectrum already on
    the library's grid bins to itself. Integrating the points' linear interpolant instead
    (:func:`~defectnet_atomate.ml.featurize.bin_spectrum`, the model's) smooths a spectrum
    as coarse as the grid by about a bin, which blurred fine dopant signals (0.24).
    Negative frequencies (imaginary modes) are dropped; weight above ``X_MAX * scale`` goes
    to the last bin.
    """
    f = np.asarray(frequencies, float) / scale
    d = np.clip(np.asarray(densities, float), 0, None)
    if f.size < 2:
        raise ValueError("A spectrum needs at least two frequencies to be binned.")
    cells = np.concatenate([[1.5 * f[0] - 0.5 * f[1]], (f[1:] + f[:-1]) / 2])
    cells = np.clip(np.append(cells, 1.5 * f[-1] - 0.5 * f[-2]), 0.0, None)
    cumulative = np.concatenate([[0.0], np.cumsum(d * np.diff(cells))])
    return unit_area_bins(cells, cumulative) * (N_BINS / X_MAX)


VOLUME_STEP = 0.01
"""Relative volume change (+-) of the host's finite-difference volume response."""


def _pressure(structure: Structure, calculator: Any) -> float:
    """Pressure of a structure with the potential, eV/A^3 (positive: it would expand)."""
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calculator
    return float(-np.mean(atoms.get_stress(voigt=True)[:3]))


def _strained(host: Structure, volume_factor: float, engine: EmbeddingEngine) -> Structure:
    """Return the host at ``volume_factor`` times its volume (isotropic), positions relaxed."""
    from defectnet_atomate.phonons.direct import relax_structure

    strained = host.copy()
    strained.scale_lattice(host.volume * volume_factor)
    s = engine.settings
    return relax_structure(strained, engine.calculator, False, s.fmax, s.max_steps)[0]


def _volume_response(engine: EmbeddingEngine, host: Structure, scale: float) -> dict[str, Any]:
    """Return the host's bulk modulus and the change of its binned DOS per unit ``ln V``.

    Central differences at ``1 +- VOLUME_STEP`` times the volume (isotropic strain,
    positions relaxed): the pressures give ``B = -dP/dlnV``, the force constants of the
    strained hosts (the patch supercell, the engine's q-point density) the derivative of
    the unit-area DOS, and of its neutron-weighted form, on the library's grid.
    """
    from defectnet_atomate.phonons.direct import compute_force_constants
    from defectnet_atomate.phonons.dos import modes_from_force_constants

    s = engine.settings
    matrix = engine.host_data(host)["matrix"]
    pressures, totals, neutrons, partials = [], [], [], []
    for factor in (1 + VOLUME_STEP, 1 - VOLUME_STEP):
        strained = _strained(host, factor, engine)
        pressures.append(_pressure(strained, engine.calculator))
        fc = compute_force_constants(
            strained, matrix, engine.calculator, s.displacement, True, s.symprec
        )
        dos = modes_from_force_constants(strained, fc, matrix, s.mesh_length).dos()
        totals.append(_binned(dos.frequencies, dos.total, scale))
        neutrons.append(
            _binned(dos.frequencies, neutron_weighted_dos(dos), scale) if dos.projected else None
        )
        partials.append(
            {el: _binned(dos.frequencies, d, scale) for el, d in (dos.projected or {}).items()}
        )
    d_ln_v = float(np.log((1 + VOLUME_STEP) / (1 - VOLUME_STEP)))
    return {
        "bulk_modulus": -(pressures[0] - pressures[1]) / d_ln_v,
        "dos_per_ln_volume": ((totals[0] - totals[1]) / d_ln_v).tolist(),
        "neutron_per_ln_volume": None
        if neutrons[0] is None
        else ((neutrons[0] - neutrons[1]) / d_ln_v).tolist(),
        "partial_per_ln_volume": {
            el: ((partials[0][el] - partials[1][el]) / d_ln_v).tolist() for el in partials[0]
        }
        or None,
    }


KINDS = ("pdos", "neutron", "partial:<element>")
"""Kinds of spectrum a library reads: the phonon DOS, the neutron-weighted DOS of inelastic
neutron scattering, and one host element's partial DOS (nuclear resonant scattering)."""


def _partial_element(kind: str) -> str | None:
    """Return the element of ``"partial:X"`` (``None`` for the other kinds)."""
    return kind.split(":", 1)[1] if kind.startswith("partial:") else None


def _dos_form(pdos: dict, kind: str) -> dict | None:
    """Return a stored DOS as the spectrum of ``kind`` (``None`` when it cannot be made)."""
    from defectnet_atomate.dataset import neutron_form

    if kind == "pdos":
        return pdos
    if kind == "neutron":
        values = neutron_form(pdos)
    else:
        values = (pdos.get("projected") or {}).get(_partial_element(kind))
    return None if values is None else {"frequencies": pdos["frequencies"], "total": values}


@dataclass
class _Problem:
    """What one fit reads: the observation, the signature columns and how to read them."""

    doped: Any
    columns: list[dict]
    references: dict
    resolution: Any
    kind: str
    lattice: str
    nuisance: Sequence[str]
    percents: Sequence[float] | None = None  # each column's concentration (series), at.%


@dataclass
class SignatureFit(MSONable):
    """An observed DOS change read as a non-negative combination of dopant signatures.

    Attributes
    ----------
    concentrations
        Candidate -> fitted concentration in at.% (its sites summed).
    present
        Candidates called present, most concentrated first: concentration from
        ``threshold`` and, with ``significance``, at least that many standard errors.
    threshold
        Concentration (at.%) from which a candidate is called present.
    site_concentrations
        ``"element:replaces:basis_index"`` -> at.% of each signature column.
    explained
        Share of the observed change the fit explains (``1 - |residual|^2 / |change|^2``);
        well below 1 when the change holds something the candidates do not (another dopant,
        a different potential, a measurement's background).
    uncertainties
        Candidate -> standard error of its concentration in at.%, from the (error-weighted)
        residual's size and the columns' overlap (least squares at the fitted point; the
        residual's bins are not independent, so read it as a scale of the misfit, not a
        calibrated interval).
    significance
        Standard errors a concentration needed to be called present (0: not used).
    scale
        Factor of the observed frequencies over the library's (1: as simulated; fitted with
        ``scale="fit"``).
    nuisance
        Fitted amplitude of each measurement term (``background:constant``,
        ``background:elastic``, ``background:area``, ``multiphonon``, ``resolution``,
        ``scale``), in units of the observed change.
    components
        The fit on the bins it used: ``frequencies`` (THz, on the spectrum's energy scale),
        ``observed`` (the change of the unit-area DOS, per unit frequency relative to the
        host's top frequency), ``dopants`` (element -> its part of the fit), ``measurement``
        (the measurement terms' part) and ``residual``; :meth:`plot` draws them.
    series
        Whether each candidate was read at its fitted concentration with the library's
        concentration series (``fit(series=True)``), and ``iterations``: the fits it took.
    """

    concentrations: dict[str, float]
    present: list[str]
    threshold: float
    site_concentrations: dict[str, float] = field(default_factory=dict)
    explained: float = 0.0
    uncertainties: dict[str, float] = field(default_factory=dict)
    significance: float = 0.0
    scale: float = 1.0
    nuisance: dict[str, float] = field(default_factory=dict)
    components: dict[str, Any] = field(default_factory=dict)
    series: bool = False
    iterations: int = 1

    def plot(self, ax: Axes | None = None) -> Axes:
        """Plot the observed change, the dopants' fit and each present dopant's part of it.

        Where measurement terms were fitted, their part is taken off the observed change
        (drawn is what the dopants had to explain) and drawn dashed.
        """
        import matplotlib.pyplot as plt

        if not self.components:
            raise ValueError("This fit has no components (a fit made before 0.25); refit it.")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        c = self.components
        f = np.asarray(c["frequencies"])
        measurement = np.asarray(c.get("measurement") or np.zeros(f.size))
        terms = bool(np.any(measurement != 0))
        observed = np.asarray(c["observed"]) - measurement
        ax.axhline(0, color="0.8", lw=0.8)
        label = "observed change" + (", measurement terms off" if terms else "")
        ax.plot(f, observed, color="k", lw=1.2, label=label)
        ax.plot(f, observed - np.asarray(c["residual"]), color="C3", lw=1, label="dopants' fit")
        for i, element in enumerate(self.present):
            label = f"{element} {self.concentrations[element]:.2f} at.%"
            ax.fill_between(f, c["dopants"][element], alpha=0.35, color=f"C{i}", label=label)
        if terms:
            ax.plot(f, measurement, color="0.6", lw=0.8, ls="--", label="measurement terms")
        ax.set_xlabel("frequency (THz)")
        ax.set_ylabel("change of the unit-area DOS")
        ax.set_title(f"share explained {self.explained:.2f}")
        ax.legend(fontsize=7)
        return ax

    def __str__(self) -> str:
        rule = f"from {self.threshold:g} at.%"
        if self.significance:
            rule += f" and {self.significance:g} standard errors"
        lines = [f"{'dopant':<8}{'at.%':>8}{'+-':>8}  present ({rule})"]
        for element, percent in sorted(self.concentrations.items(), key=lambda x: -x[1]):
            error = self.uncertainties.get(element)
            lines.append(
                f"{element:<8}{percent:>8.3f}{'' if error is None else f'{error:8.3f}'}"
                f"  {'yes' if element in self.present else 'no'}"
            )
        lines.append(f"share of the change explained by the fit: {self.explained:.3f}")
        if self.series:
            lines.append(f"read with the concentration series ({self.iterations} fits to settle)")
        if self.scale != 1.0:
            lines.append(f"energy scale of the spectrum over the library's: {self.scale:.4f}")
        return "\n".join(lines)


def default_engine() -> EmbeddingEngine:
    """Return the engine signatures are built with by default: SevenNet, 6 A patches.

    The setting validated against the direct engine on dilute cells
    (``benchmarks/engine_fidelity.py --force-field SevenNet --cutoff 6``).
    """
    from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings

    return EmbeddingEngine(force_field="SevenNet", settings=EmbeddingSettings(cutoff=6.0))


@dataclass
class SignatureLibrary(MSONable):
    """Per-at.% DOS signatures of candidate dopants in one host, from dopant patches.

    Attributes
    ----------
    host
        The host structure as the engine uses it (relaxed with ``force_field``).
    force_field
        Potential of the patches.
    cutoff
        Reach of the patches in Angstrom (``None``: the whole patch cell).
    scale
        The host's highest phonon frequency in THz (99.9 % area quantile of its pristine
        DOS): signatures live on the model's relative grid ``BIN_CENTRES * scale``.
    pristine
        The host's unit-area pristine DOS on that grid (per unit relative frequency).
    pristine_neutron
        The same for its neutron-weighted DOS (``None`` without projections).
    pristine_partial
        Host element -> the same for its partial DOS (``None`` without projections).
    bulk_modulus
        The host's bulk modulus with the potential, eV/A^3 (``None``: no lattice term).
    dos_per_ln_volume, neutron_per_ln_volume, partial_per_ln_volume
        Change of the host's unit-area DOS (neutron-weighted DOS, each host element's
        partial DOS) per unit ``ln V`` under isotropic strain.
    signatures
        One entry per (candidate, symmetry-distinct site): ``element``, ``replaces``,
        ``basis_index``, ``multiplicity`` (equivalent sites in the host cell), ``n_atoms`` of
        the cell it was computed in, ``imaginary_fraction`` of that cell, and
        ``per_percent``: the change of the unit-area DOS per at.% of the dopant, and
        ``per_percent_neutron``: that of the unit-area neutron-weighted DOS (inelastic
        neutron scattering; each element's partial DOS weighted by its bound scattering
        cross-section over its mass, :func:`~defectnet_atomate.measurement.neutron_weighted_dos`);
        ``per_percent_partial``: host element -> that of its unit-area partial DOS (nuclear
        resonant scattering of one isotope sees one element's partial DOS);
        ``ln_volume_per_percent``: the relative volume change per at.% of the dopant in a
        free crystal (Vegard's law), from the pressure the relaxed dopant leaves in the patch
        cell at the host lattice over the bulk modulus.

    A dopant changes a crystal's spectrum locally (its patch, at the host lattice) and
    globally: the crystal's lattice follows Vegard's law, and every host mode moves with
    it. ``fit(lattice="relaxed")`` (the default, a real sample) adds the second part to
    each signature, ``ln_volume_per_percent`` times ``dos_per_ln_volume``;
    ``lattice="fixed"`` leaves it out (supercells simulated at the host's lattice).
    """

    host: Structure
    force_field: str
    cutoff: float | None
    scale: float
    pristine: list[float]
    signatures: list[dict] = field(default_factory=list)
    pristine_neutron: list[float] | None = None
    bulk_modulus: float | None = None
    dos_per_ln_volume: list[float] | None = None
    neutron_per_ln_volume: list[float] | None = None
    pristine_partial: dict[str, list[float]] | None = None
    partial_per_ln_volume: dict[str, list[float]] | None = None

    @classmethod
    def from_host(
        cls,
        host: Structure,
        candidates: Iterable[str],
        engine: EmbeddingEngine | None = None,
        replaces: Mapping[str, Sequence[str]] | None = None,
        relax: bool = True,
    ) -> SignatureLibrary:
        """Compute the signatures of ``candidates`` in ``host`` (patches cached by ``engine``).

        The steps are :meth:`prepare` (the host), :meth:`sites` (what to compute) and
        :meth:`compute_signature` (one patch each);
        :class:`~defectnet_atomate.flows.SignatureLibraryMaker` runs the same steps as a
        jobflow flow, one job per patch.

        Parameters
        ----------
        host
            Host crystal (primitive or conventional cell).
        candidates
            Dopant elements.
        engine
            The embedding engine (its potential, patch cutoff and cache); default
            ``EmbeddingEngine(force_field="SevenNet", settings=EmbeddingSettings(cutoff=6.0))``,
            the setting validated against the direct engine on dilute cells.
        replaces
            Candidate -> host elements it may replace; default :func:`plausible_sites`.
        relax
            Relax the host (cell and positions) with the engine's potential first (as the
            engine's own runs do); ``False`` when ``host`` already is.
        """
        engine = engine or default_engine()
        candidates = list(candidates)
        patch_sites(host, candidates, replaces)  # refuse bad input before any calculation
        library = cls.prepare(host, engine=engine, relax=relax)
        sites = library.sites(candidates, replaces)
        for site in sites:
            library.signatures.append(library.compute_signature(engine, **site))
        return library

    def extend(
        self,
        candidates: Iterable[str],
        engine: EmbeddingEngine | None = None,
        replaces: Mapping[str, Sequence[str]] | None = None,
    ) -> SignatureLibrary:
        """Return the library with the signatures of more candidates added.

        Candidates it already has are skipped; the host step is not repeated. ``engine``
        must have the library's potential and patch cutoff (default: :func:`default_engine`,
        which a library built with the defaults has).
        """
        engine = engine or default_engine()
        new = [c for c in dict.fromkeys(candidates) if c not in self.elements]
        sites = patch_sites(self.host, new, replaces)
        signatures = [*self.signatures, *(self.compute_signature(engine, **s) for s in sites)]
        return replace(self, signatures=signatures)

    def with_series(
        self, engine: DirectEngine | None = None, multiples: Sequence[int] = (3, 2)
    ) -> SignatureLibrary:
        """Return the library with a concentration series of each signature.

        A dilute signature is the first order in the concentration; crowded dopants change
        the spectrum less per at.% (their local modes broaden into bands, the lattice
        strain saturates). For each signature, the dopant alone on its site in the
        ``k x k x k`` supercells of the host (``k`` in ``multiples``: one dopant in
        ``k**3`` host cells, e.g. 1.9 and 6.3 at.% for a two-atom cell) is simulated by the
        direct engine (cell and positions relaxed, every atom displaced, against the undoped
        cell at the same q-points), giving its change per at.% at that concentration with
        the lattice relaxed. ``fit(..., series=True)`` reads each candidate with its
        signature at its fitted concentration. Minutes per signature and cell.

        Parameters
        ----------
        engine
            The direct engine (default: ``DirectEngine`` with the library's potential and
            default settings); it must have the library's potential.
        multiples
            Supercell multiples of the host cell; a cell not smaller than the patch cell is
            skipped (the dilute signature stands for it), and so is a multiple the series
            already has (extending a library's series computes only the new cells).
        """
        from defectnet_atomate.phonons.direct import DirectEngine

        engine = engine or DirectEngine(force_field=self.force_field)
        signatures = []
        for signature in self.signatures:
            series = list(signature.get("series") or [])  # kept; only new cells computed
            done = {e["multiple"] for e in series}
            series += self.compute_series(
                engine,
                signature["element"],
                signature["basis_index"],
                [k for k in multiples if int(k) not in done],
                max_atoms=signature["n_atoms"] - 1,
            )
            series.sort(key=lambda e: e["percent"])
            signatures.append({**signature, "series": series})
        return replace(self, signatures=signatures)

    def compute_series(
        self,
        engine: DirectEngine,
        element: str,
        basis_index: int,
        multiples: Sequence[int],
        max_atoms: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return the series entries of one dopant and site (see :meth:`with_series`).

        One direct-engine cell per multiple ``k`` (``k x k x k`` host cells, at most
        ``max_atoms`` atoms): ``percent``, ``n_atoms``, ``multiple``, ``imaginary_fraction``
        and the change per at.% in every kind (``per_percent``, ``per_percent_neutron``,
        ``per_percent_partial``).
        """
        if engine.force_field != self.force_field:
            raise ValueError(
                f"The direct engine's potential ({engine.force_field}) is not the library's "
                f"({self.force_field})."
            )
        if not engine.settings.relax_cell:
            raise ValueError(
                "The series needs the doped cells' lattice relaxed (a real sample's); use "
                "DirectSettings(relax_cell=True)."
            )
        wanted = sorted({int(m) for m in multiples}, reverse=True)
        if wanted and min(wanted) < 1:
            raise ValueError(f"Give positive supercell multiples, not {list(multiples)}.")
        out = []
        for k in wanted:
            matrix = (np.eye(3, dtype=int) * k).tolist()
            doped = single_dopant_cell(self.host, matrix, basis_index, element)
            if max_atoms is not None and doped.num_sites > max_atoms:
                continue
            doc = engine.run_supercell(doped)
            out.append(
                {
                    "percent": doped.dopants[0].atomic_percent,
                    "n_atoms": doped.num_sites,
                    "multiple": k,
                    "imaginary_fraction": doc.imaginary_fraction,
                    **self._doc_changes(doc),
                }
            )
        return out

    def _doc_changes(self, doc: Any) -> dict[str, Any]:
        """Return a document's change per at.% in every kind the library reads."""
        return {
            "per_percent": self._doc_change(doc).tolist(),
            "per_percent_neutron": (
                self._doc_change(doc, "neutron").tolist()
                if self.pristine_neutron is not None
                else None
            ),
            "per_percent_partial": {
                el: self._doc_change(doc, f"partial:{el}").tolist()
                for el in self.pristine_partial or {}
            }
            or None,
        }

    @classmethod
    def prepare(
        cls, host: Structure, engine: EmbeddingEngine | None = None, relax: bool = True
    ) -> SignatureLibrary:
        """Return the host's library without signatures: its pristine DOS and lattice response.

        Relaxes the host with the engine's potential (``relax``), checks that it is a
        minimum of it (the host screen), and computes its pristine DOS (total, neutron-
        weighted, each element's partial) and its response to a volume change.
        """
        from defectnet_atomate.phonons.direct import relax_structure

        engine = engine or default_engine()
        if not engine.settings.patches:
            raise ValueError(
                "The engine has patches=False (the mass-defect level): signatures need the "
                "dopant patches; use EmbeddingSettings(patches=True)."
            )
        if relax:
            s = engine.settings
            host = relax_structure(host, engine.calculator, True, s.fmax, s.max_steps)[0]
        engine.check_host(host)
        pristine_dos = engine.pristine_modes(host).dos()
        pristine = Spectrum(pristine_dos.frequencies, pristine_dos.total, source="pristine")
        scale = host_scale(pristine)
        library = cls(
            host=host,
            force_field=engine.force_field,
            cutoff=engine.settings.cutoff,
            scale=scale,
            pristine=_binned(pristine.frequencies, pristine.densities, scale).tolist(),
        )
        if pristine_dos.projected:
            neutron = _binned(pristine_dos.frequencies, neutron_weighted_dos(pristine_dos), scale)
            library.pristine_neutron = neutron.tolist()
            library.pristine_partial = {
                el: _binned(pristine_dos.frequencies, d, scale).tolist()
                for el, d in pristine_dos.projected.items()
            }
        response = _volume_response(engine, host, scale)
        library.bulk_modulus = response["bulk_modulus"]
        library.dos_per_ln_volume = response["dos_per_ln_volume"]
        library.neutron_per_ln_volume = response["neutron_per_ln_volume"]
        library.partial_per_ln_volume = response["partial_per_ln_volume"]
        return library

    def sites(
        self, candidates: Iterable[str], replaces: Mapping[str, Sequence[str]] | None = None
    ) -> list[dict[str, Any]]:
        """Return the patches a library of ``candidates`` needs, one per dopant and site.

        Each is a dict of :meth:`compute_signature`'s arguments: ``element``, ``replaces``
        (the host element), ``basis_index`` (a symmetry-distinct site of it in the host
        cell) and ``multiplicity`` (its equivalent sites).
        """
        return patch_sites(self.host, candidates, replaces)

    def compute_signature(
        self,
        engine: EmbeddingEngine,
        element: str,
        replaces: str,
        basis_index: int,
        multiplicity: int,
    ) -> dict[str, Any]:
        """Return one signature: ``element`` on the host site ``basis_index`` (of ``replaces``).

        One dopant patch (cached by ``engine``), embedded alone in the patch cell, against
        the undoped cell at the same q-points; the entry's keys are described in the
        class's ``signatures``. The engine must be the one the library was prepared with
        (same potential and settings).
        """
        if engine.force_field != self.force_field or engine.settings.cutoff != self.cutoff:
            raise ValueError(
                f"The engine ({engine.force_field}, cutoff {engine.settings.cutoff}) is not the "
                f"one this library was prepared with ({self.force_field}, cutoff {self.cutoff})."
            )
        matrix = engine.host_data(self.host)["matrix"]
        host_pressure = _pressure(self.host.copy().make_supercell(matrix), engine.calculator)
        doped = single_dopant_cell(self.host, matrix, basis_index, element)
        if doped.dopants[0].replaces != replaces:
            raise ValueError(
                f"Site {basis_index} of the host holds {doped.dopants[0].replaces}, not {replaces}."
            )
        doc = engine.run_supercell(doped)
        relaxed = engine.force_constants(doped)[0]  # the patch's relaxation
        excess = _pressure(relaxed, engine.calculator) - host_pressure
        return {
            "element": element,
            "replaces": replaces,
            "basis_index": basis_index,
            "multiplicity": multiplicity,
            "n_atoms": doped.num_sites,
            "imaginary_fraction": doc.imaginary_fraction,
            **self._doc_changes(doc),
            "ln_volume_per_percent": excess / self.bulk_modulus * doped.num_sites / 100,
        }

    # ------------------------------------------------------------------ changes

    @property
    def frequencies(self) -> np.ndarray:
        """Centres of the relative grid's bins in THz."""
        return BIN_CENTRES * self.scale

    @property
    def elements(self) -> list[str]:
        """Candidates with at least one signature, in library order."""
        return list(dict.fromkeys(s["element"] for s in self.signatures))

    def _doc_change(self, doc: Any, kind: str = "pdos") -> np.ndarray:
        """Change per at.% of a single-dopant document (sampling-corrected, as training sees it)."""
        d = doc if isinstance(doc, dict) else doc.model_dump()
        percent = sum(x["atomic_percent"] for x in d["dopants"])
        return self.change(d, kind=kind) / percent

    def change(
        self,
        doped: Any,
        pristine: Any = None,
        cell_reference: Any = None,
        unit: str | None = None,
        resolution: Any = None,
        kind: str = "pdos",
    ) -> np.ndarray:
        """Return the observed change of the unit-area DOS on the library's grid.

        Parameters
        ----------
        doped
            A :class:`~defectnet_atomate.schemas.DefectPhononDoc` (or its dict; its own
            pristine reference and cell reference are used), or a spectrum (anything
            :func:`~defectnet_atomate.spectra.as_spectrum` reads, THz).
        pristine
            The pristine spectrum to subtract (default: the library's simulated one). Not
            with a document.
        cell_reference
            The undoped supercell with the doped cell's q-point sampling (a spectrum or a
            DOS with ``frequencies`` and ``total``): subtracted instead of ``pristine``,
            which removes the sampling difference of a simulated supercell.
        unit
            Frequency unit of array or table input (``"THz"``, ``"meV"``, ``"cm-1"``).
        resolution
            Instrument resolution of a measured spectrum, FWHM in meV (as in
            :func:`~defectnet_atomate.measurement.apply_resolution`): the library's own
            pristine DOS is broadened alike before it is subtracted (a ``pristine`` you pass
            is taken as measured on the same instrument and used as it is). A document is a
            simulation: its change is broadened, read as the instrument would show it (which
            also removes a supercell's fine structure from its few q-points).
        kind
            ``"pdos"`` (phonon DOS), ``"neutron"`` (neutron-weighted DOS, as inelastic
            neutron scattering measures) or ``"partial:Fe"`` (one host element's partial
            DOS, as nuclear resonant scattering of its isotope measures): a document is
            turned into that kind here; a spectrum must already be one, against a pristine
            reference of the same kind.
        """
        from defectnet_atomate.spectra import as_spectrum

        self._check_kind(kind)
        if isinstance(doped, dict) or hasattr(doped, "pristine_pdos"):
            if pristine is not None or cell_reference is not None:
                raise ValueError(
                    "A document carries its own references; pass pristine= or "
                    "cell_reference= only with a spectrum."
                )
            d = doped if isinstance(doped, dict) else doped.model_dump()
            dos, cell, ref = d["pdos"], d.get("cell_pristine_pdos"), d["pristine_pdos"]
            if kind != "pdos":
                dos, cell, ref = (_dos_form(x, kind) if x else None for x in (dos, cell, ref))
                if dos is None or ref is None or (d.get("cell_pristine_pdos") and cell is None):
                    raise ValueError(
                        f"The document cannot give its {kind!r} spectrum: it has no element "
                        "projections (with neutron cross-sections for 'neutron', with that "
                        "element for 'partial:X')."
                    )
            if cell:
                dos = sampling_corrected(dos, cell, ref)
            change = _binned(dos["frequencies"], dos["total"], self.scale) - _binned(
                ref["frequencies"], ref["total"], self.scale
            )
            return self._broadened(change, resolution)  # a simulation, read as if measured
        spectrum = as_spectrum(doped, unit)
        observed = _binned(spectrum.frequencies, spectrum.densities, self.scale)
        if cell_reference is not None:
            total = getattr(cell_reference, "total", None)
            if total is not None:
                ref = _binned(cell_reference.frequencies, total, self.scale)
            else:
                ref_spectrum = as_spectrum(cell_reference, unit)
                ref = _binned(ref_spectrum.frequencies, ref_spectrum.densities, self.scale)
        elif pristine is not None:
            ref_spectrum = as_spectrum(pristine, unit)
            ref = _binned(ref_spectrum.frequencies, ref_spectrum.densities, self.scale)
        else:
            ref = self._broadened(self._pristine_of(kind), resolution)
        return observed - ref

    def _pristine_of(self, kind: str) -> np.ndarray:
        """Return the library's unit-area pristine spectrum of ``kind`` on its grid."""
        if kind == "pdos":
            return np.asarray(self.pristine, float)
        if kind == "neutron":
            return np.asarray(self.pristine_neutron, float)
        return np.asarray(self.pristine_partial[_partial_element(kind)], float)

    @staticmethod
    def _signature_of(signature: dict, kind: str) -> list[float] | None:
        """Return one signature's change per at.% in the spectrum of ``kind``."""
        if kind == "pdos":
            return signature["per_percent"]
        if kind == "neutron":
            return signature.get("per_percent_neutron")
        return (signature.get("per_percent_partial") or {}).get(_partial_element(kind))

    def _volume_of(self, kind: str) -> list[float] | None:
        """Return the host's change per unit ``ln V`` in the spectrum of ``kind``."""
        if kind == "pdos":
            return self.dos_per_ln_volume
        if kind == "neutron":
            return self.neutron_per_ln_volume
        return (self.partial_per_ln_volume or {}).get(_partial_element(kind))

    def _column(
        self, signature: dict, kind: str, lattice: str, percent: float | None = None
    ) -> np.ndarray:
        """One signature as fitted: local change, plus the lattice's for ``"relaxed"``.

        With ``percent`` and a concentration series (:meth:`with_series`), the change per
        at.% at that concentration: interpolated linearly between the dilute signature (at
        the patch cell's concentration) and the series' cells, constant beyond them.
        """
        if percent is not None and signature.get("series"):
            points = [(100.0 / signature["n_atoms"], self._column(signature, kind, lattice))]
            points += [(e["percent"], self._series_column(e, kind)) for e in signature["series"]]
            points.sort(key=lambda p: p[0])
            x = [p[0] for p in points]
            k = int(np.searchsorted(x, percent))
            if k == 0:
                return points[0][1]
            if k == len(x):
                return points[-1][1]
            w = (percent - x[k - 1]) / (x[k] - x[k - 1])
            return (1 - w) * points[k - 1][1] + w * points[k][1]
        column = np.asarray(self._signature_of(signature, kind), float)
        if lattice == "fixed":
            return column
        derivative = self._volume_of(kind)
        if derivative is None or signature.get("ln_volume_per_percent") is None:
            raise ValueError(
                "This library has no lattice (Vegard) term; rebuild it with "
                "SignatureLibrary.from_host, or fit with lattice='fixed'."
            )
        return column + signature["ln_volume_per_percent"] * np.asarray(derivative, float)

    def _series_column(self, entry: dict, kind: str) -> np.ndarray:
        values = self._signature_of(entry, kind)
        if values is None:
            raise ValueError(f"This library's concentration series has no {kind!r} signatures.")
        return np.asarray(values, float)

    def _check_kind(self, kind: str) -> None:
        element = _partial_element(kind)
        if kind not in ("pdos", "neutron") and not element:
            raise ValueError(
                f"kind={kind!r} is not supported here; use 'pdos' (phonon DOS), 'neutron' "
                "(neutron-weighted DOS) or 'partial:Fe' (one host element's partial DOS)."
            )
        if element:
            hosts = sorted({site.specie.symbol for site in self.host})
            if element not in hosts:
                raise ValueError(
                    f"kind={kind!r}: {element} is not an element of the host {hosts}; a "
                    "partial DOS is read against the host element it belongs to (a dopant's "
                    "own partial DOS has no pristine reference)."
                )
        if kind == "pdos":
            return
        pristine = self.pristine_neutron if kind == "neutron" else self.pristine_partial
        if pristine is None or any(self._signature_of(s, kind) is None for s in self.signatures):
            what = "neutron-weighted" if kind == "neutron" else "partial-DOS"
            raise ValueError(
                f"This library has no {what} signatures (built without element projections, "
                f"or before 0.26 for partial DOS); rebuild it with SignatureLibrary.from_host."
            )

    def _broadened(self, values: np.ndarray, resolution: Any) -> np.ndarray:
        """``values`` on the library's grid seen with an instrument resolution (FWHM, meV)."""
        if resolution is None:
            return values
        from defectnet_atomate.measurement import apply_resolution

        return apply_resolution(self.frequencies, values, resolution, unit="meV")

    # ------------------------------------------------------------------ the fit

    def rescaled(self, factor: float) -> SignatureLibrary:
        """Return the library on an energy axis stretched by ``factor``.

        Signatures live on a grid relative to the host's top frequency, so a spectrometer
        whose energies are ``factor`` times the potential's (a miscalibrated axis, or a
        potential that softens the crystal by a few percent, as universal potentials do)
        is read with ``library.rescaled(factor)``; ``fit(scale="fit")`` finds the factor.
        """
        if not factor > 0:
            raise ValueError(f"The energy scale factor must be positive, not {factor!r}.")
        return replace(self, scale=self.scale * float(factor))

    def _nuisance_columns(
        self, names: Sequence[str], kind: str, resolution: Any, window: np.ndarray
    ) -> tuple[list[str], list[np.ndarray], list[float]]:
        """Columns of the measurement terms ``names``, their labels and lower bounds."""
        raw = self._pristine_of(kind)
        p = self._broadened(raw, resolution)
        x, dx = BIN_CENTRES, BIN_CENTRES[1] - BIN_CENTRES[0]
        labels, columns, lower = [], [], []
        for name in names:
            if name == "background":
                labels += ["background:constant", "background:elastic", "background:area"]
                columns += [window.astype(float), np.exp(-x / ELASTIC_WIDTH), p]
                lower += [-np.inf] * 3
            elif name == "multiphonon":
                # two-phonon spectrum: the DOS convolved with itself (bin i + bin j lies at
                # (i + j + 1) dx), unit area, seen with the same resolution
                two = np.convolve(raw, raw) * dx
                two = np.interp(x, (np.arange(two.size) + 1) * dx, two, right=0.0)
                two = self._broadened(two / max(two.sum() * dx, 1e-12), resolution)
                labels.append("multiphonon")
                columns.append(two - p)
                lower.append(0.0)
            elif name == "resolution":
                labels.append("resolution")
                columns.append(np.gradient(np.gradient(p, dx), dx) * dx**2)
                lower.append(-np.inf)
            elif name == "scale":
                labels.append("scale")
                columns.append(-np.gradient(x * p, dx))
                lower.append(-np.inf)
            else:
                raise ValueError(
                    f"Unknown measurement term {name!r}; use any of {list(NUISANCES)}."
                )
        return labels, columns, lower

    def _window(self, doped: Any, pristine: Any, unit: str | None) -> np.ndarray:
        """Bins inside the observed energy range (every bin for a document)."""
        from defectnet_atomate.spectra import as_spectrum

        window = np.ones(N_BINS, dtype=bool)
        if isinstance(doped, dict) or hasattr(doped, "pristine_pdos"):
            return window
        for observed in (doped, pristine):
            if observed is None:
                continue
            f = as_spectrum(observed, unit).frequencies
            window &= (self.frequencies >= f.min()) & (self.frequencies <= f.max())
        return window

    def _solve(self, problem: _Problem) -> dict:
        """One bounded least-squares fit at this library's scale."""
        from scipy.optimize import lsq_linear

        doped, columns, references = problem.doped, problem.columns, problem.references
        resolution, kind, lattice = problem.resolution, problem.kind, problem.lattice
        nuisance = problem.nuisance

        window = self._window(doped, references.get("pristine"), references.get("unit"))
        if window.sum() < 8:
            raise ValueError(
                "The spectrum covers fewer than 8 bins of the library's grid (up to "
                f"{self.frequencies[-1]:.3g} THz); check its frequency unit (unit=...)."
            )
        observed = self.change(doped, resolution=resolution, kind=kind, **references)
        percents = problem.percents or [None] * len(columns)
        raw = [self._column(c, kind, lattice, p) for c, p in zip(columns, percents, strict=True)]
        dopant = list(self._broadened(np.stack(raw), resolution)) if raw else []  # one kernel
        labels, extra, lower = self._nuisance_columns(nuisance, kind, resolution, window)
        target = observed[window]
        if not dopant + extra:  # nothing to fit: the change is all residual
            return {
                "coefficients": np.zeros(0),
                "matrix": np.zeros((target.size, 0)),
                "residual": target,
                "weights": np.ones(target.size),
                "window": window,
                "target": target,
                "labels": labels,
                "n_dopant": 0,
            }
        matrix = np.stack(dopant + extra, axis=1)[window]
        bounds = ([0.0] * len(dopant) + lower, [np.inf] * (len(dopant) + len(extra)))
        norms = np.linalg.norm(matrix, axis=0)
        norms[norms == 0] = 1.0
        weights = self._weights(doped, references, window)
        solution = lsq_linear(
            matrix / norms * weights[:, None], target * weights, bounds=bounds, method="bvls"
        )
        coefficients = solution.x / norms
        residual = target - matrix @ coefficients
        return {
            "coefficients": coefficients,
            "matrix": matrix,
            "residual": residual,
            "weights": weights,
            "window": window,
            "target": target,
            "labels": labels,
            "n_dopant": len(dopant),
        }

    def _binned_errors(self, spectrum: Spectrum) -> np.ndarray | None:
        """Return the standard error of each bin of a spectrum (``None`` without error bars).

        Propagated by seeded draws of the spectrum within its error bars, each binned and
        normalised as the spectrum is (the bins' sums and the unit-area scaling alike).
        """
        errors = spectrum.errors
        if errors is None or not np.any(errors > 0):
            return None
        rng = np.random.default_rng(0)
        noise = rng.standard_normal((ERROR_DRAWS, errors.size)) * errors
        draws = [_binned(spectrum.frequencies, spectrum.densities + n, self.scale) for n in noise]
        return np.std(draws, axis=0)

    def _weights(self, doped: Any, references: dict, window: np.ndarray) -> np.ndarray:
        """Least-squares weights of the window's bins: 1 / error where error bars are given.

        The errors of the spectrum and of a measured ``pristine`` add in quadrature; a bin
        without counts is floored at 5 % of the median error. Scaled to mean 1.
        """
        from defectnet_atomate.spectra import as_spectrum

        ones = np.ones(int(window.sum()))
        if isinstance(doped, dict) or hasattr(doped, "pristine_pdos"):
            return ones
        unit = references.get("unit")
        parts = [
            self._binned_errors(as_spectrum(x, unit))
            for x in (doped, references.get("pristine"))
            if x is not None
        ]
        parts = [x for x in parts if x is not None]
        if not parts:
            return ones
        sigma = np.sqrt(sum(x**2 for x in parts))[window]
        positive = sigma[sigma > 0]
        if positive.size == 0:
            return ones
        weights = 1.0 / np.maximum(sigma, 0.05 * np.median(positive))
        return weights / weights.mean()

    def _series_solve(self, problem: _Problem, out: dict) -> tuple[dict, int]:
        """Iterate the fit with each column's signature at its element's fitted at.%.

        Returns the last fit and the number of fits made (the linear one included).
        """
        columns = problem.columns
        fits = 1
        for _ in range(SERIES_ITERATIONS):
            coefficients = out["coefficients"][: len(columns)]
            totals: dict[str, float] = {}
            for c, s in zip(coefficients, columns, strict=True):
                totals[s["element"]] = totals.get(s["element"], 0.0) + float(c)
            percents = [totals[s["element"]] for s in columns]
            new = self._solve(replace(problem, percents=percents))
            fits += 1
            moved = np.abs(new["coefficients"][: len(columns)] - coefficients)
            out = new
            if moved.size == 0 or moved.max() < SERIES_TOLERANCE:
                break
        return out, fits

    def _fitted_scale(self, problem: _Problem, max_scale_error: float) -> float:
        """Energy scale that best aligns the library with the observation.

        With a measured pristine reference the scale is that of the pristine spectrum
        against the library's (dopants do not enter); otherwise that of the whole fit of
        the doped spectrum against the library's pristine DOS and signatures.
        """
        from scipy.optimize import minimize_scalar

        references = problem.references
        if references.get("pristine") is not None:  # the measured pristine spectrum alone
            unit = references.get("unit")
            problem = replace(
                problem, doped=references["pristine"], columns=[], references={"unit": unit}
            )

        def misfit(factor: float) -> float:
            out = self.rescaled(factor)._solve(problem)
            weighted = out["residual"] * out.get("weights", 1.0)
            return float(weighted @ weighted) * factor  # per unit frequency

        step = 0.0025
        grid = np.arange(1 - max_scale_error, 1 + max_scale_error + step / 2, step)
        values = [misfit(f) for f in grid]
        best = float(grid[int(np.argmin(values))])
        lo, hi = max(best - step, grid[0]), min(best + step, grid[-1])
        refined = minimize_scalar(misfit, bounds=(lo, hi), method="bounded")
        return float(refined.x) if refined.fun <= min(values) else best

    # ------------------------------------------------------------------ the fit

    def fit(
        self,
        doped: Any,
        candidates: Sequence[str] | None = None,
        pristine: Any = None,
        cell_reference: Any = None,
        threshold: float = DEFAULT_THRESHOLD,
        unit: str | None = None,
        resolution: Any = None,
        kind: str = "pdos",
        lattice: str = "relaxed",
        nuisance: Sequence[str] = (),
        scale: float | str = 1.0,
        max_scale_error: float = 0.1,
        significance: float = 0.0,
        series: bool = False,
    ) -> SignatureFit:
        """Read the change of ``doped`` as a non-negative sum of candidate signatures.

        Parameters
        ----------
        doped, pristine, cell_reference, unit, resolution, kind
            As in :meth:`change`; with ``resolution`` the signatures are broadened alike, and
            ``kind="neutron"`` fits with the neutron-weighted signatures, ``kind="partial:Fe"``
            with those of Fe's partial DOS (any host element). A spectrum is fitted
            over the energy range it covers (and ``pristine``'s); one with error bars
            (:attr:`~defectnet_atomate.spectra.Spectrum.errors`, a file's error column) by
            weighted least squares, each bin weighing one over its error (a measured
            ``pristine``'s errors added in quadrature).
        candidates
            Elements to fit with (default: every element of the library); each needs a
            signature here.
        threshold
            Concentration in at.% from which a candidate is called present.
        lattice
            ``"relaxed"`` (default): each signature includes the change its dopant makes
            through the crystal's lattice (Vegard's law), as in a real sample or a
            supercell whose cell was relaxed; ``"fixed"``: the local change alone, for
            supercells simulated at the host's lattice.
        nuisance
            Measurement terms fitted beside the dopants (what a measurement adds that no
            dopant explains; none by default, for simulated spectra): any of
            ``"background"`` (a constant, an elastic-line tail decaying from zero energy,
            and the pristine DOS itself for the area it takes; signed), ``"multiphonon"``
            (area moved into the two-phonon spectrum of the pristine DOS; non-negative),
            ``"resolution"`` (a width error: the pristine DOS's second derivative; signed),
            ``"scale"`` (a small energy-axis error, to first order; signed).
            :data:`MEASURED` holds the set for a measured spectrum read against the
            library's simulated pristine DOS.
        scale
            Factor of the observed energies over the library's (:meth:`rescaled`), or
            ``"fit"``: found within ``1 +- max_scale_error``, from the measured
            ``pristine`` where one is given, else from the whole fit of ``doped``.
        max_scale_error
            Bound of the fitted scale.
        significance
            Standard errors (:attr:`SignatureFit.uncertainties`) a concentration also needs
            to be called present (0: the threshold alone).
        series
            Read each candidate with its signature at its fitted concentration (the
            library's concentration series, :meth:`with_series`; the fit iterated until
            the concentrations settle): for samples of a few at.% and more, where the
            change is no longer linear in the concentration. Needs ``lattice="relaxed"``.

        Returns
        -------
        SignatureFit
        """
        wanted = self.elements if candidates is None else list(candidates)
        missing = [c for c in wanted if c not in self.elements]
        if missing:
            raise ValueError(
                f"No signature of {missing} in this library (it has {self.elements}); build "
                "one with SignatureLibrary.from_host(host, candidates=...) that includes them."
            )
        if not wanted:
            raise ValueError("No candidates to fit; give at least one element of the library.")
        if lattice not in ("relaxed", "fixed"):
            raise ValueError(f"lattice={lattice!r}; use 'relaxed' (a real sample) or 'fixed'.")
        nuisance = [nuisance] if isinstance(nuisance, str) else list(nuisance)
        unknown = [n for n in nuisance if n not in NUISANCES]
        if unknown:
            raise ValueError(
                f"Unknown measurement term(s) {unknown}; use any of {list(NUISANCES)}."
            )
        self._check_kind(kind)
        columns = [s for s in self.signatures if s["element"] in wanted]
        if series and lattice != "relaxed":
            raise ValueError("series=True reads relaxed samples; use lattice='relaxed'.")
        if series and not any(c.get("series") for c in columns):
            raise ValueError(
                "This library has no concentration series; add one with "
                "library.with_series() (the direct engine, minutes per signature)."
            )
        references = {"pristine": pristine, "cell_reference": cell_reference, "unit": unit}
        problem = _Problem(doped, columns, references, resolution, kind, lattice, nuisance)
        if isinstance(scale, str):
            if scale != "fit":
                raise ValueError(f"scale={scale!r}; give a factor (1.0: as simulated) or 'fit'.")
            if cell_reference is not None:
                raise ValueError(
                    "scale='fit' aligns a measured spectrum with the library; a spectrum "
                    "read against a simulated cell_reference is on the library's scale."
                )
            scale = self._fitted_scale(problem, max_scale_error)
        library = self if scale == 1.0 else self.rescaled(scale)
        out = library._solve(problem)
        iterations = 1
        if series:
            out, iterations = library._series_solve(problem, out)
        coefficients, matrix, residual = out["coefficients"], out["matrix"], out["residual"]
        rss, norm = float(residual @ residual), float(out["target"] @ out["target"])
        dof = max(matrix.shape[0] - matrix.shape[1], 1)
        weighted = matrix * out["weights"][:, None]
        chi2 = float(np.sum((residual * out["weights"]) ** 2))
        covariance = chi2 / dof * np.linalg.pinv(weighted.T @ weighted)
        concentrations = dict.fromkeys(wanted, 0.0)
        variances = dict.fromkeys(wanted, 0.0)
        sites = {}
        for k, s in enumerate(columns):
            concentrations[s["element"]] += float(coefficients[k])
            sites[f"{s['element']}:{s['replaces']}:{s['basis_index']}"] = float(coefficients[k])
        for el in wanted:
            idx = [k for k, s in enumerate(columns) if s["element"] == el]
            variances[el] = float(covariance[np.ix_(idx, idx)].sum())
        uncertainties = {el: float(np.sqrt(max(v, 0.0))) for el, v in variances.items()}
        present = sorted(
            (
                el
                for el, c in concentrations.items()
                if c >= threshold and c >= significance * uncertainties[el]
            ),
            key=lambda el: -concentrations[el],
        )
        n_dopant = out["n_dopant"]
        parts = matrix * coefficients[None, :]
        components = {
            "frequencies": library.frequencies[out["window"]].tolist(),
            "observed": out["target"].tolist(),
            "dopants": {
                el: parts[:, [k for k, s in enumerate(columns) if s["element"] == el]]
                .sum(axis=1)
                .tolist()
                for el in wanted
            },
            "measurement": parts[:, n_dopant:].sum(axis=1).tolist(),
            "residual": residual.tolist(),
        }
        return SignatureFit(
            components=components,
            concentrations=concentrations,
            present=present,
            threshold=threshold,
            site_concentrations=sites,
            explained=1.0 - rss / norm if norm > 0 else 0.0,
            uncertainties=uncertainties,
            significance=significance,
            scale=float(scale),
            nuisance={
                label: float(c)
                for label, c in zip(out["labels"], coefficients[out["n_dopant"] :], strict=True)
            },
            series=series,
            iterations=iterations,
        )
