"""Dopant recommendation and doped supercells.

One definition of concentration is used everywhere in the package: **atomic percent of all
atoms** of the (super)cell, ``100 * n_dopant / n_atoms``. The fraction of the replaced
sublattice is recorded beside it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
from monty.json import MSONable
from pymatgen.core import Element, Structure

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "MAX_ATOMIC_PERCENT",
    "MAX_DOPANT_SPECIES",
    "MIN_ATOMIC_PERCENT",
    "DopantSuggestion",
    "DopedSupercell",
    "Doping",
    "DopingError",
    "RealisedDoping",
    "make_doped_supercell",
    "parse_doping",
    "recommend_dopants",
]

MIN_ATOMIC_PERCENT = 0.2
"""Lowest supported dopant concentration, at.% of all atoms."""
MAX_ATOMIC_PERCENT = 25.0
"""Highest supported dopant concentration, at.% of all atoms."""
MAX_DOPANT_SPECIES = 6
"""Most dopant elements in one supercell."""


class DopingError(ValueError):
    """A doping request that cannot be met; the message says why and what to change."""


def _element_symbol(value: object, what: str) -> str:
    """Return a valid element symbol or raise a :class:`DopingError` naming ``what``."""
    if isinstance(value, Element):
        return value.symbol
    if not isinstance(value, str):
        raise DopingError(
            f"{what} must be an element symbol such as 'Ge', got {type(value).__name__} {value!r}."
        )
    symbol = re.sub(r"[\d.+-]+$", "", value.strip())  # accept 'Zn2+' -> 'Zn'
    try:
        return Element(symbol).symbol
    except ValueError:
        raise DopingError(
            f"{what} {value!r} is not a chemical element; use a symbol such as 'Ge' or 'Sn'."
        ) from None


@dataclass(frozen=True)
class Doping(MSONable):
    """A request to substitute one host species by a dopant element.

    Parameters
    ----------
    element
        Dopant element symbol, e.g. ``"Ge"``.
    replaces
        Host element whose sites the dopant occupies, e.g. ``"Si"``.
    atomic_percent
        Target concentration in at.% of all atoms of the supercell (0.2 to 25).
    """

    element: str
    replaces: str
    atomic_percent: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "element", _element_symbol(self.element, "Dopant element"))
        object.__setattr__(self, "replaces", _element_symbol(self.replaces, "Replaced species"))
        if isinstance(self.atomic_percent, bool) or not isinstance(
            self.atomic_percent, int | float | np.integer | np.floating
        ):
            raise DopingError(
                f"atomic_percent must be a number (at.% of all atoms), got "
                f"{type(self.atomic_percent).__name__} {self.atomic_percent!r}."
            )
        value = float(self.atomic_percent)
        if not math.isfinite(value) or not MIN_ATOMIC_PERCENT <= value <= MAX_ATOMIC_PERCENT:
            raise DopingError(
                f"{self.element} at {value} at.% is outside the supported range "
                f"{MIN_ATOMIC_PERCENT}-{MAX_ATOMIC_PERCENT} at.% of all atoms; "
                "give the concentration in atomic percent (5 means 5 at.%, not 0.05)."
            )
        object.__setattr__(self, "atomic_percent", value)
        if self.element == self.replaces:
            raise DopingError(f"Dopant {self.element} cannot replace itself; name another species.")

    def __str__(self) -> str:
        return f"{self.element}:{self.replaces}:{self.atomic_percent:g}"


def parse_doping(text: str | Doping | dict | Sequence) -> Doping:
    """Read a doping request from ``"Ge:Si:5"``, a dict, a tuple or a :class:`Doping`.

    Parameters
    ----------
    text
        ``"ELEMENT:REPLACED:AT_PERCENT"`` (e.g. ``"Ge:Si:5"`` for 5 at.% Ge on Si sites),
        ``{"element": "Ge", "replaces": "Si", "atomic_percent": 5}``,
        ``("Ge", "Si", 5)`` or a :class:`Doping`.

    Returns
    -------
    Doping
        The validated request.
    """
    if isinstance(text, Doping):
        return text
    if isinstance(text, dict):
        if "@class" in text:
            return Doping.from_dict(text)
        try:
            return Doping(text["element"], text["replaces"], text["atomic_percent"])
        except KeyError as exc:
            raise DopingError(
                f"A doping dict needs the keys 'element', 'replaces' and 'atomic_percent'; "
                f"{exc.args[0]!r} is missing."
            ) from None
    if isinstance(text, str):
        parts = text.split(":")
        if len(parts) != 3:
            raise DopingError(
                f"Cannot read doping {text!r}: write ELEMENT:REPLACED:AT_PERCENT, e.g. 'Ge:Si:5'."
            )
        try:
            value = float(parts[2].rstrip("%"))
        except ValueError:
            raise DopingError(
                f"Cannot read the concentration {parts[2]!r} in {text!r}; it must be a number "
                "in at.%, e.g. 'Ge:Si:5'."
            ) from None
        return Doping(parts[0], parts[1], value)
    if isinstance(text, list | tuple) and len(text) == 3:
        return Doping(*text)
    raise DopingError(
        f"Cannot read a doping request from {type(text).__name__} {text!r}; use 'Ge:Si:5', "
        "a dict or a Doping."
    )


@dataclass(frozen=True)
class RealisedDoping(MSONable):
    """A dopant as placed in a supercell.

    Attributes
    ----------
    element, replaces
        Dopant and replaced host element symbols.
    count
        Number of dopant atoms in the supercell.
    atomic_percent
        Realised concentration, at.% of all atoms.
    target_atomic_percent
        Requested concentration, at.% of all atoms.
    sublattice_fraction
        Fraction (0-1) of the replaced element's sites that the dopant occupies.
    """

    element: str
    replaces: str
    count: int
    atomic_percent: float
    target_atomic_percent: float
    sublattice_fraction: float


@dataclass
class DopedSupercell(MSONable):
    """A host supercell with substitutional dopants on random sites.

    Attributes
    ----------
    host
        The host cell the supercell was built from.
    supercell_matrix
        Integer matrix ``S`` with ``supercell.lattice = S @ host.lattice``.
    structure
        The doped (unrelaxed) supercell.
    dopants
        The realised dopants.
    dopant_sites
        Indices in ``structure`` of the dopant atoms, in the order of ``dopants``.
    seed
        Seed of the random site choice.
    rel_tolerance
        Accepted relative deviation of realised from requested concentrations.
    """

    host: Structure
    supercell_matrix: list[list[int]]
    structure: Structure
    dopants: list[RealisedDoping]
    dopant_sites: list[list[int]] = field(default_factory=list)
    seed: int = 0
    rel_tolerance: float = 0.1

    @property
    def num_sites(self) -> int:
        """Number of atoms in the supercell."""
        return len(self.structure)

    @property
    def pristine_supercell(self) -> Structure:
        """The undoped host in the same supercell."""
        return self.host.copy().make_supercell(self.supercell_matrix)


def _host_counts(host: Structure) -> dict[str, int]:
    counts: dict[str, int] = {}
    for site in host:
        symbol = site.specie.symbol
        counts[symbol] = counts.get(symbol, 0) + 1
    return counts


def _check_request(host: Structure, dopings: Sequence[Doping]) -> None:
    if not dopings:
        raise DopingError("No dopings given; pass at least one, e.g. ['Ge:Si:5'].")
    if len({d.element for d in dopings}) != len(dopings):
        raise DopingError(
            "The same dopant element appears twice; give each dopant element once "
            "(one replaced species per dopant)."
        )
    if len(dopings) > MAX_DOPANT_SPECIES:
        raise DopingError(
            f"{len(dopings)} dopant elements requested; at most {MAX_DOPANT_SPECIES} are supported."
        )
    counts = _host_counts(host)
    for d in dopings:
        if d.replaces not in counts:
            raise DopingError(
                f"{d.element} is to replace {d.replaces}, but the host "
                f"{host.composition.reduced_formula} has no {d.replaces}; choose one of "
                f"{sorted(counts)}."
            )
        if d.element in counts:
            raise DopingError(
                f"{d.element} is already a constituent of {host.composition.reduced_formula}; "
                "antisite defects are not substitutional dopants here."
            )
    n_host = len(host)
    for species in {d.replaces for d in dopings}:
        total = sum(d.atomic_percent for d in dopings if d.replaces == species)
        available = 100 * counts[species] / n_host
        if total >= available:
            raise DopingError(
                f"The dopants on {species} sites add up to {total:g} at.%, but {species} is only "
                f"{available:.3g} at.% of {host.composition.reduced_formula}; lower them so that "
                "some of it remains."
            )


def _counts_for(
    n_cells: int, host_counts: dict[str, int], n_host: int, dopings: Sequence[Doping], tol: float
) -> list[int] | None:
    n_atoms = n_cells * n_host
    counts = []
    for d in dopings:
        n = round(d.atomic_percent / 100 * n_atoms)
        if n < 1 or abs(100 * n / n_atoms - d.atomic_percent) > tol * d.atomic_percent:
            return None
        counts.append(n)
    for species in {d.replaces for d in dopings}:
        used = sum(n for n, d in zip(counts, dopings, strict=True) if d.replaces == species)
        if used > n_cells * host_counts[species]:
            return None
    return counts


@lru_cache(maxsize=8192)
def _near_cubic_supercell(
    lattice: tuple[float, ...], n_cells: int, search_range: int = 2
) -> tuple[np.ndarray, float]:
    """ASE's most cubic supercell of ``n_cells`` cells (cached).

    ASE screens integer matrices within ``search_range`` of the ideal one in every entry:
    2 (ASE's default) takes ~0.5 s, 1 about 100 times less with slightly less cubic cells
    (falling back to 2 where range 1 holds no matrix of that size).
    """
    from ase.build import find_optimal_cell_shape

    try:  # ase >= 3.25
        from ase.build.supercells import eval_length_deviation as deviation
    except ImportError:  # pragma: no cover - older ase
        from ase.build.supercells import get_deviation_from_optimal_cell_shape as deviation

    cell = np.reshape(lattice, (3, 3))
    try:
        found = find_optimal_cell_shape(
            cell, n_cells, "sc", lower_limit=-search_range, upper_limit=search_range
        )
    except ValueError:  # no matrix of that size within the range: ASE's default range
        found = find_optimal_cell_shape(cell, n_cells, "sc")
    matrix = np.asarray(found, dtype=int)
    if np.linalg.det(matrix) < 0:  # keep a right-handed lattice
        matrix = -matrix
    return matrix, float(deviation(matrix @ cell, "sc"))


def make_doped_supercell(
    host: Structure,
    dopings: Iterable[Doping | str | dict],
    *,
    seed: int = 0,
    rel_tolerance: float = 0.1,
    max_atoms: int = 600,
    supercell_matrix: Sequence[Sequence[int]] | None = None,
    max_shape_deviation: float = 0.5,
    search_range: int = 2,
    min_atoms: int = 0,
) -> DopedSupercell:
    """Build the smallest near-cubic supercell that realises every requested concentration.

    Parameters
    ----------
    host
        Host crystal (any cell; its primitive cell gives the smallest supercells).
    dopings
        One to six requests (:class:`Doping`, ``"Ge:Si:5"`` strings or dicts).
    seed
        Seed of the random choice of dopant sites.
    rel_tolerance
        Every realised concentration must lie within ``rel_tolerance`` (relative) of the
        requested one: 0.1 accepts 4.5-5.5 at.% for a 5 at.% request.
    max_atoms
        Largest supercell considered.
    supercell_matrix
        Use this supercell instead of searching one; the request is refused if it cannot
        be realised there.
    max_shape_deviation
        Largest accepted deviation from a cube (ASE's
        ``get_deviation_from_optimal_cell_shape``; 0 is a cube).
    search_range
        Half-width of ASE's search around the ideal supercell matrix: 2 (ASE's default,
        ~0.5 s per new size) or 1 (about 100 times faster, slightly less cubic cells; for
        sampling thousands of requests).
    min_atoms
        Smallest supercell considered (e.g. one that holds the embedding engine's patches;
        a larger cell realises the same concentrations with more dopant atoms).

    Returns
    -------
    DopedSupercell
        The doped supercell with realised concentrations.

    Raises
    ------
    DopingError
        If the request cannot be realised (the message says what to change).
    """
    if not isinstance(host, Structure):
        raise DopingError(
            f"host must be a pymatgen Structure, got {type(host).__name__}; read a file with "
            "Structure.from_file(path)."
        )
    if isinstance(dopings, str | Doping | dict):
        dopings = [dopings]
    dopings = [parse_doping(d) for d in dopings]
    _check_request(host, dopings)
    host_counts = _host_counts(host)
    n_host = len(host)

    if supercell_matrix is not None:
        matrix = np.asarray(supercell_matrix, dtype=int)
        n_cells = round(abs(np.linalg.det(matrix)))
        counts = _counts_for(n_cells, host_counts, n_host, dopings, rel_tolerance)
        if counts is None:
            raise DopingError(
                f"The requested concentrations ({', '.join(map(str, dopings))}) cannot be "
                f"realised within {100 * rel_tolerance:g} % in a {n_cells * n_host}-atom "
                f"supercell (one atom is {100 / (n_cells * n_host):.3g} at.%); use a larger "
                "supercell or leave supercell_matrix=None to choose one."
            )
    else:
        matrix = None
        for n_cells in range(max(1, math.ceil(min_atoms / n_host)), max_atoms // n_host + 1):
            counts = _counts_for(n_cells, host_counts, n_host, dopings, rel_tolerance)
            if counts is None:
                continue
            lattice = tuple(np.round(host.lattice.matrix, 4).ravel())
            candidate, deviation = _near_cubic_supercell(lattice, n_cells, search_range)
            if deviation <= max_shape_deviation:
                matrix = candidate
                break
        if matrix is None:
            lowest = min(d.atomic_percent for d in dopings)
            raise DopingError(
                f"No near-cubic supercell of {f'{min_atoms} to ' if min_atoms else 'at most '}"
                f"{max_atoms} atoms realises "
                f"{', '.join(map(str, dopings))} within {100 * rel_tolerance:g} % "
                f"(the lowest, {lowest:g} at.%, needs about {math.ceil(100 / lowest)} atoms); "
                "raise max_atoms or rel_tolerance."
            )

    structure = host.copy()
    structure.remove_oxidation_states()
    structure.make_supercell(matrix)
    n_atoms = len(structure)
    rng = np.random.default_rng(seed)
    by_species: dict[str, list[int]] = {}
    for species in dict.fromkeys(d.replaces for d in dopings):
        sites = [i for i, site in enumerate(structure) if site.specie.symbol == species]
        by_species[species] = [int(i) for i in rng.permutation(sites)]
    realised, dopant_sites = [], []
    for d, n in zip(dopings, counts, strict=True):
        chosen = sorted(by_species[d.replaces][:n])
        by_species[d.replaces] = by_species[d.replaces][n:]
        for i in chosen:
            structure.replace(i, d.element)
        dopant_sites.append(chosen)
        n_sublattice = round(abs(np.linalg.det(matrix))) * host_counts[d.replaces]
        realised.append(
            RealisedDoping(
                element=d.element,
                replaces=d.replaces,
                count=n,
                atomic_percent=100 * n / n_atoms,
                target_atomic_percent=d.atomic_percent,
                sublattice_fraction=n / n_sublattice,
            )
        )
    return DopedSupercell(
        host=host,
        supercell_matrix=matrix.tolist(),
        structure=structure,
        dopants=realised,
        dopant_sites=dopant_sites,
        seed=seed,
        rel_tolerance=rel_tolerance,
    )


# --------------------------------------------------------------------------- recommender


@dataclass(frozen=True)
class DopantSuggestion(MSONable):
    """A suggested substitutional dopant.

    Attributes
    ----------
    element
        Dopant element symbol.
    replaces
        Host element it substitutes.
    probability
        Substitution probability from pymatgen's data-mined model, or ``None`` when the
        suggestion comes from a fallback.
    kind
        ``"n_type"``, ``"p_type"`` or ``"isovalent"``.
    method
        ``"substitution_probability"``, ``"shannon_radii"`` or ``"periodic_table"``.
    """

    element: str
    replaces: str
    probability: float | None
    kind: Literal["n_type", "p_type", "isovalent"]
    method: str

    def to_doping(self, atomic_percent: float) -> Doping:
        """Return the doping request for this suggestion at ``atomic_percent`` at.%."""
        return Doping(self.element, self.replaces, atomic_percent)


def _from_pymatgen(
    raw: dict[str, list[dict]], method: str, key: str | None
) -> list[DopantSuggestion]:
    out = []
    for kind in ("n_type", "p_type"):
        for entry in raw.get(kind, []):
            out.append(
                DopantSuggestion(
                    element=entry["dopant_species"].symbol,
                    replaces=entry["original_species"].symbol,
                    probability=float(entry[key]) if key else None,
                    kind=kind,
                    method=method,
                )
            )
    return out


def _periodic_table_neighbours(structure: Structure) -> list[DopantSuggestion]:
    """Main-group neighbours (same group, one group to either side) of each host element."""
    out = []
    host_elements = {el.symbol for el in structure.composition.elements}
    for host_el in structure.composition.elements:
        if not (host_el.is_metalloid or host_el.block == "p" or host_el.block == "s"):
            continue
        radius = host_el.atomic_radius or 1.0
        candidates = []
        for z in range(1, 84):
            el = Element.from_Z(z)
            if el.symbol in host_elements or el.is_noble_gas or el.block not in ("s", "p"):
                continue
            if abs(el.row - host_el.row) > 2 or abs(el.group - host_el.group) > 1:
                continue
            kind = {0: "isovalent", 1: "n_type", -1: "p_type"}[el.group - host_el.group]
            distance = abs((el.atomic_radius or radius) - radius)
            candidates.append((distance, el.symbol, kind))
        for _, symbol, kind in sorted(candidates):
            out.append(DopantSuggestion(symbol, host_el.symbol, None, kind, "periodic_table"))
    return out


def recommend_dopants(
    structure: Structure,
    num_dopants: int = 5,
    threshold: float = 1e-3,
    elements: Iterable[str] | None = None,
    match_oxi_sign: bool = True,
) -> list[DopantSuggestion]:
    """Suggest likely substitutional dopants of a host, each tied to the species it replaces.

    Uses pymatgen's :mod:`~pymatgen.analysis.structure_prediction.dopant_predictor`:
    substitution probabilities mined from known crystals, then Shannon radii when the
    probability model does not know the host's species, then (for hosts without
    assignable oxidation states, such as Si or Ge) main-group neighbours in the periodic
    table ranked by atomic radius.

    Parameters
    ----------
    structure
        Host crystal.
    num_dopants
        Largest number of suggestions of each kind (n-type, p-type; isovalent for the
        periodic-table fallback).
    threshold
        Smallest substitution probability kept (probability model only).
    elements
        Only suggest these elements (e.g. those a trained model knows).
    match_oxi_sign
        Only suggest dopants whose oxidation state has the sign of the replaced species
        (no anions on cation sites).

    Returns
    -------
    list of DopantSuggestion
        Most likely first within each method; one entry per (element, replaced species).
    """
    from pymatgen.analysis.structure_prediction import dopant_predictor as dp

    if not isinstance(structure, Structure):
        raise DopingError(
            f"structure must be a pymatgen Structure, got {type(structure).__name__}."
        )
    allowed = None if elements is None else {_element_symbol(e, "Element") for e in elements}
    request = 100 if allowed else num_dopants  # filter first, then keep num_dopants
    suggestions: list[DopantSuggestion] = []
    decorated = structure.copy()
    try:
        decorated.add_oxidation_state_by_guess()
        oxidised = all(getattr(sp, "oxi_state", 0) for sp in decorated.composition)
    except (ValueError, TypeError):
        oxidised = False
    if oxidised:
        try:
            raw = dp.get_dopants_from_substitution_probabilities(
                decorated, num_dopants=request, threshold=threshold, match_oxi_sign=match_oxi_sign
            )
            suggestions = _from_pymatgen(raw, "substitution_probability", "probability")
        except ValueError:
            suggestions = []
        if not suggestions:
            try:
                from pymatgen.analysis.local_env import CrystalNN

                bonded = CrystalNN().get_bonded_structure(decorated)
                raw = dp.get_dopants_from_shannon_radii(
                    bonded, num_dopants=request, match_oxi_sign=match_oxi_sign
                )
                suggestions = _from_pymatgen(raw, "shannon_radii", None)
            except (ValueError, KeyError, TypeError):
                suggestions = []
    if not suggestions:
        suggestions = _periodic_table_neighbours(structure)

    host_elements = {el.symbol for el in structure.composition.elements}
    seen: set[tuple[str, str]] = set()
    per_kind: dict[str, int] = {}
    out = []
    for s in suggestions:
        key = (s.element, s.replaces)
        if key in seen or s.element in host_elements:
            continue
        if allowed is not None and s.element not in allowed:
            continue
        if per_kind.get(s.kind, 0) >= num_dopants:
            continue
        seen.add(key)
        per_kind[s.kind] = per_kind.get(s.kind, 0) + 1
        out.append(s)
    return out
