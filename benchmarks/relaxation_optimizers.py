"""Which optimizer relaxes the direct engine's doped cells fastest, to the same minimum.

python benchmarks/relaxation_optimizers.py [--n-configs 8] [--first-host 400] [--json PATH]

The direct engine spends most of its time relaxing (median 116 s of 152 s per spectrum in
the campaign, ASE's BFGS with the cell through ``FrechetCellFilter`` to 5 meV/A; a quarter
of the cells stopped at the 300-step limit). This benchmark draws doped cells as the direct
campaign does (``Campaign(engine="direct")``, hosts from ``--first-host`` of the seeded
order, never run by the campaign so far), relaxes each from the same start with every
optimizer in turn (same settings: cell and positions, ``fmax`` 5 meV/A, at most 300 steps,
CHGNet) and records steps, force evaluations, wall time, whether it converged, and the
final energy against the lowest any optimizer found for that cell. Steps and force
evaluations do not depend on the load of the machine; wall times do (printed as measured).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from common import checkpoint, emit

ROOT = Path(__file__).resolve().parents[1]

OPTIMIZERS = ("BFGS", "FIRE", "LBFGS", "BFGSLineSearch")


def _requests(n_configs: int, first_host: int) -> list:
    from defectnet_atomate.dataset import Campaign

    hosts_file = ROOT.parent / "shared" / "data" / "hosts" / "phonondb-2018-hosts.jsonl.gz"
    campaign = Campaign(
        hosts_file=str(hosts_file) if hosts_file.is_file() else None,
        first_host=first_host,
        n_hosts=max(5, n_configs),
        engine="direct",
    )
    tasks = [t for _, chunk in campaign.chunks() for t in chunk]
    # one request per host first, so that the cells cover as many hosts as possible
    seen: set = set()
    first = [t for t in tasks if not (t.host_id in seen or seen.add(t.host_id))]
    return first[:n_configs]


def _relax(atoms, calculator, name: str, fmax: float, steps: int) -> dict:
    import ase.optimize
    from ase.filters import FrechetCellFilter

    calls = {"n": 0}
    inner = calculator.calculate

    def counting(*args, **kwargs):
        calls["n"] += 1
        return inner(*args, **kwargs)

    calculator.calculate = counting
    try:
        atoms = atoms.copy()
        atoms.calc = calculator
        optimizer = getattr(ase.optimize, name)(FrechetCellFilter(atoms), logfile=None)
        t0 = time.perf_counter()
        converged = bool(optimizer.run(fmax=fmax, steps=steps))
        seconds = time.perf_counter() - t0
        energy = float(atoms.get_potential_energy()) / len(atoms)
    finally:
        calculator.calculate = inner
    return {
        "steps": int(optimizer.nsteps),
        "force_calls": calls["n"],
        "seconds": round(seconds, 1),
        "converged": converged,
        "energy_per_atom_eV": energy,
        "volume_A3": float(atoms.get_volume()),
    }


def _summary(rows: list[dict], optimizers: list[str]) -> dict:
    summary = {}
    for name in optimizers:
        runs = [r[name] for r in rows]
        summary[name] = {
            "median_steps": float(np.median([r["steps"] for r in runs])),
            "total_force_calls": int(sum(r["force_calls"] for r in runs)),
            "total_seconds": round(sum(r["seconds"] for r in runs), 1),
            "converged": sum(r["converged"] for r in runs),
            "max_above_lowest_meV_per_atom": max(r["above_lowest_meV_per_atom"] for r in runs),
        }
    return summary


def main() -> None:
    import argparse

    from pymatgen.io.ase import AseAtomsAdaptor

    from defectnet_atomate.doping import make_doped_supercell
    from defectnet_atomate.phonons.direct import DirectEngine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-configs", type=int, default=8)
    parser.add_argument("--first-host", type=int, default=400)
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # as the campaign's workers run

    engine = DirectEngine()
    settings = engine.settings
    rows = []
    for task in _requests(args.n_configs, args.first_host):
        host = engine.relax_host(task.host)
        doped = make_doped_supercell(host, task.dopings, seed=task.seed, max_atoms=96)
        atoms = AseAtomsAdaptor.get_atoms(doped.structure)
        row = {
            "host_id": task.host_id,
            "formula": doped.structure.composition.reduced_formula,
            "atoms": len(atoms),
            "dopings": [str(d) for d in task.dopings],
        }
        for name in args.optimizers:
            row[name] = _relax(atoms, engine.calculator, name, settings.fmax, settings.max_steps)
            print(row["host_id"], row["formula"], name, row[name], flush=True)
        lowest = min(row[n]["energy_per_atom_eV"] for n in args.optimizers)
        for name in args.optimizers:
            row[name]["above_lowest_meV_per_atom"] = round(
                1000 * (row[name]["energy_per_atom_eV"] - lowest), 3
            )
        rows.append(row)
        result = {
            "n_configs": len(rows),
            "fmax_eV_per_A": settings.fmax,
            "max_steps": settings.max_steps,
            "summary": _summary(rows, args.optimizers),
            "rows": rows,
        }
        checkpoint(result, args.json)  # after every cell
    emit(result, args.json)


if __name__ == "__main__":
    main()
