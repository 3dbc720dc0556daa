"""Could a doped cell's relaxation that will not converge be stopped early?

python benchmarks/relaxation_histories.py [--json benchmarks/results/relaxation_histories.json]

Since 0.29 the direct engine records the optimiser's residual force every 10 steps
(``RelaxationInfo.fmax_history``): the committed exports keep it for every spectrum, and
for every cell refused at the step limit (``UnrelaxedCellError``, whose message carries the
same history). This script reads the committed direct exports and asks, for simple rules
"stop at step S if the residual force is still above F eV/A", how many refused
relaxations each rule would have stopped early, how many spectra it would have lost (cells
that went on to pass the campaign's screen), and how many optimiser steps it would have
saved out of all those spent. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

from common import emit

from defectnet_atomate.dataset import load_dataset
from defectnet_atomate.phonons.direct import RELAXATION_HISTORY_INTERVAL, DirectSettings

ROOT = Path(__file__).resolve().parents[1]
STEPS = (100, 150, 200)
FORCES = (0.1, 0.2, 0.3, 0.5)
MARK = "steps (eV/A): "


def _refused_history(error: str) -> list[float] | None:
    if not error.startswith("UnrelaxedCellError") or MARK not in error:
        return None
    text = error.split(MARK, 1)[1].strip().rstrip(".")
    return [float(x) for x in text.split(", ")] if text else None


def load_histories() -> tuple[list[dict], list[list[float]]]:
    """Relaxation records of spectra with a history, and histories of refused cells."""
    spectra, refused = [], []
    for path in sorted((ROOT / "data" / "dataset").glob("campaign-*-direct-*.json.gz")):
        for doc in load_dataset(path):
            relaxation = doc.get("relaxation") or {}
            if relaxation.get("fmax_history"):
                spectra.append(relaxation)
        with gzip.open(path, "rt") as handle:
            content = json.load(handle)
        for record in content.get("refused", []) if isinstance(content, dict) else []:
            history = _refused_history(str(record.get("error", "")))
            if history:
                refused.append(history)
    return spectra, refused


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    max_steps = DirectSettings().max_steps
    spectra, refused = load_histories()
    spent = sum(r["n_steps"] for r in spectra) + max_steps * len(refused)
    rows = []
    for step in STEPS:
        i = step // RELAXATION_HISTORY_INTERVAL
        reached = [r["fmax_history"] for r in spectra if r["n_steps"] >= step]
        for force in FORCES:
            stopped = [h for h in refused if len(h) > i and h[i] > force]
            lost = [h for h in reached if len(h) > i and h[i] > force]
            saved = (max_steps - step) * len(stopped)
            rows.append(
                {
                    "stop_at_step": step,
                    "above_eV_per_A": force,
                    "refused_stopped": len(stopped),
                    "spectra_lost": len(lost),
                    "spectra_reaching_step": len(reached),
                    "steps_saved": saved,
                    "share_of_steps_saved": round(saved / spent, 3) if spent else None,
                }
            )
    result = {
        "n_spectra_with_history": len(spectra),
        "n_refused_with_history": len(refused),
        "max_steps": max_steps,
        "steps_spent": spent,
        "refused_share_of_steps": round(max_steps * len(refused) / spent, 3) if spent else None,
        "rules": rows,
    }
    return emit(result, args.json)


if __name__ == "__main__":
    main()
