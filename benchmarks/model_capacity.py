"""Can the network fit its own training spectra? (underfitting against generalisation)

python benchmarks/model_capacity.py [--n 300] [--epochs 60] [--json benchmarks/results/model_capacity.json]

Trains the default network on ``--n`` mass-defect spectra of the committed dataset
(imaginary-mode spectra left out, first hosts of the seeded host split) for ``--epochs``
epochs and evaluates it on the SAME spectra (with fresh distractor candidates). A model
that generalises badly but fits its data scores high here; one that cannot even fit its
data scores about as low as on unseen hosts. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.dataset import load_dataset
from defectnet_atomate.ml import split_by_host

ROOT = Path(__file__).resolve().parents[1]


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    (source,) = sorted((ROOT / "data" / "dataset").glob("*mass-defect*.json.gz"))
    docs = [d for d in load_dataset(source) if d.get("imaginary_fraction", 0.0) <= 0.02]
    train, _, _ = split_by_host(docs, (0.7, 0.15, 0.15), seed=0)
    small = train[: args.n]
    t0 = time.perf_counter()
    q = DefectQuantifier(seed=0)
    history = q.fit(
        small,
        small[: args.n // 3],
        epochs=args.epochs,
        patience=args.epochs,
        lr=args.lr,
        seed=0,
        progress=False,
        calibrate=False,
    )
    m = q.evaluate(small)
    result = {
        "n_spectra": len(small),
        "n_hosts": len({d["host"]["host_id"] for d in small}),
        "epochs": args.epochs,
        "lr": args.lr,
        "train_loss_first_last": [
            round(history["train_loss"][0], 3),
            round(history["train_loss"][-1], 3),
        ],
        "auc_on_training_spectra": round(m["auc"], 3),
        "f1_on_training_spectra": round(m["f1"], 3),
        "f1_all_present_baseline": round(m["f1_all_present_baseline"], 3),
        "median_relative_error_on_training_spectra": round(m["median_relative_error"], 3),
        "minutes": round((time.perf_counter() - t0) / 60, 1),
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
