"""How much more of a dopant's change does a one-site stiffness change explain than its mass?

python benchmarks/stiffness_signature.py [--limit N] [--pattern GLOB] [--json PATH]

The model's candidate-site inputs rest on the Lifshitz mass-defect signature
(:func:`~defectnet_atomate.phonons.dos.signature_from_green`), which explains direct-engine
spectra poorly (median cosine about 0.3, ``mass_defect_signature.py``): a dopant changes its
bonds as well as the mass on its site. The same single-site Green's function also gives the
signature of an impurity whose on-site force constant differs from the host atom's
(``stiffness_change``: the perturbation ``eps w^2 + delta``). This script asks, before any
model uses it, how far that one extra number can go, on the single-dopant spectra of the
committed CHGNet datasets (sampling-corrected, on the model's relative frequency grid):

- **ceiling**: the cosine of the observed change with the signature of the true dopant on
  its true site at the best ``delta`` of a grid (``delta`` in units of the host's highest
  frequency squared), against ``delta = 0`` (mass only);
- **wrong site**: the same best-``delta`` cosine on the host's other elements' sites (does
  the true site still win when every site gets its own stiffness?);
- **wrong dopant**: the best-``delta`` cosine of 12 other elements (seeded draw from the
  dopants of the datasets) on the true site: the fraction of them the true dopant beats,
  i.e. how much identification the shape alone keeps once the stiffness is free. What a
  free ``delta`` cannot tell apart, a prediction of ``delta`` (from the potential or learned
  from the pair's chemistry) would have to;
- **consistency**: for each (dopant, host element) pair seen in several hosts, the spread of
  the best ``delta``, against the spread over all pairs (a learnable ``delta`` is one that
  depends on the pair more than on the host).

The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from common import emit
from mass_defect_signature import by_engine, single_dopant_spectra
from pymatgen.core import Element

from defectnet_atomate.ml.featurize import BIN_CENTRES
from defectnet_atomate.phonons.dos import signature_from_green

ROOT = Path(__file__).resolve().parents[1]
DELTAS = np.round(np.arange(-0.6, 2.01, 0.05), 3)
"""Stiffness changes scanned, in units of the host's highest frequency squared."""
N_WRONG_DOPANTS = 12


def _best(diff: np.ndarray, green: np.ndarray, eps: float) -> tuple[float, float, float]:
    """Cosine at ``delta = 0``, the best cosine over ``DELTAS`` and its ``delta``."""
    rows = signature_from_green(BIN_CENTRES, green, np.full(DELTAS.size, eps), None, DELTAS)
    norms = np.linalg.norm(rows, axis=1)
    cos = np.where(norms > 1e-9, rows @ diff / (norms * (np.linalg.norm(diff) + 1e-12)), 0.0)
    i = int(np.argmax(cos))
    return float(cos[np.argmin(np.abs(DELTAS))]), float(cos[i]), float(DELTAS[i])


def _rows(docs: list[dict], others: list[str], rng: np.random.Generator) -> list[dict]:
    rows = []
    for d, base, hosts in single_dopant_spectra(docs):
        x = d["dopants"][0]
        diff = base.spectra[2].astype(float)
        # a uniform change of scale of the pristine DOS (lattice strain, a global stiffening):
        # d/da of (1 + a) g((1 + a) w) at a = 0; the change with it projected out
        pristine = base.spectra[1].astype(float)
        scaling = pristine + BIN_CENTRES * np.gradient(pristine, BIN_CENTRES)
        scaling /= np.linalg.norm(scaling) + 1e-12
        cos_scaling = abs(float(diff @ scaling)) / (np.linalg.norm(diff) + 1e-12)
        rest = diff - (diff @ scaling) * scaling
        site = x["replaces"]
        h = hosts.index(site)
        mass = Element(site).atomic_mass
        eps = 1 - Element(x["element"]).atomic_mass / mass
        cos0, best, delta = _best(diff, base.site_green[h], eps)
        rest_mass = _best(rest, base.site_green[h], eps)[0]
        rest_wrong_sites = [
            _best(
                rest,
                base.site_green[hosts.index(s)],
                1 - Element(x["element"]).atomic_mass / Element(s).atomic_mass,
            )[0]
            for s in hosts
            if s != site
        ]
        wrong_sites = [
            _best(
                diff,
                base.site_green[hosts.index(s)],
                1 - Element(x["element"]).atomic_mass / Element(s).atomic_mass,
            )
            for s in hosts
            if s != site
        ]
        pool = [o for o in others if o != x["element"] and o not in hosts]
        drawn = rng.choice(pool, size=min(N_WRONG_DOPANTS, len(pool)), replace=False)
        wrong_dopants = [
            _best(diff, base.site_green[h], 1 - Element(o).atomic_mass / mass) for o in drawn
        ]
        rows.append(
            {
                "engine": d["settings"]["engine"],
                "pair": f"{x['element']}:{site}",
                "host": d["host"].get("host_id"),
                "percent": x["atomic_percent"],
                "cosine_mass": cos0,
                "cosine_best": best,
                "cosine_scaling": cos_scaling,
                "rest_cosine_mass": rest_mass,
                "rest_wrong_site_mass": max(rest_wrong_sites) if rest_wrong_sites else None,
                "delta_best": delta,
                "wrong_site_mass": max(w[0] for w in wrong_sites) if wrong_sites else None,
                "wrong_site_best": max(w[1] for w in wrong_sites) if wrong_sites else None,
                "beats_wrong_dopants_mass": float(np.mean([cos0 > w[0] for w in wrong_dopants])),
                "beats_wrong_dopants_best": float(np.mean([best > w[1] for w in wrong_dopants])),
            }
        )
    return rows


def _summary(rows: list[dict]) -> dict:
    if not rows:
        return {"n": 0}
    get = lambda key: np.array([r[key] for r in rows], float)  # noqa: E731
    wrong = [r for r in rows if r["wrong_site_best"] is not None]
    out = {
        "n": len(rows),
        "median_cosine_mass": round(float(np.median(get("cosine_mass"))), 3),
        "median_cosine_best_delta": round(float(np.median(get("cosine_best"))), 3),
        "fraction_best_above_0.5": round(float(np.mean(get("cosine_best") > 0.5)), 3),
        "median_delta_best": round(float(np.median(get("delta_best"))), 3),
        "delta_at_grid_edge": round(float(np.mean(np.isin(get("delta_best"), DELTAS[[0, -1]]))), 3),
        "beats_wrong_dopants_mass": round(float(np.mean(get("beats_wrong_dopants_mass"))), 3),
        "beats_wrong_dopants_best_delta": round(float(np.mean(get("beats_wrong_dopants_best"))), 3),
        "n_multi_element_hosts": len(wrong),
        "true_site_beats_wrong_sites_mass": round(
            float(np.mean([r["cosine_mass"] > r["wrong_site_mass"] for r in wrong])), 3
        )
        if wrong
        else None,
        "median_cosine_scaling": round(float(np.median(get("cosine_scaling"))), 3),
        "median_rest_cosine_mass": round(float(np.median(get("rest_cosine_mass"))), 3),
        "rest_true_site_beats_wrong_sites_mass": round(
            float(np.mean([r["rest_cosine_mass"] > r["rest_wrong_site_mass"] for r in wrong])), 3
        )
        if wrong
        else None,
        "true_site_beats_wrong_sites_best_delta": round(
            float(np.mean([r["cosine_best"] > r["wrong_site_best"] for r in wrong])), 3
        )
        if wrong
        else None,
    }
    by_pair = defaultdict(list)
    for r in rows:
        by_pair[r["pair"]].append(r["delta_best"])
    repeated = [np.std(v) for v in by_pair.values() if len(v) >= 3]
    if repeated:
        out["pairs_seen_3_times"] = len(repeated)
        out["median_delta_spread_within_pair"] = round(float(np.median(repeated)), 3)
        out["delta_spread_all"] = round(float(np.std(get("delta_best"))), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--limit", type=int, default=None, help="documents per file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pattern",
        default="campaign-chgnet-*.json.gz",
        help="dataset parts in data/dataset (e.g. campaign-sevennet-*.json.gz)",
    )
    args = parser.parse_args()
    from defectnet_atomate.dataset import load_dataset

    files = sorted((ROOT / "data" / "dataset").glob(args.pattern))
    docs = [d for f in files for d in load_dataset(f)[: args.limit]]
    others = sorted({x["element"] for d in docs for x in d["dopants"]})
    rows = _rows(docs, others, np.random.default_rng(args.seed))
    result: dict = {
        "documents": len(docs),
        "single_dopant_spectra": len(rows),
        "deltas": [float(DELTAS[0]), float(DELTAS[-1]), 0.05],
    }
    emit({**result, **by_engine(rows, _summary)}, args.json)


if __name__ == "__main__":
    main()
