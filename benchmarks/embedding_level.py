"""How does a model read dilute dopants whose spectra carry their bonding (the embedding level)?

python benchmarks/embedding_level.py [--model NAME_OR_FOLDER] [--json benchmarks/results/embedding_level.json]

The models shipped so far learned dilute dopants (below 2 at.%) only from the mass-defect level:
the host's force constants with the dopants' masses, no change of bonding around a dopant.
The embedding level (``data/dataset/campaign-chgnet-embedding-*.json.gz``: host force
constants plus each dopant's whole-cell patch and relaxation, dopants 0.2-1 at.% each and at
least 7 A apart) carries that bonding, as a measured sample does. This evaluates the model
(default: the shipped one) on the embedding spectra of hosts it never saw (the host split of
``scripts/train_pretrained.py``, every level together), on those of every host (most were
seen at the other levels, never at this one), and, for comparison, on the mass-defect
spectra of the unseen hosts whose dopants all lie in the same band (at most ``--band``
at.% each). ``--twins`` also simulates, for every usable embedding spectrum, its masses-only
twin: the same host, the same dopant counts in a supercell of the same size, with the
mass-defect level (``EmbeddingSettings(patches=False)``, dopant sites drawn anew: at these
separations the masses-only DOS hardly depends on them; host force constants cached in
``--cache-dir``). The model's reading of the twins against that of the embedding spectra
separates what the dopants' bonding does from what the hosts and cells do. Each set is also
read as measurement-like spectra (``measured_like_examples``, the model's measured rule).
Fresh distractor candidates as in every evaluation. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import emit

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.dataset import load_dataset
from defectnet_atomate.ml.augment import measured_like_examples
from defectnet_atomate.ml.training import examples_from_docs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import load_levels, split_levels  # noqa: E402

KEYS = (
    "auc",
    "f1",
    "precision",
    "recall",
    "pristine_false_positive_rate",
    "mae_at_percent",
    "median_relative_error",
)


def load_embedding(paths: list[str] | None = None) -> list[dict]:
    """Embedding-level documents of the committed dataset files (or of ``paths``)."""
    files = paths or sorted((ROOT / "data" / "dataset").glob("campaign-chgnet-embedding-*.json.gz"))
    docs = {d["config_id"]: d for f in files for d in load_dataset(f)}
    return [d for d in docs.values() if d["settings"]["engine"] == "embedding"]


def masses_only_twins(docs: list[dict], cache_dir: str | None = None) -> list[dict]:
    """The mass-defect spectrum of each document's host, dopant counts and cell size."""
    from pymatgen.core import Structure

    from defectnet_atomate.builders import doc_to_store_dict
    from defectnet_atomate.doping import Doping, DopingError
    from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings

    engine = EmbeddingEngine(settings=EmbeddingSettings(patches=False), cache_dir=cache_dir)
    twins = []
    for d in docs:
        dopings = [
            Doping(p["element"], p["replaces"], round(p["atomic_percent"], 4)) for p in d["dopants"]
        ]
        n = d["num_sites"]
        host = d["host"]["structure"]
        host = host if isinstance(host, Structure) else Structure.from_dict(host)
        try:
            twin = engine.run(host, dopings, host_id=d["host"]["host_id"], max_atoms=n, min_atoms=n)
        except DopingError as exc:  # no cell of that size realises the counts: no twin
            print(f"no twin for {d['config_id']}: {exc}", file=sys.stderr)
            continue
        twin.config_id = f"{d['config_id']}-masses-only"
        twins.append(doc_to_store_dict(twin))
    return twins


def _metrics(q: DefectQuantifier, docs: list[dict], measured: bool = False) -> dict:
    examples = examples_from_docs(docs)  # flagged spectra (imaginary modes) left out
    n_doped = sum(bool(e.truth) for e in examples)
    if not n_doped:
        return {"n_spectra": 0}
    m = q.evaluate(measured_like_examples(examples) if measured else examples, measured=measured)
    out = {k: None if m.get(k) is None else round(m[k], 3) for k in KEYS}
    dilute = (m.get("by_concentration") or {}).get("0.2-1.0") or {}
    out["recall_below_1"] = None if dilute.get("recall") is None else round(dilute["recall"], 3)
    out["mae_below_1"] = (
        None if dilute.get("mae_at_percent") is None else round(dilute["mae_at_percent"], 3)
    )
    out["n_dilute_dopants"] = dilute.get("n", 0)
    hosts = {e.host_id for e in examples}
    return out | {"n_spectra": n_doped, "n_hosts": len(hosts)}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--dataset", action="append", default=None, help="embedding export(s)")
    parser.add_argument("--band", type=float, default=1.0, help="largest at.%% per dopant")
    parser.add_argument("--twins", action="store_true", help="masses-only twins too")
    parser.add_argument("--cache-dir", default=None, help="host force constants (twins)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    q = DefectQuantifier.from_pretrained(args.model)
    high, low = load_levels()
    embedded = load_embedding(args.dataset)
    if not embedded:
        raise SystemExit("No embedding-level spectra found: export a campaign first.")
    # one split over every level: a host falls in one set at all levels (hosts that only the
    # embedding level has go by the hash of their id, as the mass-defect ones do)
    _, (_, _, low_test) = split_levels(high, low + embedded)
    test_hosts = {d["host"]["host_id"] for d in low_test}
    emb_unseen = [d for d in embedded if d["host"]["host_id"] in test_hosts]
    md_band = [
        d
        for d in low_test
        if d["settings"]["engine"] == "mass-defect"
        and max(p["atomic_percent"] for p in d["dopants"]) <= args.band
    ]
    sets = {
        "embedding_unseen_hosts": emb_unseen,
        "embedding_all_hosts": embedded,
        "mass_defect_band_unseen_hosts": md_band,
    }
    result: dict = {"model": q.metadata.get("name"), "band_at_percent": args.band}
    if args.twins:
        usable = [d for d in embedded if d["imaginary_fraction"] <= 0.02]
        twins = masses_only_twins(usable, args.cache_dir)
        unseen_twins = [t for t in twins if t["host"]["host_id"] in test_hosts]
        sets["masses_only_twins_unseen_hosts"] = unseen_twins
        sets["masses_only_twins_all_hosts"] = twins
        sets["embedding_with_twins_all_hosts"] = [
            d for d in usable if f"{d['config_id']}-masses-only" in {t["config_id"] for t in twins}
        ]
    for name, docs in sets.items():
        result[name] = _metrics(q, docs)
        result[f"{name}_measured_like"] = _metrics(q, docs, measured=True)
    return emit(result, args.json)


if __name__ == "__main__":
    main()
