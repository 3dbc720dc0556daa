"""BFGS from the host's force constants: the embedding engine's dopant relaxations, shorter.

python benchmarks/patch_relaxation.py [--force-field SevenNet] [--case mp-149:Si:C ...]
    [--patch-atoms 216] [--json benchmarks/results/patch_relaxation.json]

Every dopant patch of the embedding engine starts with the dopant's relaxation in the patch
cell (positions only, host lattice, fmax 5e-3 eV/A): one force evaluation of the whole cell
per BFGS step. ASE's BFGS starts from a uniform curvature (70 eV/A^2); the engine has the
host's force constants of that very cell, and since 0.23 starts BFGS from them
(``relax_structure(force_constants=...)``). For each case (host id, replaced element, dopant
element; the hosts and dopants of ``engine_fidelity.py``) the same doped cell is relaxed both ways:
steps (force evaluations, independent of the machine's load), seconds (which depend on it),
and how far apart the two minima are (both stop at fmax). The last line printed is a JSON
object.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from common import emit
from engine_fidelity import _host
from pymatgen.io.phonopy import get_pmg_structure

from defectnet_atomate.phonons.direct import DirectEngine, relax_structure
from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings

# host id : replaced element : dopant (the dopants of engine_fidelity.py's configurations)
CASES = [
    "mp-149:Si:C",
    "mp-149:Si:Sn",
    "mp-10695:S:O",
    "mp-10695:Zn:Cd",
    "mp-1265:Mg:Ca",
    "mp-1265:O:S",
    "mp-1138:Li:K",
    "mp-1138:F:Cl",
]


def compare(engine: EmbeddingEngine, host: object, replaced: str, element: str) -> dict:
    """Relax one dopant in the patch cell from both starting Hessians."""
    data = engine.host_data(host)
    cell = get_pmg_structure(data["phonon"].supercell)
    doped = cell.copy()
    basis = next(i for i, s in enumerate(host) if s.specie.symbol == replaced)
    site = int(data["phonon"].primitive.p2s_map[basis])
    doped.replace(site, element)
    s = engine.settings
    out: dict = {"dopant": f"{element}:{replaced}", "n_atoms": len(cell)}
    minima = {}
    for label, fc in (("uniform", None), ("host_fc", data["fc"])):
        t0 = time.perf_counter()
        relaxed, info = relax_structure(
            doped, engine.calculator, False, s.fmax, s.max_steps, force_constants=fc
        )
        out[f"steps_{label}"] = info.n_steps
        out[f"seconds_{label}"] = round(time.perf_counter() - t0, 1)
        out[f"converged_{label}"] = info.converged
        minima[label] = relaxed.cart_coords
        out["max_displacement"] = round(info.max_displacement, 4)
    out["minima_apart_angstrom"] = round(
        float(np.abs(minima["uniform"] - minima["host_fc"]).max()), 5
    )
    return out


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force-field", default="SevenNet")
    parser.add_argument("--case", action="append", default=None, help="host:basis:element")
    parser.add_argument("--patch-atoms", type=int, default=216)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    direct = DirectEngine(force_field=args.force_field)
    engine = EmbeddingEngine(
        force_field=args.force_field, settings=EmbeddingSettings(patch_atoms=args.patch_atoms)
    )
    rows, hosts = [], {}
    for case in args.case or CASES:
        host_id, replaced, element = case.split(":")
        if host_id not in hosts:
            hosts[host_id] = direct.relax_host(_host(host_id))
        row = {"host": host_id, "formula": hosts[host_id].composition.reduced_formula}
        row |= compare(engine, hosts[host_id], replaced, element)
        rows.append(row)
        print(row, flush=True)
    return emit(
        {
            "force_field": args.force_field,
            "fmax_ev_per_angstrom": engine.settings.fmax,
            "n_cases": len(rows),
            "steps_uniform": sum(r["steps_uniform"] for r in rows),
            "steps_host_fc": sum(r["steps_host_fc"] for r in rows),
            "median_step_ratio": round(
                statistics.median(r["steps_uniform"] / max(r["steps_host_fc"], 1) for r in rows),
                2,
            ),
            "max_minima_apart_angstrom": max(r["minima_apart_angstrom"] for r in rows),
            "rows": rows,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
