"""Sampling doping requests over a host library, for training sets.

The rules (fixed by ``seed``, so a campaign can be rerun exactly):

- candidate dopants of a host: pymatgen's recommender (substitution probabilities,
  Shannon radii or periodic-table neighbours, see
  :func:`~defectnet_atomate.doping.recommend_dopants`) plus main-group periodic-table
  neighbours of its elements, so that the model does not merely learn the recommender;
- 1 to ``max_species`` dopant elements per supercell, uniformly;
- each concentration log-uniform in ``[min_percent, max_percent]`` at.% of all atoms,
  redrawn until the dopants of a sublattice fit in at most ``max_sublattice_fraction`` of it
  and the request fits in ``max_atoms``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from monty.json import MSONable
from pymatgen.core import Element

from defectnet_atomate.batch import DopingTask
from defectnet_atomate.doping import (
    Doping,
    DopingError,
    _periodic_table_neighbours,
    make_doped_supercell,
    recommend_dopants,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from jobflow import Flow

    from defectnet_atomate.batch import BatchSummary
    from defectnet_atomate.hosts import HostEntry
    from defectnet_atomate.phonons.embedding import EmbeddingSettings

logger = logging.getLogger(__name__)

__all__ = [
    "Campaign",
    "candidate_dopants",
    "compact",
    "dataset_ids",
    "datasheet",
    "export_dataset",
    "export_store",
    "load_dataset",
    "neutron_form",
    "sample_tasks",
]

MAX_DOPANT_Z = 94
"""Heaviest dopant a campaign requests (Pu): the elements of CHGNet and of the model
(``defectnet_atomate.ml.elements.MAX_Z``, not imported here: simulation does not load torch)."""


def candidate_dopants(entry: HostEntry, num_dopants: int = 5) -> list[tuple[str, str]]:
    """(dopant, replaced species) pairs for a host: recommender plus periodic-table neighbours."""
    pairs = [(s.element, s.replaces) for s in recommend_dopants(entry.structure, num_dopants)]
    pairs += [(s.element, s.replaces) for s in _periodic_table_neighbours(entry.structure)]
    return list(dict.fromkeys(pairs))


def sample_tasks(
    hosts: Iterable[HostEntry],
    per_host: int = 4,
    seed: int = 0,
    max_species: int = 6,
    min_percent: float = 2.0,
    max_percent: float = 25.0,
    max_atoms: int = 96,
    max_sublattice_fraction: float = 0.5,
    tries: int = 20,
    search_range: int = 2,
    pool_size: int | None = None,
) -> Iterator[DopingTask]:
    """Yield reproducible random doping requests for each host.

    Parameters
    ----------
    hosts
        Host library entries.
    per_host
        Requests per host.
    seed
        Seed of the whole campaign (each host and request derive their own).
    max_species
        Most dopant elements per supercell.
    min_percent, max_percent
        Range of the log-uniform concentration draw, at.% of all atoms.
    max_atoms
        Largest supercell; requests that need more are redrawn.
    max_sublattice_fraction
        Largest fraction of a sublattice that dopants may occupy.
    tries
        Redraws per request before giving up on it.
    search_range
        Passed to :func:`~defectnet_atomate.doping.make_doped_supercell` (1: fast shape
        search, for large cells).
    pool_size
        Draw each host's requests from only this many of its candidate (dopant, site)
        pairs (a seeded subset; ``None``: all of them). For the embedding engine, whose
        cost is one patch per (dopant, site): a host's requests then share a small patch
        library, amortised over all of them.
    """
    for h, entry in enumerate(hosts):
        rng = np.random.default_rng([seed, h])
        try:
            pool = candidate_dopants(entry)
        except (ValueError, KeyError, TypeError):
            continue
        if not pool:
            continue
        if pool_size is not None and len(pool) > pool_size:
            subset = np.random.default_rng([seed, h, 1]).choice(len(pool), pool_size, replace=False)
            pool = [pool[i] for i in sorted(subset)]
        counts = entry.structure.composition.get_el_amt_dict()
        n_host = len(entry.structure)
        for r in range(per_host):
            for _ in range(tries):
                k = int(rng.integers(1, min(max_species, len(pool)) + 1))
                chosen = [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]
                if len({el for el, _ in chosen}) < k:
                    continue
                log_c = rng.uniform(math.log(min_percent), math.log(max_percent), size=k)
                dopings = [
                    Doping(el, rep, float(np.round(np.exp(c), 3)))
                    for (el, rep), c in zip(chosen, log_c, strict=True)
                ]
                fits = all(
                    sum(d.atomic_percent for d in dopings if d.replaces == sp)
                    <= max_sublattice_fraction * 100 * counts[sp] / n_host
                    for sp in {d.replaces for d in dopings}
                )
                if not fits:
                    continue
                try:
                    make_doped_supercell(
                        entry.structure, dopings, max_atoms=max_atoms, search_range=search_range
                    )
                except DopingError:
                    continue
                yield DopingTask(entry.structure, dopings, seed=1000 * h + r, host_id=entry.host_id)
                break


def compact(doc: dict) -> dict:
    """Keep what the model needs of a document (spectra to 4 significant digits).

    The host's pristine spectrum keeps its element-projected DOS; the doped spectrum and
    its cell reference keep their neutron-weighted DOS (``neutron``, 3 significant digits,
    :func:`neutron_form`), for training on neutron measurements, and, for the direct
    engine's spectra (few, and the only ones whose projections the dopants' bonding
    shapes), their element-projected DOS too: the partial DOS that nuclear resonant
    scattering measures. Mass-defect spectra keep no projections (four times the size).
    """

    def spectrum(p: dict, projected: bool = False, neutron: bool = False) -> dict:
        out = {
            "frequencies": [round(x, 3) for x in p["frequencies"]],
            "total": [float(f"{x:.4g}") for x in p["total"]],
        }
        if projected and p.get("projected"):
            out["projected"] = {el: _round(v) for el, v in p["projected"].items()}
        weighted = neutron_form(p) if neutron else None
        if weighted is not None:
            out["neutron"] = _round(weighted, 3)
        return out

    host = doc["host"]
    direct = doc["settings"]["engine"] == "direct"
    return {
        "config_id": doc["config_id"],
        "host": {
            k: host[k] for k in ("host_id", "formula", "structure", "elements", "composition")
        },
        "num_sites": doc["num_sites"],
        "dopants": doc["dopants"],
        "dopant_elements": doc["dopant_elements"],
        "n_dopants": doc["n_dopants"],
        "settings": {
            "engine": doc["settings"]["engine"],
            # an embedding spectrum's approximations name its patches' reach (few, short)
            **(
                {"approximations": list(doc["settings"].get("approximations") or [])}
                if doc["settings"]["engine"] == "embedding"
                else {}
            ),
        },
        "calculator": doc["calculator"],
        "imaginary_fraction": doc["imaginary_fraction"],
        "min_frequency": doc["min_frequency"],
        **({"relaxation": _relaxation(doc["relaxation"])} if doc.get("relaxation") else {}),
        "pdos": spectrum(doc["pdos"], projected=direct, neutron=True),
        "pristine_pdos": spectrum(doc["pristine_pdos"], projected=True),
        **(
            {
                "cell_pristine_pdos": spectrum(
                    doc["cell_pristine_pdos"], projected=direct, neutron=True
                )
            }
            if doc.get("cell_pristine_pdos")
            else {}
        ),
    }


def _relaxation(info: dict) -> dict:
    """Return how the doped cell relaxed, as an export keeps it.

    Steps, whether it converged, the residual force, and the residual force every 10 steps
    where the document has it (since 0.29).
    """
    out = {k: info.get(k) for k in ("n_steps", "converged")}
    if info.get("max_force") is not None:
        out["max_force"] = float(f"{info['max_force']:.3g}")
    if info.get("fmax_history"):
        out["fmax_history"] = [float(f"{f:.3g}") for f in info["fmax_history"]]
    return out


def neutron_form(pdos: dict) -> list[float] | None:
    """Neutron-weighted DOS of a stored DOS (kept, or made from its projections).

    ``None`` when it has neither, or when an element has no neutron cross-section in
    ``periodictable`` (e.g. Fr, At): such spectra are not trained on as neutron ones.
    """
    from defectnet_atomate.measurement import neutron_weighted_dos

    if pdos.get("neutron"):
        return list(pdos["neutron"])
    if not pdos.get("projected"):
        return None
    try:
        return neutron_weighted_dos(pdos).tolist()
    except ValueError:
        return None


EXPORT_FORMAT = "defectnet-atomate/compact-v7"
"""Format of :func:`export_dataset` files (v3 adds each spectrum's cell reference, v4 the
element-projected DOS of each host's pristine spectrum, v5 the neutron-weighted DOS of
doped spectra and cell references, v6 the element-projected DOS of direct-engine doped
spectra and their cell references, v7 how each relaxed doped cell relaxed: steps, whether
it converged, its largest residual force)."""
_READABLE_FORMATS = (
    "defectnet-atomate/compact-v2",
    "defectnet-atomate/compact-v3",
    "defectnet-atomate/compact-v4",
    "defectnet-atomate/compact-v5",
    "defectnet-atomate/compact-v6",
    EXPORT_FORMAT,
)


def _pack(pdos: dict) -> dict:
    f = np.asarray(pdos["frequencies"], float)
    step = float(np.median(np.diff(f))) if f.size > 1 else 0.0
    projected = (
        {"projected": {el: _round(v) for el, v in pdos["projected"].items()}}
        if pdos.get("projected")
        else {}
    )
    if f.size > 1 and not np.allclose(np.diff(f), step, rtol=0, atol=1e-4):
        grid = {"frequencies": [round(x, 4) for x in f.tolist()]}
    else:
        grid = {"f0": round(float(f[0]), 6), "step": round(step, 6)}
    neutron = {"neutron": _round(pdos["neutron"], 3)} if pdos.get("neutron") else {}
    return {**grid, "total": _round(pdos["total"]), **projected, **neutron}


def _unpack(packed: dict) -> dict:
    if "frequencies" in packed:
        out = {"frequencies": packed["frequencies"], "total": packed["total"]}
    else:
        n = len(packed["total"])
        grid = packed["f0"] + packed["step"] * np.arange(n)
        out = {"frequencies": np.round(grid, 6).tolist(), "total": packed["total"]}
    for key in ("projected", "neutron"):
        if packed.get(key):
            out[key] = packed[key]
    return out


def _round(values: Iterable[float], digits: int = 4) -> list[float]:
    return [float(f"{x:.{digits}g}") for x in values]


REFUSALS = ("UnstableHostError", "UnrelaxedCellError")
"""Failures a dataset export keeps (``"refused"``): a host refused by the engine's screen, or
a doped cell left unrelaxed at the step limit (since 0.28), is refused again on any machine
(same potential, same request), so a campaign resumed from the export skips those requests
(``dataset_ids``); other failures may be transient and are retried."""


def export_dataset(
    docs: Iterable[dict],
    out: str | Path,
    exclude: Sequence[str | Path] = (),
    refused: Iterable[Mapping[str, Any]] = (),
) -> dict:
    """Write documents as a compact dataset file (``.json.gz``) plus its datasheet (``.md``).

    Each host's pristine spectrum is stored once per engine, spectra keep their total DOS
    on their uniform grid (start, step) to 4 significant digits, and each document keeps
    what the model needs (:func:`compact`). :func:`load_dataset` reads it back.

    A request simulated twice under different ids (the same host, engine, supercell size,
    dopants and spectrum: request ids changed with the engine settings in 0.3, and
    campaigns resumed after that recomputed earlier requests) is kept once.

    ``exclude`` names dataset files already written (committed parts of the same
    dataset): documents they hold, by id or as the same simulation, are left out, so a
    growing dataset is committed as new parts beside the old ones, never rewritten.

    ``refused``: failed-request records (``config_id``, ``error``; the store's
    ``failed_requests``) of which those of :data:`REFUSALS` not in an excluded part are
    kept in the file, with the first line of their error, so that a campaign resumed from
    the file on another machine does not screen those hosts again.

    Returns
    -------
    dict
        ``{"spectra": n, "duplicates": n_left_out, "excluded": n_in_earlier_parts,
        "refused": n_refusals_kept, "file": path, "bytes": size}``.
    """
    from pathlib import Path

    from monty.serialization import dumpfn

    every = sorted((compact(d) for d in docs), key=lambda d: d["config_id"])
    earlier_ids: set[str] = set()
    seen: set[str] = set()
    for path in exclude:
        for d in load_dataset(path):
            earlier_ids.add(d["config_id"])
            seen.add(_request_key(d))
    n_all = len(every)
    every = [d for d in every if d["config_id"] not in earlier_ids]
    n_new_ids = len(every)
    every = [d for d in every if _request_key(d) not in seen]
    excluded = n_all - len(every)
    if n_new_ids > len(every):
        logger.info(
            "%d documents are earlier parts' simulations under other ids.", n_new_ids - len(every)
        )
    if not every:
        raise ValueError(
            "Every document is already in the dataset files given to exclude; nothing to "
            "write (run the campaign further first)."
        )
    small = []
    for d in every:
        key = _request_key(d)
        if key not in seen:
            seen.add(key)
            small.append(d)
    if len(small) < len(every):
        logger.warning(
            "%d documents repeat a request already exported under another id; kept once.",
            len(every) - len(small),
        )
    hosts: dict[str, dict] = {}
    spectra = []
    for d in small:
        key = f"{d['host']['host_id'] or d['host']['formula']}|{d['settings']['engine']}"
        hosts.setdefault(key, {"host": d["host"], "pristine_pdos": _pack(d["pristine_pdos"])})
        entry = {
            k: v
            for k, v in d.items()
            if k not in ("host", "pristine_pdos", "pdos", "cell_pristine_pdos")
        }
        entry["pdos"] = _pack(d["pdos"])
        if d.get("cell_pristine_pdos"):
            entry["cell_pristine_pdos"] = _pack(d["cell_pristine_pdos"])
        spectra.append({**entry, "host_key": key})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    earlier = dataset_ids(exclude) if exclude else set()
    kept_refused = {
        r["config_id"]: {"config_id": r["config_id"], "error": str(r["error"]).splitlines()[0]}
        for r in refused
        if str(r.get("error", "")).startswith(REFUSALS) and r["config_id"] not in earlier
    }
    content: dict[str, Any] = {"format": EXPORT_FORMAT, "hosts": hosts, "spectra": spectra}
    if kept_refused:
        content["refused"] = [kept_refused[k] for k in sorted(kept_refused)]
    dumpfn(content, out)
    sheet = datasheet(small, out)
    unrelaxed = sum("UnrelaxedCellError" in r["error"] for r in kept_refused.values())
    if kept_refused:
        sheet = sheet.rstrip("\n") + (
            f"\n\nThe file also records {len(kept_refused)} requests refused by the host "
            "screen (`refused`: the host is not a minimum of the potential) or, since 0.28, "
            "because the doped cell was still above the residual force trained on at the step "
            f"limit ({unrelaxed} of them), which a campaign resumed from it skips "
            "(`--skip-dataset`).\n"
        )
    out.with_name(out.name.replace(".json.gz", ".md")).write_text(sheet)
    return {
        "spectra": len(small),
        "duplicates": len(every) - len(small),
        "excluded": excluded,
        "refused": len(kept_refused),
        "file": str(out),
        "bytes": out.stat().st_size,
    }


def _request_key(doc: dict) -> str:
    """Return what makes two documents the same simulation, whatever their ids."""
    payload = {
        "host": doc["host"].get("host_id") or doc["host"]["formula"],
        "engine": doc["settings"]["engine"],
        "num_sites": doc["num_sites"],
        "dopants": sorted(
            (x["element"], x.get("replaces"), x.get("count"), x["atomic_percent"])
            for x in doc["dopants"]
        ),
        "pdos": doc["pdos"].get("total"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


EXPORT_PROPERTIES = [
    "config_id",
    "host",
    "num_sites",
    "dopants",
    "dopant_elements",
    "n_dopants",
    "settings.engine",
    "calculator",
    "imaginary_fraction",
    "min_frequency",
    "relaxation",
    "pdos.frequencies",
    "pdos.total",
    "pdos.projected",
    "pristine_pdos.frequencies",
    "pristine_pdos.total",
    "pristine_pdos.projected",
    "cell_pristine_pdos.frequencies",
    "cell_pristine_pdos.total",
    "cell_pristine_pdos.projected",
]
"""Fields of stored documents that an export reads (the rest is not loaded)."""

_BACKFILL_PROPERTIES = ["supercell_matrix", "settings", "structure.lattice"]


def add_cell_references(
    docs: Iterable[dict], cache_dir: str | None = None, force_field: str = "CHGNet"
) -> int:
    """Give documents without ``cell_pristine_pdos`` their cell reference (in place).

    Documents written before the cell reference existed (package < 0.2) can get it
    afterwards: it needs only the host's force constants, the supercell matrix and the
    doped cell's q-points (recomputed from its lattice with the document's
    ``mesh_length``). Mass-defect and embedding documents take the host force constants
    from the embedding engine's cache (``cache_dir``; computed when missing), direct
    documents recompute them in their supercell with the direct engine.

    Parameters
    ----------
    docs
        Stored documents (dicts with ``host``, ``supercell_matrix``, ``settings`` and
        ``structure.lattice``).
    cache_dir
        The embedding engine's host cache (the campaign's ``--cache-dir``).
    force_field
        Potential of the documents.

    Returns
    -------
    int
        Number of documents given a cell reference.
    """
    from phonopy.phonon.grid import length2mesh
    from pymatgen.core import Lattice, Structure

    from defectnet_atomate.phonons.direct import DirectEngine
    from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings

    engines: dict[str, object] = {}
    hosts: dict[str, Structure] = {}
    done = 0
    for d in docs:
        if d.get("cell_pristine_pdos"):
            continue
        engine = d["settings"]["engine"]
        kind = "direct" if engine == "direct" else "embedding"
        if kind not in engines:
            engines[kind] = (
                DirectEngine(force_field=force_field)
                if kind == "direct"
                else EmbeddingEngine(
                    force_field=force_field,
                    settings=EmbeddingSettings(patches=False),
                    cache_dir=cache_dir,
                )
            )
        host = d["host"]["structure"]
        if not isinstance(host, Structure):
            key = json.dumps(host, sort_keys=True, default=str)
            host = hosts.setdefault(key, Structure.from_dict(host))
        cell = d["structure"]
        lattice = (
            cell.lattice.matrix
            if isinstance(cell, Structure)
            else Lattice.from_dict(cell["lattice"]).matrix
        )
        mesh = length2mesh(d["settings"].get("mesh_length", 20.0), lattice)
        grid = np.stack(np.meshgrid(*[np.arange(n) / n for n in mesh], indexing="ij"), -1).reshape(
            -1, 3
        )
        modes = engines[kind].cell_reference(host, d["supercell_matrix"], grid)
        s = d["settings"]
        d["cell_pristine_pdos"] = modes.dos(s["sigma"], s["grid_step"]).model_dump(
            include={"frequencies", "total"}
        )
        done += 1
    return done


def export_store(
    locations: str | Sequence[str],
    out: str | Path,
    engine: str | None = None,
    backfill_cache: str | None = None,
    backfill: bool = False,
    exclude: Sequence[str | Path] = (),
) -> dict:
    """Export stores' documents (optionally of one engine) with :func:`export_dataset`.

    Several stores (e.g. campaigns run side by side over different host ranges) go into
    one file; a document in more than one store is kept once. With ``backfill``,
    documents without a cell reference get one (:func:`add_cell_references`, host force
    constants from ``backfill_cache``); the stores themselves are not changed.
    ``exclude``: earlier parts of the dataset, whose documents are left out (see
    :func:`export_dataset`). The stores' refused requests (:data:`REFUSALS`) go into the
    file too.
    """
    from defectnet_atomate.stores import default_store, open_store

    locations = [locations] if isinstance(locations, str) else list(locations)
    criteria = {"settings.engine": engine} if engine else {}
    docs: dict[str, dict] = {}
    for location in locations:
        with default_store(location) as store:
            properties = (
                [p for p in EXPORT_PROPERTIES if p != "settings.engine"] + _BACKFILL_PROPERTIES
                if backfill
                else EXPORT_PROPERTIES
            )
            for doc in store.query(criteria, properties=properties):
                docs.setdefault(doc["config_id"], doc)
    if not docs:
        raise ValueError(
            f"No documents{f' of engine {engine!r}' if engine else ''} in "
            f"{', '.join(locations)}; check the store location (and the engine name)."
        )
    if backfill:
        add_cell_references(docs.values(), backfill_cache)
    refused: list[dict] = []
    for location in locations:
        with open_store(location, "failed_requests", key="config_id") as failures:
            refused += list(failures.query({}, properties=["config_id", "error"]))
    return export_dataset(docs.values(), out, exclude=exclude, refused=refused)


def dataset_ids(paths: Iterable[str | Path], refused: bool = True) -> set[str]:
    """Return the document ids (``config_id``) held by dataset files.

    A campaign resumed on a machine without its store (a fresh clone) skips these
    requests instead of simulating them again (``defectnet dataset build --skip-dataset``).
    With ``refused`` the ids of the requests a file records as refused
    (:data:`REFUSALS`, exports since 0.20) are included.
    """
    from monty.serialization import loadfn

    ids: set[str] = set()
    for path in paths:
        data = loadfn(path)
        if isinstance(data, dict) and data.get("format") in _READABLE_FORMATS:
            ids.update(s["config_id"] for s in data["spectra"])
            if refused:
                ids.update(r["config_id"] for r in data.get("refused", ()))
        elif isinstance(data, list):
            ids.update(d["config_id"] for d in data)
        else:
            raise ValueError(
                f"{path} is not a defectnet-atomate dataset (format {EXPORT_FORMAT!r})."
            )
    return ids


def load_dataset(path: str | Path) -> list[dict]:
    """Read a dataset file of :func:`export_dataset` (or an older plain list of documents).

    Returns
    -------
    list of dict
        Compact documents (as :func:`compact` makes them), ready for
        :func:`~defectnet_atomate.ml.training.examples_from_docs` or
        :meth:`~defectnet_atomate.ml.quantifier.DefectQuantifier.fit`.
    """
    from monty.serialization import loadfn

    data = loadfn(path)
    if isinstance(data, list):
        return data
    if not isinstance(data, dict) or data.get("format") not in _READABLE_FORMATS:
        raise ValueError(
            f"{path} is not a defectnet-atomate dataset (format {EXPORT_FORMAT!r}); write it "
            "with defectnet_atomate.dataset.export_dataset or `defectnet dataset export`."
        )
    docs = []
    for s in data["spectra"]:
        host = data["hosts"][s["host_key"]]
        doc = {k: v for k, v in s.items() if k not in ("host_key", "pdos", "cell_pristine_pdos")}
        doc["host"] = host["host"]
        doc["pdos"] = _unpack(s["pdos"])
        if "cell_pristine_pdos" in s:
            doc["cell_pristine_pdos"] = _unpack(s["cell_pristine_pdos"])
        doc["pristine_pdos"] = _unpack(host["pristine_pdos"])
        docs.append(doc)
    return docs


def _patch_reach(docs: list[dict]) -> str:
    """How far the embedding spectra's patches reach, as their documents record it."""
    reaches = set()
    for d in docs:
        if d["settings"]["engine"] != "embedding":
            continue
        text = next((a for a in d["settings"].get("approximations", []) if "patches (" in a), None)
        if text is None or "rows within" not in text:  # exports before 0.23: whole cell
            reaches.add("whole cell: one symmetry-reduced direct calculation of the patch cell")
        else:
            reaches.add(text[text.index("rows within") :].split(",")[0].strip())
    return "; ".join(sorted(reaches))


def datasheet(docs: list[dict], out: Path) -> str:
    """Describe an exported dataset (hosts, elements, concentrations, settings, licence)."""
    hosts = collections.Counter(d["host"]["formula"] for d in docs)
    elements = collections.Counter(el for d in docs for el in d["dopant_elements"])
    conc = [x["atomic_percent"] for d in docs for x in d["dopants"]]
    edges = [0.2, 0.5, 1, 2, 5, 10, 25, 30]
    hist, _ = np.histogram(conc, bins=edges)
    n_dop = collections.Counter(d["n_dopants"] for d in docs)
    flagged = sum(d["imaginary_fraction"] > 0.02 for d in docs)
    relaxed = [d["relaxation"] for d in docs if d.get("relaxation")]
    unrelaxed = sum((r.get("max_force") or 0.0) > MAX_RESIDUAL_FORCE for r in relaxed)
    crystals = {d["host"].get("host_id") or d["host"]["formula"] for d in docs}
    heavy = sum(any(Element(el).Z > MAX_DOPANT_Z for el in d["dopant_elements"]) for d in docs)
    # mass-defect spectra of one host and supercell share the host's force constants
    cells: dict[tuple, set[bool]] = collections.defaultdict(set)
    for d in docs:
        if d["settings"]["engine"] == "mass-defect":
            key = (d["host"].get("host_id") or d["host"]["formula"], d["num_sites"])
            cells[key].add(d["imaginary_fraction"] > 0.02)
    calc = docs[0].get("calculator") or {"name": "CHGNet"}
    lines = [
        f"# Datasheet: {out.name}",
        "",
        f"- Spectra: {len(docs)}; hosts: {len(crystals)} crystals ({len(hosts)} formulas); "
        f"dopant elements: {len(elements)}.",
        f"- Engines: {dict(collections.Counter(d['settings']['engine'] for d in docs))}.",
        f"- Calculator: {calc['name']} {calc.get('package_version')} "
        f"(weights {calc.get('model_version')}, hash {calc.get('weights_hash')}).",
        "- Settings (all engines): 0.01 A central finite differences, symmetrised force "
        "constants, q-mesh of phonopy length 20 A on the supercell, Gaussian 0.1 THz.",
        "- `direct`: the whole doped supercell displaced; cell and positions relaxed (fmax "
        "5e-3 eV/A, at most 300 BFGS steps).",
        "- `mass-defect`: the host's force constants (from a 216+ atom host cell) with dopant "
        "masses; no relaxation, no change of bonding around dopants (the cheap fidelity level).",
        *(
            [
                "- `embedding`: the host's force constants plus each dopant's patch ("
                + _patch_reach(docs)
                + "; positions relaxed in the one-dopant ~216-atom patch cell) and relaxation, "
                "added up at the host lattice; dopants at least 7 A apart, configurations whose "
                "dopants' relaxations interact (more than 6 mA further relaxation) redrawn, then "
                "recorded as failed; dense diagonalisation up to 1,500 atoms."
            ]
            if any(d["settings"]["engine"] == "embedding" for d in docs)
            else []
        ),
        "- Requests: `scripts/build_dataset.py` (seed 2026; hosts with Born charges and <= 6 "
        "atoms per primitive cell, in one seeded random order; 1-6 dopants from the recommender "
        "and periodic-table neighbours; concentrations log-uniform, direct 2-25 at.% in "
        "supercells <= 96 atoms, mass-defect 0.2-25 at.% in supercells <= 600 atoms).",
        "- Concentration convention: at.% of all atoms of the supercell.",
        f"- Format `{EXPORT_FORMAT}`: spectra keep the total DOS (4 significant digits, THz "
        "grid by start and step) and, where simulated since 0.2, the cell reference; each "
        "host's pristine spectrum keeps its element-projected DOS.",
        "- Element-projected (partial) DOS of the doped spectrum and its cell reference: "
        f"{sum(bool(d['pdos'].get('projected')) for d in docs)} spectra (direct-engine "
        "spectra since format v6).",
        f"- Neutron-weighted DOS (cross-section over mass, `periodictable` "
        f"{_version('periodictable')}) of the doped spectrum and its cell reference: "
        f"{sum(bool(d['pdos'].get('neutron')) for d in docs)} spectra (exports before "
        "format v5 kept none; elements without a cross-section give none).",
        f"- Imaginary modes: {flagged} spectra have more than 2 % of their modes below -0.1 THz; "
        "they are kept and flagged (`imaginary_fraction`), and training leaves them out.",
        *(
            [
                f"- Relaxation (format v7): {len(relaxed)} spectra record how their doped cell "
                f"relaxed; {sum(not r.get('converged') for r in relaxed)} stopped at the step "
                f"limit, {unrelaxed} of them with a residual force above "
                f"{MAX_RESIDUAL_FORCE} eV/A (kept in the file; training leaves them out, "
                "see `benchmarks/relaxation_tolerance.py`)."
            ]
            if relaxed
            else []
        ),
        *(
            [
                "- Mass-defect spectra keep their host's force constants, and dopant masses "
                "cannot change how many modes are unstable (M^-1/2 Phi M^-1/2 has the inertia "
                "of Phi: Sylvester's law), so the flag belongs to the host in that supercell, "
                "not to the dopants: "
                f"{sum(len(v) > 1 for v in cells.values())} of {len(cells)} (host, supercell) "
                "pairs mix flagged and unflagged spectra."
            ]
            if cells
            else []
        ),
        *(
            [
                f"- Dopants beyond Pu: {heavy} spectra (Am, suggested by pymatgen's recommender "
                "for actinide hosts; campaigns drop such requests since 0.5, the model covers "
                "H-Pu): kept, left out of training."
            ]
            if heavy
            else []
        ),
        f"- Dopants per spectrum: {dict(sorted(n_dop.items()))}.",
        "- Concentration histogram (at.% of all atoms): "
        + ", ".join(
            f"{lo}-{hi}: {n}" for lo, hi, n in zip(edges[:-1], edges[1:], hist, strict=True)
        ),
        f"- Dopant elements: {dict(elements.most_common())}.",
        f"- Hosts: {dict(hosts.most_common())}.",
        "",
        "Hosts come from phonondb 2018-04-17 (A. Togo, Kyoto University), licensed CC-BY-4.0;",
        "their structures originate from the Materials Project.",
        "",
    ]
    return "\n".join(lines)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


ENGINES = ("direct", "mass-defect", "embedding")

MAX_RESIDUAL_FORCE = 0.02
"""Largest residual force (eV/A) of a relaxed doped cell whose spectrum is trained on
(:func:`defectnet_atomate.ml.training.examples_from_docs`): four times the direct engine's
tolerance. A doped cell stopped at the step limit above it is not at its minimum, and
``benchmarks/relaxation_tolerance.py`` found the DOS of cells stopped at this force up to
half the dopants' own effect away from that of the relaxed cell."""

MAX_HOST_IMAGINARY = 0.02
"""Hosts whose own spectrum has a larger share of imaginary modes are refused by every level
of a campaign since 0.15 (``UnstableHostError``, recorded as failed): their doped spectra
are flagged or rest on a reference the model cannot read (the share above which a spectrum
is flagged, :func:`defectnet_atomate.ml.training.examples_from_docs`)."""


def _within_model(task: DopingTask) -> bool:
    return all(Element(d.element).Z <= MAX_DOPANT_Z for d in task.dopings)


def _report_every(n: int) -> Callable[[BatchSummary], None]:
    """Print a batch's counts after every ``n`` computed requests."""

    def report(summary: BatchSummary) -> None:
        if (summary.done + summary.failed) % n == 0:
            print(
                f"{summary.done} done, {summary.failed} failed, {summary.skipped} skipped so "
                f"far ({summary.seconds:.0f} s)",
                flush=True,
            )

    return report


@dataclass
class Campaign(MSONable):
    """A seeded training-set campaign over the host library, run locally or as flows.

    Hosts with Born charges (insulators and semiconductors) and at most
    ``max_host_sites`` atoms per primitive cell are shuffled with ``seed``; hosts
    ``first_host`` to ``first_host + n_hosts`` of that order are sampled in chunks of
    ``chunk`` hosts (:func:`sample_tasks`, each chunk's seed is ``seed`` plus its start),
    so every host keeps its requests whatever the range, on every machine.

    ``engine`` is ``"direct"`` (whole-cell finite displacements; the faithful level),
    ``"mass-defect"`` (host force constants with dopant masses; cheap, for breadth over
    hosts; it samples with the faster supercell shape search and keeps no modes) or
    ``"embedding"`` (host force constants plus cached dopant patches; dilute cells only,
    with ``pool_size`` so that each host's requests share a few patches; ``cutoff``: the
    patches' reach in Angstrom, default the whole patch cell, see
    :class:`~defectnet_atomate.phonons.embedding.EmbeddingSettings`).

    Every level refuses hosts that are unstable with the potential
    (:data:`MAX_HOST_IMAGINARY`): each of their requests is recorded as failed with
    ``UnstableHostError`` after a check of a few seconds, instead of minutes of flagged work.
    """

    hosts_file: str | None = None
    n_hosts: int = 100
    per_host: int = 4
    max_host_sites: int = 6
    max_atoms: int = 96
    min_percent: float = 2.0
    max_percent: float = 25.0
    seed: int = 2026
    chunk: int = 5
    engine: str = "direct"
    force_field: str = "CHGNet"
    first_host: int = 0
    cache_dir: str | None = None
    pool_size: int | None = None
    cutoff: float | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"Unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}.")
        if self.cutoff is not None and self.engine != "embedding":
            raise ValueError(
                f"cutoff={self.cutoff} is the reach of the embedding engine's dopant patches; "
                f"the {self.engine} level has none: leave it out, or use engine='embedding'."
            )

    def _embedding_settings(self) -> EmbeddingSettings:
        """Return the settings of the embedding and mass-defect levels."""
        from defectnet_atomate.phonons.embedding import EmbeddingSettings

        extra = {"cutoff": self.cutoff} if self.cutoff is not None else {}
        return EmbeddingSettings(
            patches=self.engine != "mass-defect", max_host_imaginary=MAX_HOST_IMAGINARY, **extra
        )

    @property
    def search_range(self) -> int:
        """Supercell shape search range (1 for the large cells of the mass-defect level)."""
        return 1 if self.engine == "mass-defect" else 2

    def chunks(self) -> Iterator[tuple[int, list[DopingTask]]]:
        """Yield ``(start, requests)`` per chunk of hosts."""
        from defectnet_atomate.hosts import iter_hosts

        hosts = list(
            iter_hosts(self.hosts_file, semiconductors_only=True, max_sites=self.max_host_sites)
        )
        order = np.random.default_rng(self.seed).permutation(len(hosts))
        chosen = [hosts[i] for i in order]
        stop = min(self.first_host + self.n_hosts, len(chosen))
        for start in range(self.first_host, stop, self.chunk):
            tasks = sample_tasks(
                chosen[start : min(start + self.chunk, stop)],
                per_host=self.per_host,
                seed=self.seed + start,
                max_atoms=self.max_atoms,
                min_percent=self.min_percent,
                max_percent=self.max_percent,
                search_range=self.search_range,
                pool_size=self.pool_size,
            )
            # pymatgen's recommender can suggest Am for actinide hosts; neither the potentials
            # nor the model go beyond Pu. Such requests are dropped after the draw, so every
            # other request (and its id) stays what the seed gave before 0.5.
            yield start, [t for t in tasks if _within_model(t)]

    def run(
        self,
        store_location: str | None = None,
        workers: int = 1,
        skip_ids: Iterable[str] = (),
    ) -> None:
        """Simulate every request into a store with local worker processes (resumable).

        Documents land from the first minutes on; a rerun skips everything already
        stored (and the requests recorded as failed), and every request whose id is in
        ``skip_ids`` (e.g. :func:`dataset_ids` of the committed dataset files, so that a
        fresh machine resumes the campaign without its store).
        """
        skip_ids = set(skip_ids)
        from defectnet_atomate.batch import run_batch
        from defectnet_atomate.phonons.direct import DirectSettings
        from defectnet_atomate.stores import default_store, open_store

        settings = (
            DirectSettings(
                max_host_imaginary=MAX_HOST_IMAGINARY, max_residual_force=MAX_RESIDUAL_FORCE
            )
            if self.engine == "direct"
            else self._embedding_settings()
        )
        supercell_kwargs: dict = {"max_atoms": self.max_atoms}
        if self.search_range != 2:
            supercell_kwargs["search_range"] = self.search_range
        print(f"hosts {self.first_host}-{self.first_host + self.n_hosts} ({self.engine})")

        def requests() -> Iterator[DopingTask]:
            # drawn chunk by chunk while the workers run (a few seconds a host): one pool
            # for the whole campaign, no worker idle at the end of a chunk
            for start, tasks in self.chunks():
                print(
                    f"hosts {start}-{start + self.chunk}: {len(tasks)} requests drawn", flush=True
                )
                yield from tasks

        summary = run_batch(
            requests(),
            default_store(store_location),
            force_field=self.force_field,
            settings=settings,
            n_workers=workers,
            failures=open_store(store_location, "failed_requests", key="config_id"),
            supercell_kwargs=supercell_kwargs,
            progress=False,
            cache_dir=self.cache_dir,
            keep_modes=self.engine == "direct",
            skip_ids=skip_ids,
            on_result=_report_every(10),
        )
        print(
            f"{summary.done} done, {summary.skipped} skipped, {summary.failed} failed in "
            f"{summary.seconds:.0f} s",
            flush=True,
        )

    def flows(self) -> list[Flow]:
        """Return the same requests (seeds, supercells) as jobflow flows, one per host.

        For a cluster: submit the flows with jobflow-remote or FireWorks into a MongoDB
        ``JobStore``, then gather the documents with
        :class:`~defectnet_atomate.builders.DefectPhononBuilder`. Each request is one
        :class:`~defectnet_atomate.flows.DefectPhononMaker` job with this engine.
        """
        from jobflow import Flow

        from defectnet_atomate.flows import DefectPhononMaker
        from defectnet_atomate.phonons.direct import DirectSettings

        flows = []
        for _, tasks in self.chunks():
            by_host: dict[str, list[Flow]] = {}
            for task in tasks:
                maker = DefectPhononMaker(
                    name=f"campaign {task.host_id}",
                    engine=self.engine,
                    settings=DirectSettings(
                        max_host_imaginary=MAX_HOST_IMAGINARY,
                        max_residual_force=MAX_RESIDUAL_FORCE,
                    ),
                    embedding_settings=self._embedding_settings(),
                    force_field=self.force_field,
                    seed=task.seed,
                    max_atoms=self.max_atoms,
                    search_range=self.search_range,
                    cache_dir=self.cache_dir,
                )
                flow = maker.make(task.host, [task.dopings], host_id=task.host_id)
                by_host.setdefault(str(task.host_id), []).append(flow)
            flows += [Flow(f, name=f"campaign {h} ({self.engine})") for h, f in by_host.items()]
        return flows
