"""The shipped model on dataset parts made after it, split by whether it saw their hosts.

python benchmarks/new_parts.py [--parts FILE ...] [--json benchmarks/results/new_parts.json]

Every direct part committed after the shipped model was trained (by default those whose
spectra it did not train on: parts ``2026.12j`` and later) is a fresh sample of the direct
level. Its spectra are scored with ``DefectQuantifier.evaluate`` (each spectrum's true
dopants plus its host's plausible distractors, the model's decision rule for simulated
spectra) in two groups:

- **hosts it never saw** (not in ``metadata['seen_hosts']``: neither in training, at any
  fidelity level, nor in calibration): the held-out reading of new crystals, larger than
  the model card's direct test set;
- **hosts it saw** (most of them at the mass-defect level only): what having seen a
  crystal's mass-defect spectra buys at its direct level.

The same as ``defectnet evaluate PARTS --unseen-hosts``. The last line printed is a JSON
object.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import emit

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.dataset import load_dataset

ROOT = Path(__file__).resolve().parents[1]
FIRST_UNTRAINED = "campaign-chgnet-direct-2026.12j.json.gz"
"""The first direct part the shipped model did not train on (its data: 713 direct spectra,
parts up to ``2026.12i``)."""
KEYS = (
    "n_examples",
    "n_pristine",
    "n_dopants_total",
    "auc",
    "precision",
    "recall",
    "f1",
    "f1_all_present_baseline",
    "pristine_false_positive_rate",
    "mae_at_percent",
    "median_relative_error",
)


def _default_parts() -> list[Path]:
    parts = sorted((ROOT / "data" / "dataset").glob("campaign-chgnet-direct-*.json.gz"))
    return [p for p in parts if p.name >= FIRST_UNTRAINED]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="*", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    parts = [Path(p) for p in args.parts] if args.parts else _default_parts()
    model = DefectQuantifier.from_pretrained(args.model)
    seen = set(model.metadata.get("seen_hosts", []))
    docs = [d for p in parts for d in load_dataset(p)]
    result: dict = {"model": model.name, "parts": [p.name for p in parts]}
    for label, keep in (("unseen_hosts", False), ("seen_hosts", True)):
        mine = [d for d in docs if (d["host"].get("host_id") in seen) == keep]
        hosts = {d["host"].get("host_id") for d in mine}
        if not mine:
            result[label] = {"n_hosts": 0}
            continue
        metrics = model.evaluate(mine)
        result[label] = {
            "n_hosts": len(hosts),
            **{
                k: round(metrics[k], 4) if isinstance(metrics[k], float) else metrics[k]
                for k in KEYS
            },
            "by_concentration": metrics.get("by_concentration"),
            "by_n_dopants": metrics.get("by_n_dopants"),
        }
    return emit(result, args.json)


if __name__ == "__main__":
    main()
