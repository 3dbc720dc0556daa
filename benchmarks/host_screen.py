"""How much of a campaign went to hosts that are unstable with the potential.

python benchmarks/host_screen.py [--json PATH] [--limit 0.02]

Reads the committed exports of ``data/dataset/`` (every level) and, per spectrum, the share
of its pristine host's DOS below ``-IMAGINARY_TOLERANCE_THZ`` (the exports keep DOS, not
modes: the Gaussian broadening of 0.1 THz puts a little of the zero-frequency acoustic
modes there too, so this share slightly overstates the modes' share). A host above
``--limit`` is one that the screen of 0.15 (``MAX_HOST_IMAGINARY``) refuses. Printed per
level: spectra, the share of them from such hosts, and how many spectra are flagged
(``imaginary_fraction`` above the limit, left out of training) with and without the screen.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from common import emit

from defectnet_atomate.dataset import MAX_HOST_IMAGINARY, load_dataset
from defectnet_atomate.spectra import IMAGINARY_TOLERANCE_THZ

ROOT = Path(__file__).resolve().parents[1]


def negative_share(pdos: dict) -> float:
    """Share of a DOS's area below ``-IMAGINARY_TOLERANCE_THZ``."""
    f = np.asarray(pdos["frequencies"], dtype=float)
    g = np.clip(np.asarray(pdos["total"], dtype=float), 0, None)
    total = np.trapezoid(g, f)
    below = f < -IMAGINARY_TOLERANCE_THZ
    return float(np.trapezoid(g[below], f[below]) / total) if total > 0 and below.sum() > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=MAX_HOST_IMAGINARY)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    levels: dict[str, dict] = {}
    for path in sorted((ROOT / "data" / "dataset").glob("campaign-chgnet-*.json.gz")):
        for doc in load_dataset(path):
            level = levels.setdefault(
                doc["settings"]["engine"], {"hosts": {}, "spectra": 0, "flagged": 0, "rows": []}
            )
            host = doc["host"]["host_id"]
            if host not in level["hosts"]:
                level["hosts"][host] = negative_share(doc["pristine_pdos"])
            unstable = level["hosts"][host] > args.limit
            flagged = doc["imaginary_fraction"] > args.limit
            level["rows"].append((unstable, flagged))
    result: dict = {"limit": args.limit, "levels": {}}
    for name, level in sorted(levels.items()):
        rows = np.asarray(level["rows"], dtype=bool)
        unstable, flagged = rows[:, 0], rows[:, 1]
        hosts = np.asarray(list(level["hosts"].values()))
        result["levels"][name] = {
            "hosts": len(hosts),
            "unstable_hosts": int((hosts > args.limit).sum()),
            "spectra": len(rows),
            "spectra_of_unstable_hosts": int(unstable.sum()),
            "flagged": int(flagged.sum()),
            "flagged_of_unstable_hosts": int((flagged & unstable).sum()),
            "usable_without_screen": int((~flagged).sum()),
            "usable_with_screen": int((~flagged & ~unstable).sum()),
            "usable_share_without_screen": round(float((~flagged).mean()), 3),
            "usable_share_with_screen": round(
                float((~flagged & ~unstable).sum() / max((~unstable).sum(), 1)), 3
            ),
        }
        print(name, result["levels"][name], flush=True)
    emit(result, args.json)


if __name__ == "__main__":
    main()
