"""Cost of one force evaluation, with and without the stress, and what it does to the direct engine.

python benchmarks/force_evaluation.py [--force-fields CHGNet SevenNet] [--repeats 24]
    [--json benchmarks/results/force_evaluation.json]

A phonon calculation's displaced cells and a relaxation at a fixed cell need forces only.
CHGNet's ASE calculator computes energy, forces, stress and magnetic moments at every call
(``task="efsm"``; the stress is a second gradient through the cell's strain), so 0.26 and
earlier paid for a stress they threw away. Since 0.27 the engines ask for forces through
:func:`~defectnet_atomate.phonons.calculators.forces_calculator` (CHGNet: ``task="ef"``).

Measured, single-threaded torch:

1. **Per evaluation**: Si supercells of 64 and 216 atoms with two Ge, each of ``--repeats``
   cells with one atom displaced by 0.01 A; seconds per evaluation with the calculator as
   loaded and with ``forces_calculator``, and the largest difference of their forces
   (eV/A; the same numbers are expected).
2. **Direct engine** (CHGNet only): ``DirectEngine.run_supercell`` of two doped Si cells (the
   64-atom cell of ``maker_walltime.py``, 2 Ge; a 62-atom cell of Ge, C and Sn with no
   symmetry left, like the dataset campaign's), once as 0.26 ran it (``forces_calculator``
   replaced by the identity) and once as it runs now, alternating, twice each, a fresh
   engine every time (the fastest run of each counts); wall time and the largest
   difference of the two total DOS (relative to its maximum).

The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any
from unittest.mock import patch

import numpy as np
import torch
from common import emit
from pymatgen.core import Lattice, Structure

import defectnet_atomate.phonons.direct as direct_module
from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.phonons.calculators import forces_calculator, load_calculator
from defectnet_atomate.phonons.direct import DirectEngine

CELLS = {
    "Si 64 atoms, 2 Ge": (["Ge:Si:3.125"], 64, 64),
    "Si 62 atoms, Ge 6 + C 3.2 + Sn 1.6 at.%": (["Ge:Si:6", "C:Si:3.1", "Sn:Si:1.6"], 60, 72),
}


def _silicon() -> Structure:
    return Structure.from_spacegroup(
        "Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]]
    ).get_primitive_structure()


def _displaced(multiple: int, repeats: int) -> list:
    from pymatgen.io.ase import AseAtomsAdaptor

    cell = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    cell.make_supercell(multiple)
    cell.replace(0, "Ge")
    cell.replace(5, "Ge")
    out = []
    for i in range(repeats):
        moved = cell.copy()
        moved.translate_sites([i % len(moved)], [0.01, 0.0, 0.0], frac_coords=False)
        out.append(AseAtomsAdaptor.get_atoms(moved))
    return out


def _per_evaluation(calculator: Any, cells: list) -> tuple[float, np.ndarray]:
    forces = []
    t0 = time.perf_counter()
    for atoms in cells:
        atoms = atoms.copy()
        atoms.calc = calculator
        forces.append(np.array(atoms.get_forces()))
    return (time.perf_counter() - t0) / len(cells), np.array(forces)


def evaluations(name: str, repeats: int) -> list[dict]:
    """Seconds per evaluation, as loaded and forces only, in 64- and 216-atom Si cells."""
    calculator = load_calculator(name)[0]
    rows = []
    for multiple in (2, 3):
        cells = _displaced(multiple, repeats)
        _per_evaluation(calculator, cells[:2])  # warm-up
        full, f_full = _per_evaluation(calculator, cells)
        lean, f_lean = _per_evaluation(forces_calculator(calculator), cells)
        rows.append(
            {
                "force_field": name,
                "n_atoms": len(cells[0]),
                "s_per_evaluation": round(full, 4),
                "s_per_evaluation_forces_only": round(lean, 4),
                "speedup": round(full / lean, 2),
                "max_force_difference_eV_per_A": float(np.abs(f_full - f_lean).max()),
            }
        )
        print(rows[-1], flush=True)
    return rows


def alternate(doped: Any, modes: dict[str, Callable[[], Any]], repeats: int = 2) -> tuple:
    """``DirectEngine.run_supercell`` of ``doped`` in each mode's context, alternating.

    Every run has an engine of its own (the host's pristine force constants are computed
    in each, as in a fresh worker); the modes alternate ``repeats`` times and the fastest
    run of each counts (the first run of a process pays for warming up). Returns the
    fastest seconds and the total DOS of each mode, and the last document.
    """
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    totals = {}
    for _ in range(repeats):
        for mode, context in modes.items():
            with context():
                t0 = time.perf_counter()
                doc = DirectEngine(force_field="CHGNet").run_supercell(doped)
                times[mode].append(time.perf_counter() - t0)
            totals[mode] = np.asarray(doc.pdos.total)
    return {mode: min(t) for mode, t in times.items()}, totals, doc


def compare_modes(modes: dict[str, Callable[[], Any]], fields: Callable, repeats: int = 2) -> list:
    """:func:`alternate` on each cell of :data:`CELLS`; ``fields(times, totals)`` adds a row's
    comparison to its cell, atoms and relaxation steps."""
    host = DirectEngine(force_field="CHGNet").relax_host(_silicon())
    rows = []
    for label, (dopings, low, high) in CELLS.items():
        doped = make_doped_supercell(host, dopings, seed=1, min_atoms=low, max_atoms=high)
        times, totals, doc = alternate(doped, modes, repeats)
        rows.append(
            {
                "cell": label,
                "n_atoms": doped.num_sites,
                "relaxation_steps": doc.relaxation.n_steps if doc.relaxation else None,
            }
            | fields(times, totals)
        )
        print(rows[-1], flush=True)
    return rows


def engine_runs(repeats: int = 2) -> list[dict]:
    """The direct engine on two doped Si cells, as in 0.26 and as now (CHGNet)."""
    modes = {
        "0.26": lambda: patch.object(direct_module, "forces_calculator", lambda calc: calc),
        "now": nullcontext,
    }

    def fields(times: dict, totals: dict) -> dict:
        return {
            "s_0.26": round(times["0.26"], 1),
            "s_now": round(times["now"], 1),
            "speedup": round(times["0.26"] / times["now"], 2),
            "max_dos_difference_relative": float(
                np.abs(totals["now"] - totals["0.26"]).max() / totals["0.26"].max()
            ),
        }

    return compare_modes(modes, fields, repeats)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force-fields", nargs="+", default=["CHGNet", "SevenNet"])
    parser.add_argument("--repeats", type=int, default=24)
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name in args.force_fields:
        try:
            rows += evaluations(name, args.repeats)
        except ImportError as exc:
            print(f"{name} skipped: {exc}")
    result = {
        "machine": f"{platform.machine()}, torch threads 1",
        "evaluations": rows,
        "engine": [] if args.skip_engine else engine_runs(),
    }
    chgnet = [r for r in rows if r["force_field"] == "CHGNet"]
    if chgnet:
        result["speedup_evaluation_chgnet"] = min(r["speedup"] for r in chgnet)
    if result["engine"]:
        result["speedup_direct_engine_chgnet"] = min(r["speedup"] for r in result["engine"])
    return emit(result, args.json)


if __name__ == "__main__":
    main()
