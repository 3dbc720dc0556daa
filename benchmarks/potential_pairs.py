"""The same campaign requests with two potentials: how a model reads each, and how far their dopants move the DOS.

python benchmarks/potential_pairs.py --other data/dataset/campaign-sevennet-direct-<date>.json.gz
    [--engine direct|mass-defect] [--model NAME_OR_FOLDER] [--json benchmarks/results/potential_pairs.json]

A campaign rerun with ``--force-field SevenNet`` (same seed, hosts and options) draws the same
requests as the committed CHGNet campaign of that engine (``--engine``: ``direct``, or
``mass-defect``, where the two potentials differ only in the host's force constants): same
host, dopants, target concentrations and seed. This pairs the two exports' usable spectra by request (host id, dopant, replaced
species and target concentration of every dopant), and gives, on the pairs only: the model's
metrics on each potential's spectra (fresh distractor candidates; all pairs, most of whose
CHGNet spectra the model trained on, and those of hosts it never saw), and each spectrum's dopant
effect, 1 - overlap of the doped DOS with its cell reference (what the model reads). The last
line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from common import emit

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.dataset import load_dataset
from defectnet_atomate.ml.training import examples_from_docs
from defectnet_atomate.spectra import spectral_overlap

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import load_levels, split_levels  # noqa: E402

KEYS = ("auc", "f1", "precision", "recall", "mae_at_percent", "median_relative_error")


def request_key(doc: dict) -> tuple:
    """What two potentials' runs of one campaign request share."""
    dopants = sorted(
        (p["element"], p["replaces"], round(p["target_atomic_percent"], 3)) for p in doc["dopants"]
    )
    return (doc["host"]["host_id"], tuple(dopants))


def effect(doc: dict) -> float:
    """1 - overlap of the doped DOS with its cell reference."""
    a, b = doc["pdos"], doc.get("cell_pristine_pdos") or doc["pristine_pdos"]
    return 1 - spectral_overlap(a["frequencies"], a["total"], b["frequencies"], b["total"])


def _metrics(q: DefectQuantifier, docs: list[dict]) -> dict:
    m = q.evaluate(examples_from_docs(docs))
    return {k: None if m.get(k) is None else round(m[k], 3) for k in KEYS} | {
        "n_examples": m["n_examples"]
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", action="append", required=True, help="export(s) to pair")
    parser.add_argument("--engine", default="direct", choices=["direct", "mass-defect"])
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    q = DefectQuantifier.from_pretrained(args.model)
    high, low = load_levels()
    (_, _, h_test), (_, _, l_test) = split_levels(high, low)
    test_hosts = {d["host"]["host_id"] for d in h_test + l_test}
    other = {d["config_id"]: d for f in args.other for d in load_dataset(f)}
    usable = [
        d
        for d in other.values()
        if d["imaginary_fraction"] <= 0.02 and d["settings"]["engine"] == args.engine
    ]
    level = high if args.engine == "direct" else low
    mine = {request_key(d): d for d in level if d["imaginary_fraction"] <= 0.02}
    pairs = [(mine[request_key(d)], d) for d in usable if request_key(d) in mine]
    if not pairs:
        raise SystemExit(
            f"No {args.engine} request of --other matches a committed CHGNet {args.engine} "
            "spectrum: pass an export of the same campaign (seed, hosts, --chunk) run with "
            "another --force-field, and --engine of its level."
        )
    potential = pairs[0][1]["calculator"]["name"]
    ratios = [effect(a) / max(effect(b), 1e-6) for a, b in pairs]
    result: dict = {
        "model": q.metadata.get("name"),
        "other_potential": potential,
        "engine": args.engine,
        "n_pairs": len(pairs),
        "n_hosts": len({a["host"]["host_id"] for a, _ in pairs}),
        "n_pairs_unseen_hosts": sum(a["host"]["host_id"] in test_hosts for a, _ in pairs),
        "median_effect_chgnet": round(statistics.median(effect(a) for a, _ in pairs), 4),
        f"median_effect_{potential.lower()}": round(
            statistics.median(effect(b) for _, b in pairs), 4
        ),
        "median_effect_ratio": round(statistics.median(ratios), 2),
        "chgnet": _metrics(q, [a for a, _ in pairs]),
        potential.lower(): _metrics(q, [b for _, b in pairs]),
    }
    unseen = [(a, b) for a, b in pairs if a["host"]["host_id"] in test_hosts]
    if unseen:  # the model trained on the CHGNet spectra of the other hosts
        result["chgnet_unseen_hosts"] = _metrics(q, [a for a, _ in unseen])
        result[f"{potential.lower()}_unseen_hosts"] = _metrics(q, [b for _, b in unseen])
    return emit(result, args.json)


if __name__ == "__main__":
    main()
