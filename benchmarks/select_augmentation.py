"""Pick the augmentation strength of the shipped model on VALIDATION hosts (never test).

python benchmarks/select_augmentation.py MODEL_FOLDER [MODEL_FOLDER ...]

Models trained by ``scripts/train_pretrained.py`` with different ``--augment-probability``
are compared on the validation hosts of that script's split: AUC on clean spectra and on
measurement-like copies (threshold-free, so the comparison does not depend on calibration).
Writes ``benchmarks/results/select_augmentation.json``; the last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.augment import measured_like_examples
from defectnet_atomate.ml.training import evaluate_network, examples_from_docs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import load_levels, split_levels  # noqa: E402


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    high, low = load_levels()
    (_, h_val, _), (_, l_val, _) = split_levels(high, low)
    clean = examples_from_docs(h_val + l_val)
    measured = measured_like_examples(clean, seed=21)
    rows = []
    for folder in args.models:
        q = DefectQuantifier.from_pretrained(folder)
        history = q.metadata.get("history", {})
        row = {
            "model": Path(folder).name,
            "augment_probability": _probability(q.metadata.get("data", "")),
            "validation_auc_clean": round(evaluate_network(q.network, clean)["auc"], 3),
            "validation_auc_measured_like": round(evaluate_network(q.network, measured)["auc"], 3),
            "epochs_run": len(history.get("train_loss", [])),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    best = max(rows, key=lambda r: (r["validation_auc_measured_like"], r["validation_auc_clean"]))
    result = {"candidates": rows, "chosen": best["model"]}
    (ROOT / "benchmarks" / "results" / "select_augmentation.json").write_text(
        json.dumps(result, indent=1)
    )
    print(json.dumps(result))
    return result


def _probability(text: str) -> float | None:
    marker = "augmentation: probability "
    if marker not in text:
        return None
    return float(text.split(marker, 1)[1].split(";", 1)[0])


if __name__ == "__main__":
    main()
