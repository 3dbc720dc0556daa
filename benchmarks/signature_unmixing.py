"""Dilute dopants read by their patch signatures (linear unmixing) against the network.

python benchmarks/signature_unmixing.py [--hosts mp-149 ...] [--direct-cache DIR]
    [--cache-dir DIR] [--concentrated [--series]] [--part FILE.json.gz] [--skip-direct]
    [--json benchmarks/results/signature_unmixing.json]

For each host, a :class:`~defectnet_atomate.signatures.SignatureLibrary` is built with
SevenNet and 6 A patches (the embedding setting validated against the direct engine) for a
fixed candidate list: the host's true dopants of the test set plus the first three of the
dopant recommender's other suggestions (distractors). Every test spectrum is then read with
all of its host's candidates by three methods:

- **patch signatures**: the non-negative fit of the observed change by the library's
  signatures (:meth:`SignatureLibrary.fit`); a candidate is present from 0.1 at.%;
- **mass-defect signatures**: the same fit with the Lifshitz signatures of the same
  candidates on the same sites (masses only; what the network's candidate-site inputs
  carry);
- **patch signatures at 3 meV**: the same, with the spectrum and the signatures broadened
  by a 3 meV FWHM Gaussian resolution, as an instrument shows them (a supercell's DOS has
  fine structure from its few q-points that no instrument resolves);
- **with a concentration series** (``--series``, set 2): the same libraries with each
  signature also computed by the direct engine for one dopant in the 3x3x3 and 2x2x2
  supercells of the host cell (``SignatureLibrary.with_series``: 1.9 and 6.3 at.% for these
  two-atom cells, lattice relaxed), read with ``fit(series=True)`` (each candidate's
  signature at its fitted concentration, iterated), clean and at 3 meV;
- **patch signatures, neutron-weighted** (documents only): the same spectra weighted as
  inelastic neutron scattering sees them, read with the neutron-weighted signatures;
- **patch signatures, partial DOS** (spectra with element projections: the documents,
  and the direct spectra whose cached DOS keeps them, as ``_direct(projected=True)``
  writes them since 0.26): each host element's partial DOS alone (as nuclear resonant
  scattering of one isotope sees it), read with that element's partial-DOS signatures;
  scored over every (spectrum, host element) reading, and apart for candidates on that
  element's sites and on the others';
- **the shipped network** (``DefectQuantifier.from_pretrained()``, trained on CHGNet
  spectra) with its calibrated decision rule for simulated spectra.

Test spectra:

1. **direct**: the 9 dilute configurations of ``engine_fidelity.py`` (216 atoms, 1-3
   chemically different dopants of 0.46 at.% each, in Si, ZnS, MgO and LiF), simulated by
   the direct engine with SevenNet (every atom displaced; their DOS cached with
   ``--direct-cache``, as ``engine_fidelity.py --force-field SevenNet`` writes them). The
   direct engine is not the engine of the signatures: a fair test of the unmixing.
2. with ``--concentrated``: the same hosts' dopants at 1.6, 2 x 3.1 and 12.5 at.% in cells
   of 54-72 atoms, simulated by the direct engine with its default settings (the doped
   lattice relaxes too; documents cached in ``--direct-cache``): where the change stops
   being linear in the concentration, in small periodic cells.
3. with ``--part``: the spectra of a SevenNet embedding dataset part (its hosts' patches
   reused from ``--cache-dir``). Those spectra were made from the very patches the
   signatures come from (in larger cells, several dopants, their relaxations added): a
   consistency check of the linear reading, not an independent test.

The signatures include the lattice's change (Vegard's law, ``lattice="relaxed"``) for the
spectra whose cells relaxed (set 2) and leave it out for those simulated at the host's
lattice (sets 1 and 3, ``lattice="fixed"``). Runs over host subsets (``--hosts``) are
combined with ``--merge a.json b.json ... --json out.json``.

Scores: AUC of the candidates' scores (fitted at.% or probability) over true dopants
against distractors; precision, recall and F1 of the calls; MAE (at.%) and median relative
error of the true dopants' concentrations; the share of the change the fit explains.
The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from common import emit
from engine_fidelity import CASES, _direct, _host, configuration

from defectnet_atomate.doping import make_doped_supercell, recommend_dopants
from defectnet_atomate.measurement import apply_resolution, neutron_weighted_dos
from defectnet_atomate.ml.featurize import BIN_CENTRES
from defectnet_atomate.ml.training import Example, predict_arrays
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.phonons.dos import mass_defect_signature
from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
from defectnet_atomate.signatures import SignatureLibrary, _binned, plausible_sites
from defectnet_atomate.spectra import Spectrum, sampling_corrected

ROOT = Path(__file__).resolve().parents[1]
FORCE_FIELD = "SevenNet"
N_DISTRACTORS = 3
METHODS = (
    "patches",
    "patches_resolution",
    "patches_series",
    "patches_series_resolution",
    "patches_neutron",
    "masses",
    "network",
)
RESOLUTION_MEV = 3.0
"""FWHM of the instrument-like reading (a typical direct-geometry chopper at thermal energies)."""


def _auc(scores: list[float], labels: list[bool]) -> float | None:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 3)


def _metrics(rows: list[dict], method: str) -> dict:
    """Identification and concentration metrics of one method over (spectrum, candidate)."""
    scores, labels, called, errors, relative = [], [], [], [], []
    for r in rows:
        for el, out in r[method]["candidates"].items():
            truth = r["truth"].get(el)
            scores.append(out["score"])
            labels.append(truth is not None)
            called.append(out["present"])
            if truth is not None:
                errors.append(abs(out["percent"] - truth))
                relative.append(abs(out["percent"] - truth) / truth)
    tp = sum(c and y for c, y in zip(called, labels, strict=True))
    fp = sum(c and not y for c, y in zip(called, labels, strict=True))
    fn = sum(y and not c for c, y in zip(called, labels, strict=True))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    explained = [r[method]["explained"] for r in rows if r[method].get("explained") is not None]
    return {
        "spectra": len(rows),
        "dopants": sum(labels),
        "distractors": len(labels) - sum(labels),
        "auc": _auc(scores, labels),
        "precision": None if precision is None else round(precision, 3),
        "recall": None if recall is None else round(recall, 3),
        "f1": None if f1 is None else round(f1, 3),
        "mae_at_percent": round(float(np.mean(errors)), 3) if errors else None,
        "median_relative_error": round(float(np.median(relative)), 3) if relative else None,
        "median_explained": round(float(np.median(explained)), 3) if explained else None,
    }


def _candidates(host, true_dopants: list[str]) -> list[str]:
    """The host's true dopants plus the recommender's first other suggestions."""
    others = []
    for s in recommend_dopants(host, num_dopants=5):
        if s.element not in true_dopants and s.element not in others:
            others.append(s.element)
    return sorted(true_dopants) + others[:N_DISTRACTORS]


def _library(
    host, host_id: str, true_dopants: list[str], embedding
) -> tuple[SignatureLibrary, dict]:
    """The host's library for its candidates, and what the results record of it."""
    candidates = _candidates(host, true_dopants)
    t0 = time.perf_counter()
    library = SignatureLibrary.from_host(host, candidates, engine=embedding, relax=False)
    info = {
        "formula": host.composition.reduced_formula,
        "candidates": candidates,
        "sites": {c: plausible_sites(host, c) for c in candidates},
        "library_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps({"host": host_id, **info}), flush=True)
    return library, info


def _mass_library(library: SignatureLibrary, pristine_dos) -> SignatureLibrary:
    """The library with each column replaced by the Lifshitz signature of the same pair."""
    from pymatgen.core import Element

    columns = []
    for s in library.signatures:
        site = _binned(
            pristine_dos.frequencies, pristine_dos.projected[s["replaces"]], library.scale
        )
        eps = 1 - Element(s["element"]).atomic_mass / Element(s["replaces"]).atomic_mass
        lifshitz = mass_defect_signature(BIN_CENTRES, site, eps) / 100  # per at.%
        columns.append({**s, "per_percent": lifshitz.tolist()})
    return SignatureLibrary(
        host=library.host,
        force_field=library.force_field,
        cutoff=library.cutoff,
        scale=library.scale,
        pristine=library.pristine,
        signatures=columns,
    )


def _reading(fit) -> dict:
    """What the results keep of one fit."""
    return {
        "explained": round(fit.explained, 4),
        "candidates": {
            el: {"score": c, "percent": c, "present": el in fit.present}
            for el, c in fit.concentrations.items()
        },
    }


def forms(library: SignatureLibrary, observed: dict) -> dict:
    """Kind -> (spectrum, references) of an observation in every form it can be read in.

    ``"pdos"`` always; ``"neutron"`` and each host element's ``"partial:X"`` where the
    spectrum has element projections (a document is turned into them by the library).
    """
    out = {"pdos": (observed["doped"], observed["references"])}
    if isinstance(observed["doped"], dict):
        doc = observed["doped"]
        if doc["pdos"].get("neutron") or doc["pdos"].get("projected"):
            out["neutron"] = (doc, {})
        if doc["pdos"].get("projected"):
            out.update({f"partial:{el}": (doc, {}) for el in library.pristine_partial or {}})
        return out
    return {**out, **observed.get("forms", {})}


def _read(library, mass_library, quantifier, example, observed, candidates, truth, lattice) -> dict:
    """Every reading of one spectrum (``lattice``: how its cell was simulated)."""
    out = {"truth": truth}
    for name, lib in (("patches", library), ("masses", mass_library)):
        fit = lib.fit(
            observed["doped"],
            candidates=candidates,
            lattice=lattice if name == "patches" else "fixed",
            **observed["references"],
        )
        out[name] = {
            "explained": round(fit.explained, 4),
            "candidates": {
                el: {"score": c, "percent": c, "present": el in fit.present}
                for el, c in fit.concentrations.items()
            },
        }
    # as an instrument with RESOLUTION_MEV FWHM would show it: the change on the library's
    # grid broadened (with the library's pristine DOS under it), signatures broadened alike
    change = library.change(observed["doped"], **observed["references"])
    seen = apply_resolution(
        library.frequencies, change + np.asarray(library.pristine), RESOLUTION_MEV
    )
    pair = (library.frequencies, np.clip(seen, 0, None))
    fit = library.fit(
        pair, candidates=candidates, unit="THz", resolution=RESOLUTION_MEV, lattice=lattice
    )
    out["patches_resolution"] = _reading(fit)
    if lattice == "relaxed" and any(s.get("series") for s in library.signatures):
        doped, refs = observed["doped"], observed["references"]
        fit = library.fit(doped, candidates=candidates, lattice=lattice, series=True, **refs)
        out["patches_series"] = _reading(fit)
        fit = library.fit(
            pair,
            candidates=candidates,
            unit="THz",
            resolution=RESOLUTION_MEV,
            lattice=lattice,
            series=True,
        )
        out["patches_series_resolution"] = _reading(fit)
    if isinstance(observed["doped"], dict):  # a document: also as a neutron measurement
        fit = library.fit(observed["doped"], candidates=candidates, kind="neutron", lattice=lattice)
        out["patches_neutron"] = _reading(fit)
    partials = {
        kind.split(":")[1]: x for kind, x in forms(library, observed).items() if ":" in kind
    }
    if partials:
        out["patches_partial"] = {
            el: _reading(
                library.fit(
                    doped, candidates=candidates, kind=f"partial:{el}", lattice=lattice, **refs
                )
            )
            for el, (doped, refs) in partials.items()
        }
    probs, concs, _ = predict_arrays(quantifier.network, [example], [candidates])
    threshold, gate = quantifier.decision_for(example, measured=False)
    top = float(probs[0, : len(candidates)].max())
    out["network"] = {
        "candidates": {
            el: {
                "score": float(probs[0, k]),
                "percent": float(concs[0, k]),
                "present": bool(probs[0, k] >= threshold and top >= gate),
            }
            for k, el in enumerate(candidates)
        }
    }
    return out


def _example(doped_dict: dict, pristine_dos, composition, truth, host_id) -> Example:
    pristine = Spectrum(pristine_dos.frequencies, pristine_dos.total, source="pristine")
    return Example(
        doped=Spectrum(doped_dict["frequencies"], doped_dict["total"], source="doped"),
        pristine=pristine,
        composition=composition,
        truth=truth,
        host_id=host_id,
        projected={
            el: Spectrum(pristine_dos.frequencies, v, source=el)
            for el, v in pristine_dos.projected.items()
        },
        force_field=FORCE_FIELD,
    )


def _direct_forms(direct_dos, reference) -> dict:
    """Neutron-weighted and partial forms of a direct DOS that keeps its projections."""
    if not getattr(direct_dos, "projected", None):
        return {}
    doped = {
        "frequencies": direct_dos.frequencies,
        "total": direct_dos.total,
        "projected": direct_dos.projected,
    }
    values = {"neutron": (neutron_weighted_dos(doped), neutron_weighted_dos(reference))}
    for el, ref in reference.projected.items():  # host elements (not the dopants')
        values[f"partial:{el}"] = (direct_dos.projected[el], ref)
    return {
        kind: (
            (np.asarray(direct_dos.frequencies), np.asarray(mine)),
            {"cell_reference": Spectrum(reference.frequencies, ref, "THz"), "unit": "THz"},
        )
        for kind, (mine, ref) in values.items()
    }


def direct_rows(args, quantifier, read=None) -> tuple[list[dict], dict]:
    """The fidelity configurations, read from their direct DOS (by ``read``, default ``_read``)."""
    read = read or _read
    direct = DirectEngine(force_field=FORCE_FIELD, settings=DirectSettings(relax_cell=False))
    embedding = EmbeddingEngine(
        force_field=FORCE_FIELD,
        settings=EmbeddingSettings(cutoff=6.0, patch_atoms=216, max_extra_relaxation=None),
        cache_dir=args.cache_dir,
    )
    rows, libraries = [], {}
    for host_id, configs in CASES.items():
        if args.hosts and host_id not in args.hosts:
            continue
        host = direct.relax_host(_host(host_id))
        true_dopants = sorted({d.split(":")[0] for c in configs for d in c})
        library, libraries[host_id] = _library(host, host_id, true_dopants, embedding)
        candidates = libraries[host_id]["candidates"]
        pristine_dos = embedding.pristine_modes(host).dos()
        mass_library = _mass_library(library, pristine_dos)
        composition = {k: float(v) for k, v in host.composition.fractional_composition.items()}
        composition = {str(k): v for k, v in composition.items()}
        for i, dopings in enumerate(configs):
            doped = configuration(embedding, host, dopings, i)
            direct_dos, _ = _direct(direct, doped, host_id, i, args.direct_cache)
            _, masses_modes = embedding.modes(doped, patches=False)
            reference = embedding.cell_reference(
                host, doped.supercell_matrix, masses_modes.qpoints
            ).dos()
            truth = {d.element: d.atomic_percent for d in doped.dopants}
            measured = {
                "frequencies": list(direct_dos.frequencies),
                "total": list(direct_dos.total),
            }
            corrected = sampling_corrected(
                measured,
                {"frequencies": reference.frequencies, "total": reference.total},
                {"frequencies": pristine_dos.frequencies, "total": pristine_dos.total},
            )
            example = _example(corrected, pristine_dos, composition, truth, host_id)
            observed = {
                "doped": (np.asarray(direct_dos.frequencies), np.asarray(direct_dos.total)),
                "references": {"cell_reference": reference, "unit": "THz"},
                "forms": _direct_forms(direct_dos, reference),
            }
            row = {
                "host": host_id,
                "index": i,
                **read(
                    library, mass_library, quantifier, example, observed, candidates, truth, "fixed"
                ),
            }
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("host", "index", "truth")}), flush=True)
    return rows, libraries


# --concentrated: the fidelity hosts' dopants at 1.6-12.5 at.% in cells of 54-72 atoms, simulated
# by the direct engine with its default settings (the doped cell's lattice relaxes too)
CONCENTRATED = {
    "mp-149": [["C:Si:1.6"], ["Ge:Si:3.1", "Sn:Si:3.1"], ["Ge:Si:12.5"]],
    "mp-10695": [["Se:S:1.6"], ["Cd:Zn:3.1", "O:S:3.1"], ["Se:S:12.5"]],
    "mp-1265": [["Ca:Mg:1.6"], ["Zn:Mg:3.1", "S:O:3.1"], ["Zn:Mg:12.5"]],
    "mp-1138": [["Na:Li:1.6"], ["Cl:F:3.1", "K:Li:3.1"], ["Na:Li:12.5"]],
}


def _doc_row(doc: dict, keys: dict, readers: tuple, lattice: str, read=None) -> dict | None:
    """Every reading of a document (``None`` where training would leave it out)."""
    from defectnet_atomate.ml.training import examples_from_docs

    examples = examples_from_docs([doc], include_pristine=False)
    if not examples:
        return None
    library, mass_library, quantifier, candidates = readers
    truth = {x["element"]: x["atomic_percent"] for x in doc["dopants"]}
    observed = {"doped": doc, "references": {}}
    reading = (read or _read)(
        library, mass_library, quantifier, examples[0], observed, candidates, truth, lattice
    )
    return {**keys, "n_atoms": doc["num_sites"], **reading}


def _with_series(library: SignatureLibrary, host_id: str, cache: Path | None, info: dict):
    """The library with its concentration series (direct engine; kept in ``cache``)."""
    from monty.serialization import dumpfn, loadfn

    file = None if cache is None else cache / f"series-{host_id}-{FORCE_FIELD}.json"
    stored = loadfn(file) if file is not None and file.is_file() else None
    if stored and [s["element"] for s in stored] == [s["element"] for s in library.signatures]:
        library = replace(library, signatures=stored)  # computed in an earlier run
    else:
        t0 = time.perf_counter()
        library = library.with_series(DirectEngine(force_field=FORCE_FIELD))
        info["series_s"] = round(time.perf_counter() - t0, 1)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            dumpfn(library.signatures, file)
    info["series_cells"] = sorted({e["n_atoms"] for s in library.signatures for e in s["series"]})
    return library


def concentrated_rows(args, quantifier) -> tuple[list[dict], dict]:
    """Direct spectra of 64-atom cells at 1.6-12.5 at.% per dopant, read with the libraries."""
    from monty.serialization import dumpfn, loadfn

    relaxer = DirectEngine(force_field=FORCE_FIELD, settings=DirectSettings(relax_cell=False))
    direct = DirectEngine(force_field=FORCE_FIELD)
    embedding = EmbeddingEngine(
        force_field=FORCE_FIELD,
        settings=EmbeddingSettings(cutoff=6.0, patch_atoms=216, max_extra_relaxation=None),
        cache_dir=args.cache_dir,
    )
    cache = Path(args.direct_cache) if args.direct_cache else None
    rows, libraries = [], {}
    for host_id, configs in CONCENTRATED.items():
        if args.hosts and host_id not in args.hosts:
            continue
        host = relaxer.relax_host(_host(host_id))  # the host of the fidelity configurations
        true_dopants = sorted({d.split(":")[0] for c in CASES[host_id] for d in c})
        library, libraries[host_id] = _library(host, host_id, true_dopants, embedding)
        candidates = libraries[host_id]["candidates"]
        mass_library = _mass_library(library, embedding.pristine_modes(host).dos())
        if args.series:
            library = _with_series(library, host_id, cache, libraries[host_id])
        for i, dopings in enumerate(configs):
            file = (
                None
                if cache is None
                else cache / f"concentrated-{host_id}-{i}-{FORCE_FIELD}-54.json"
            )
            if file is not None and file.is_file():
                doc = loadfn(file)
            else:
                t0 = time.perf_counter()
                doped = make_doped_supercell(host, dopings, seed=i, min_atoms=54, max_atoms=72)
                doc = direct.run_supercell(doped, host_id=host_id).model_dump()
                doc["seconds"] = time.perf_counter() - t0
                if file is not None:
                    file.parent.mkdir(parents=True, exist_ok=True)
                    dumpfn(doc, file)
            readers = (library, mass_library, quantifier, candidates)
            row = _doc_row(doc, {"host": host_id, "index": i}, readers, "relaxed")
            if row is not None:
                rows.append(row)
            print(json.dumps({"host": host_id, "index": i, "read": row is not None}), flush=True)
    return rows, libraries


def part_rows(args, quantifier, read=None) -> tuple[list[dict], dict]:
    """The spectra of a SevenNet embedding part, read with their hosts' libraries."""
    from defectnet_atomate.dataset import load_dataset

    embedding = EmbeddingEngine(
        force_field=FORCE_FIELD,
        settings=EmbeddingSettings(cutoff=6.0, patch_atoms=216),
        cache_dir=args.cache_dir,
    )
    docs = [d for d in load_dataset(args.part) if d["dopants"]]
    rows, libraries = [], {}
    for host_id in sorted({d["host"]["host_id"] for d in docs}):
        mine = [d for d in docs if d["host"]["host_id"] == host_id]
        host = mine[0]["host"]["structure"]
        true_dopants = sorted({el for d in mine for el in d["dopant_elements"]})
        library, libraries[host_id] = _library(host, host_id, true_dopants, embedding)
        candidates = libraries[host_id]["candidates"]
        mass_library = _mass_library(library, embedding.pristine_modes(host).dos())
        readers = (library, mass_library, quantifier, candidates)
        for d in mine:
            keys = {"host": host_id, "config_id": d["config_id"]}
            row = _doc_row(d, keys, readers, "fixed", read)
            if row is not None:  # flagged or not relaxed: left out, as training does
                rows.append(row)
    return rows, libraries


def _partial_metrics(rows: list[dict], libraries: dict) -> dict:
    """Scores of the partial-DOS readings: all, and by the candidates' sublattice."""
    groups: dict[str, list[dict]] = {"all": [], "own_sites": [], "other_sites": []}
    for r in rows:
        sites = libraries[r["host"]]["sites"]
        for el, reading in r.get("patches_partial", {}).items():
            own = {c for c in reading["candidates"] if el in sites[c]}
            for group, keep in (
                ("all", set(reading["candidates"])),
                ("own_sites", own),
                ("other_sites", set(reading["candidates"]) - own),
            ):
                mine = {c: v for c, v in reading["candidates"].items() if c in keep}
                if mine:
                    truth = {c: t for c, t in r["truth"].items() if c in mine}
                    m = {"explained": reading["explained"], "candidates": mine}
                    groups[group].append({"truth": truth, "m": m, "element": el})
    return {g: _metrics(rs, "m") for g, rs in groups.items() if rs}


def _summary(rows: list[dict], libraries: dict) -> dict:
    """Every method's scores over one set's rows."""
    out = {m: _metrics(rows, m) for m in METHODS if all(m in row for row in rows)}
    if any("patches_partial" in row for row in rows):
        out["patches_partial"] = _partial_metrics(rows, libraries)
    return out


def merge(results: list[dict]) -> dict:
    """One result from runs over different hosts (rows joined, metrics recomputed)."""
    out = {k: v for k, v in results[0].items() if not isinstance(v, dict)}
    for key in ("direct", "concentrated", "embedding_part"):
        parts = [r[key] for r in results if key in r]
        if not parts:
            continue
        rows = [row for p in parts for row in p["rows"]]
        libraries = {h: lib for p in parts for h, lib in p["libraries"].items()}
        out[key] = {"libraries": libraries, **_summary(rows, libraries), "rows": rows}
    return out


def spectra_parser(description: str) -> argparse.ArgumentParser:
    """The arguments that choose the test spectra (shared with ``signature_measured.py``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--hosts", nargs="*", default=None, help="fidelity hosts to run")
    parser.add_argument("--direct-cache", default=None, help="folder of direct DOS by config")
    parser.add_argument("--cache-dir", default=None, help="host force constants and patches")
    parser.add_argument("--part", default=None, help="a SevenNet embedding dataset part")
    parser.add_argument("--skip-direct", action="store_true")
    parser.add_argument("--json", default=None)
    return parser


def main() -> dict:
    parser = spectra_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--concentrated", action="store_true", help="also 64-atom cells at 1.6-12.5 at.%%"
    )
    parser.add_argument(
        "--series",
        action="store_true",
        help="with --concentrated: also read with each library's concentration series "
        "(SignatureLibrary.with_series, direct engine; kept in --direct-cache)",
    )
    parser.add_argument(
        "--merge",
        nargs="*",
        default=None,
        help="combine the JSON results of runs over host subsets",
    )
    args = parser.parse_args()
    if args.merge:
        return emit(merge([json.loads(Path(f).read_text()) for f in args.merge]), args.json)
    torch.set_num_threads(1)
    from defectnet_atomate.ml.quantifier import DefectQuantifier

    quantifier = DefectQuantifier.from_pretrained()
    result: dict = {"force_field": FORCE_FIELD, "cutoff": 6.0, "model": quantifier.name}
    sets = []
    if not args.skip_direct:
        sets.append(("direct", direct_rows))
    if args.concentrated:
        sets.append(("concentrated", concentrated_rows))
    if args.part:
        sets.append(("embedding_part", part_rows))
    for name, run in sets:
        rows, libraries = run(args, quantifier)
        result[name] = {"libraries": libraries, **_summary(rows, libraries), "rows": rows}
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
