"""Does the network read direct spectra better when their fine structure is smoothed away?

python benchmarks/direct_smoothing.py [--model NAME_OR_FOLDER] [--json benchmarks/results/direct_smoothing.json]

The direct engine's cells (54-64 atoms) have a DOS with fine structure from their few
q-points, and the same cell relaxed twice gives DOS overlaps of 0.94-0.99
(``relaxation_start.py``). The patch signatures read such cells far better at 3 meV
resolution (``signature_unmixing.py``). Here the model (default: the shipped one) reads the
direct spectra of the validation and test hosts of ``scripts/train_pretrained.py``'s split
as they are and with every DOS of each document (doped, converged pristine, cell
reference; totals, projections and neutron forms alike) convolved with a Gaussian of 1, 2
and 4 % of the host's highest frequency (99.9 % area quantile of its pristine DOS), with
the evaluation's seeded distractor candidates. The last line printed is a JSON object.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
from common import emit, model_parser

from defectnet_atomate import DefectQuantifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import load_levels, split_levels  # noqa: E402

WIDTHS = (0.0, 0.01, 0.02, 0.04)
"""Gaussian widths, in units of the host's highest frequency (0: as simulated)."""
KEYS = ("auc", "f1", "mae_at_percent", "median_relative_error")


def _gaussian(frequencies: list, densities: list, sigma: float) -> list:
    f, y = np.asarray(frequencies), np.asarray(densities, float)
    step = f[1] - f[0]
    half = int(4 * sigma / step) + 1
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * step / sigma) ** 2)
    return np.convolve(y, kernel / kernel.sum(), mode="same").tolist()


def smoothed(doc: dict, width: float) -> dict:
    """``doc`` with every DOS convolved with a Gaussian of ``width`` x the host's top frequency."""
    out = copy.deepcopy(doc)
    pristine = np.clip(np.asarray(doc["pristine_pdos"]["total"]), 0, None)
    area = np.cumsum(pristine)
    top = doc["pristine_pdos"]["frequencies"][np.searchsorted(area, 0.999 * area[-1])]
    sigma = width * top
    for key in ("pdos", "pristine_pdos", "cell_pristine_pdos"):
        dos = out.get(key)
        if not dos:
            continue
        for name in ("total", "neutron"):
            if dos.get(name) is not None:
                dos[name] = _gaussian(dos["frequencies"], dos[name], sigma)
        for element, values in (dos.get("projected") or {}).items():
            dos["projected"][element] = _gaussian(dos["frequencies"], values, sigma)
    return out


def main() -> dict:
    parser = model_parser(__doc__.splitlines()[0])
    args = parser.parse_args()
    q = DefectQuantifier.from_pretrained(args.model[0] if args.model else None)
    high, low = load_levels()
    (_, h_val, h_test), _ = split_levels(high, low)
    result: dict = {"model": q.metadata.get("name"), "widths": list(WIDTHS), "rows": []}
    for name, docs in (("validation hosts", h_val), ("test hosts", h_test)):
        for width in WIDTHS:
            m = q.evaluate(docs if width == 0 else [smoothed(d, width) for d in docs])
            row = {"direct spectra of": name, "width": width, "n_examples": m["n_examples"]}
            result["rows"].append(row | {k: round(m[k], 3) for k in KEYS})
            print(result["rows"][-1], flush=True)
    return emit(result, args.json)


if __name__ == "__main__":
    main()
