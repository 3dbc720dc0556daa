"""CHGNet's neighbour graph built once per cell, not once per displaced copy.

python benchmarks/graph_reuse.py [--repeats 24] [--json benchmarks/results/graph_reuse.json]

For every call CHGNet's ASE calculator converts the atoms to a pymatgen structure, finds
the neighbours within 6 A and builds the line graph of the bonds within 3 A, in Python,
before its network runs. The displaced copies of one cell (0.01 A moves) have the same
neighbours and bonds as the cell itself, up to pairs within 0.01 A of a cutoff, where
CHGNet's smooth envelope makes their share of the forces nearly zero. Since 0.29 the
engines' finite displacements run inside
:func:`~defectnet_atomate.phonons.calculators.fixed_neighbours`: the graph of the
undisplaced cell, with each copy's positions.

Measured, single-threaded torch:

1. **Per evaluation**: the displaced Si cells of ``force_evaluation.py`` (64 and 216 atoms,
   two Ge, one atom moved by 0.01 A in each of ``--repeats`` cells), forces only, a graph
   per cell against the reference's graph; seconds per evaluation and the largest
   difference of the forces (eV/A).
2. **Direct engine**: ``DirectEngine.run_supercell`` of the two doped Si cells of
   ``force_evaluation.py``, with a graph per displaced cell (``fixed_neighbours`` replaced by
   the plain forces calculator, as 0.28 ran it) and with the reference's graph,
   alternating, twice each, a fresh engine every time (the fastest run of each counts);
   wall time, the largest difference of the two total DOS (relative to its maximum) and
   their overlap (1 - half the L1 distance of the unit-area DOS).

The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import platform
from contextlib import nullcontext
from typing import Any
from unittest.mock import patch

import numpy as np
import torch
from common import emit
from force_evaluation import _displaced, _per_evaluation, compare_modes

import defectnet_atomate.phonons.direct as direct_module
from defectnet_atomate.phonons.calculators import (
    fixed_neighbours,
    forces_calculator,
    load_calculator,
)


def _own_graphs(calculator: Any, atoms: Any) -> Any:
    """``fixed_neighbours`` as 0.28 had it: nothing reused."""
    return nullcontext(forces_calculator(calculator))


def evaluations(repeats: int) -> list[dict]:
    """Seconds per forces-only evaluation, own graph against the reference's."""
    calculator = load_calculator("CHGNet")[0]
    lean = forces_calculator(calculator)
    rows = []
    for multiple in (2, 3):
        cells = _displaced(multiple, repeats)
        reference = cells[0].copy()
        reference.positions[0, 0] -= 0.01  # the undisplaced cell
        _per_evaluation(lean, cells[:2])  # warm-up
        own, f_own = _per_evaluation(lean, cells)
        with fixed_neighbours(calculator, reference) as calc:
            shared, f_shared = _per_evaluation(calc, cells)
        rows.append(
            {
                "n_atoms": len(cells[0]),
                "s_per_evaluation_own_graph": round(own, 4),
                "s_per_evaluation_shared_graph": round(shared, 4),
                "speedup": round(own / shared, 2),
                "max_force_difference_eV_per_A": float(np.abs(f_own - f_shared).max()),
            }
        )
        print(rows[-1], flush=True)
    return rows


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.clip(a, 0, None), np.clip(b, 0, None)
    return float(1 - 0.5 * np.abs(a / a.sum() - b / b.sum()).sum())


def engine_runs(repeats: int = 2) -> list[dict]:
    """The direct engine on the two doped Si cells, own graphs against shared ones."""
    modes = {
        "own": lambda: patch.object(direct_module, "fixed_neighbours", _own_graphs),
        "shared": nullcontext,
    }

    def fields(times: dict, totals: dict) -> dict:
        return {
            "s_own_graph": round(times["own"], 1),
            "s_shared_graph": round(times["shared"], 1),
            "speedup": round(times["own"] / times["shared"], 2),
            "max_dos_difference_relative": float(
                np.abs(totals["shared"] - totals["own"]).max() / totals["own"].max()
            ),
            "dos_overlap": round(_overlap(totals["shared"], totals["own"]), 6),
        }

    return compare_modes(modes, fields, repeats)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=24)
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = evaluations(args.repeats)
    result = {
        "machine": f"{platform.machine()}, torch threads 1",
        "evaluations": rows,
        "engine": [] if args.skip_engine else engine_runs(),
        "speedup_evaluation": min(r["speedup"] for r in rows),
        "max_force_difference_eV_per_A": max(r["max_force_difference_eV_per_A"] for r in rows),
    }
    if result["engine"]:
        result["speedup_direct_engine"] = min(r["speedup"] for r in result["engine"])
        result["min_dos_overlap"] = min(r["dos_overlap"] for r in result["engine"])
    return emit(result, args.json)


if __name__ == "__main__":
    main()
