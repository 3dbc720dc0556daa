"""Does the shipped model fit its training spectra, or only fail on unseen hosts?

python benchmarks/model_capacity.py [--model NAME_OR_FOLDER] [--n 800] [--json benchmarks/results/model_capacity.json]

Evaluates the model (default: the one shipped in the package) on ``--n`` mass-defect spectra
of its own training hosts and on the held-out ones, with the split of
``scripts/train_pretrained.py`` and fresh distractor candidates. A model that fits its
training spectra well but not unseen hosts is limited by the data (hosts); one that fits
neither is limited by the model or its training. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import emit

from defectnet_atomate import DefectQuantifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import load_levels, split_levels  # noqa: E402

KEYS = ("auc", "f1", "f1_all_present_baseline", "median_relative_error", "mae_at_percent")


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    q = DefectQuantifier.from_pretrained(args.model)
    high, low = load_levels()
    _, (l_train, _, l_test) = split_levels(high, low)
    result = {"model": q.metadata.get("name")}
    for name, docs in (("training_hosts", l_train[: args.n]), ("unseen_hosts", l_test)):
        m = q.evaluate(docs)
        result[name] = {k: round(m[k], 3) for k in KEYS} | {"n_examples": m["n_examples"]}
    return emit(result, args.json)


if __name__ == "__main__":
    main()
