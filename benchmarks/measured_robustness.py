"""Accuracy on measurement-like spectra of unseen hosts, with and without robust training.

python benchmarks/measured_robustness.py [--epochs 30] [--quick]

Two models are trained on the same spectra (the committed dataset files, split by host as
in ``benchmarks/training_recipes.py``): one on clean simulated spectra, one with
:class:`~defectnet_atomate.ml.augment.MeasurementAugmentation`. Both are evaluated on the
test hosts' spectra turned into measurement-like spectra by a fixed, seeded draw of the
same kinds of distortion (resolution, counting noise, background, multiphonon tail,
energy-scale error; the reference broadened alike half of the time), and on the clean
test spectra. The pristine false-positive rate is that of the distorted pristine spectra:
a pristine measured-like spectrum must come back with no dopants.

Writes ``benchmarks/results/measured_robustness.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml import split_levels_by_host
from defectnet_atomate.ml.augment import MeasurementAugmentation
from defectnet_atomate.ml.training import examples_from_docs

ROOT = Path(__file__).resolve().parents[1]


def measured_like(examples: list, seed: int = 7) -> list:
    """Each example with a seeded measurement-like distortion (always applied)."""
    augment = MeasurementAugmentation(probability=1.0)
    rng = np.random.default_rng(seed)
    out = []
    for e in examples:
        doped, pristine = augment(e.doped, e.pristine, rng)
        if not e.truth:  # a measured pristine sample against the (same) reference
            pristine = e.pristine
        out.append(replace(e, doped=doped, pristine=pristine, _features=None))
    return out


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from training_recipes import load_levels, summary

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="1000 mass-defect spectra, 6 epochs")
    args = parser.parse_args()
    epochs = 6 if args.quick else args.epochs
    high, low = load_levels(1000 if args.quick else None)
    (h_train, h_val, h_test), (l_train, l_val, l_test) = split_levels_by_host(high, low, seed=0)
    train, val = h_train + l_train, h_val + l_val
    test = examples_from_docs(h_test + l_test)
    distorted = measured_like(test)
    fit = {"epochs": epochs, "patience": max(4, epochs // 4), "seed": 0, "progress": False}
    results: dict = {"n_test_examples": len(test), "epochs": epochs, "models": {}}
    for name, augment in (("clean training", None), ("robust training", MeasurementAugmentation())):
        t0 = time.perf_counter()
        q = DefectQuantifier(seed=0)
        q.fit(train, val, augment=augment, **fit)
        results["models"][name] = {
            "train_s": round(time.perf_counter() - t0, 1),
            "clean_test": summary(q.evaluate(test)),
            "measured_like_test": summary(q.evaluate(distorted)),
        }
        m = results["models"][name]["measured_like_test"]
        print(
            f"{name}: measured-like F1 {m['f1']:.3f}, MAE {m['mae_at_percent']}, pristine FPR "
            f"{m['pristine_false_positive_rate']}",
            flush=True,
        )
    out = ROOT / "benchmarks" / "results" / "measured_robustness.json"
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
