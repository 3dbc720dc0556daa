"""How much dilute dopants interact in cells larger than the patch cell (additivity check).

python benchmarks/embedding_additivity.py [--json out.json] [--case HOST DOPINGS MAX_ATOMS]

For each case (default: C and Sn at 0.2 at.% each in a ~460-atom Si cell) the embedding
engine's additivity check (``EmbeddingEngine.extra_relaxation``: how far the cell would
still relax because its dopants interact) over seeded placements; placements with dopants
closer than the validated separation are skipped, as the engine's ``run`` redraws them.
Needs only the dopants' relaxations in the ~216-atom patch cell, not their patches. The last
line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit
from engine_fidelity import _host

from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.phonons.embedding import (
    EmbeddingEngine,
    EmbeddingSettings,
    SeparationError,
)

CASES = [("mp-149", "C:Si:0.2,Sn:Si:0.2", 520)]


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=None)
    parser.add_argument("--seeds", type=int, default=12, help="placements tried per case")
    parser.add_argument(
        "--case", nargs=3, action="append", default=None, metavar=("HOST", "DOPINGS", "MAX_ATOMS")
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    limit = EmbeddingSettings().max_extra_relaxation
    engine = EmbeddingEngine()
    results = []
    for host_id, dopings, max_atoms in args.case or CASES:
        host = DirectEngine(settings=DirectSettings(relax_cell=False)).relax_host(_host(host_id))
        extras, atoms = [], None
        for seed in range(args.seeds):
            doped = make_doped_supercell(
                host, dopings.split(","), seed=seed, max_atoms=int(max_atoms)
            )
            try:
                extras.append(round(engine.extra_relaxation(doped), 5))
            except SeparationError:  # dopants too close: the engine redraws such placements
                continue
            atoms = doped.num_sites
        row = {
            "host": host_id,
            "dopings": dopings.split(","),
            "atoms": atoms,
            "placements": len(extras),
            "extra_relaxation": extras,
            "median": statistics.median(extras) if extras else None,
            "accepted": sum(x <= limit for x in extras),
        }
        results.append(row)
        print(json.dumps(row), flush=True)
    return emit({"max_extra_relaxation_angstrom": limit, "cases": results}, args.json)


if __name__ == "__main__":
    main()
