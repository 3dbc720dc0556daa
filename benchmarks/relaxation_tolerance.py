"""What a looser relaxation of the direct engine's doped cells saves, and what it changes.

python benchmarks/relaxation_tolerance.py [--n-configs 6] [--first-host 400] [--fmax 0.02 0.01 0.005]
    [--reference-fmax 0.002] [--reference-steps 600] [--json PATH]

The direct engine relaxes each doped cell (ASE's BFGS, cell and positions through
``FrechetCellFilter``) to ``DirectSettings.fmax`` = 5 meV/A, at most 300 steps, and this
takes most of a spectrum's time. Is 5 meV/A converged, and would a looser tolerance
do? BFGS does not look at ``fmax`` until it stops, so the relaxation to a looser tolerance
is exactly the first part of a tighter one: this script relaxes each cell once, to
``--reference-fmax`` (cells drawn as the direct campaign draws them, from hosts
``--first-host`` on of the seeded order), keeps the structure at the first step whose
largest force (atoms and cell, as the filter reports them) is below each ``--fmax``, and
computes the spectrum of every kept structure and of the reference with the engine's own
force constants, modes and document. It then compares each against the reference:

- the steps (force evaluations) saved;
- the change of the total DOS (half the L1 distance of the unit-area DOS, 0 to 1) and of
  the share of imaginary modes, next to the size of the dopants' own effect on the DOS
  (the same distance between the doped cell and its undoped supercell);
- what the shipped quantifier reports: the largest change of a candidate's probability
  and of an estimated concentration (candidates: the true dopants and the recommender's).
"""

from __future__ import annotations

import time

import numpy as np
from common import checkpoint, emit
from relaxation_optimizers import _requests


def _half_l1(a, b) -> float:
    """Half the L1 distance of two DOS (``PhononDosData``) made unit-area on a common grid."""
    fa, fb = np.asarray(a.frequencies), np.asarray(b.frequencies)
    grid = np.arange(min(fa[0], fb[0]), max(fa[-1], fb[-1]), min(fa[1] - fa[0], fb[1] - fb[0]))
    ga = np.clip(np.interp(grid, fa, a.total, left=0, right=0), 0, None)
    gb = np.clip(np.interp(grid, fb, b.total, left=0, right=0), 0, None)
    return float(0.5 * np.abs(ga / ga.sum() - gb / gb.sum()).sum())


def _relax_keeping(atoms, calculator, fmax: float, steps: int, keep: list[float]) -> dict:
    """BFGS to ``fmax``; the atoms at the first step below each tolerance in ``keep``."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    atoms = atoms.copy()
    atoms.calc = calculator
    target = FrechetCellFilter(atoms)
    optimizer = BFGS(target, logfile=None)
    kept: dict[float, tuple] = {}
    trace = []
    t0 = time.perf_counter()
    converged = False
    for status in optimizer.irun(fmax=fmax, steps=steps):
        converged = status
        largest = float(np.sqrt((target.get_forces() ** 2).sum(axis=1).max()))
        trace.append(largest)
        for tol in keep:
            if tol not in kept and largest < tol:
                kept[tol] = (atoms.copy(), optimizer.nsteps, time.perf_counter() - t0)
    kept[fmax] = (atoms.copy(), optimizer.nsteps, time.perf_counter() - t0)
    return {"kept": kept, "trace": trace, "converged": bool(converged)}


def main() -> None:
    import argparse

    import torch
    from pymatgen.io.ase import AseAtomsAdaptor

    from defectnet_atomate.doping import make_doped_supercell, recommend_dopants
    from defectnet_atomate.ml.quantifier import DefectQuantifier
    from defectnet_atomate.phonons.direct import DirectEngine
    from defectnet_atomate.schemas import DefectPhononDoc, RelaxationInfo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-configs", type=int, default=6)
    parser.add_argument("--first-host", type=int, default=400)
    parser.add_argument("--fmax", type=float, nargs="+", default=[0.02, 0.01, 0.005])
    parser.add_argument("--reference-fmax", type=float, default=0.002)
    parser.add_argument("--reference-steps", type=int, default=600)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    engine = DirectEngine()
    settings = engine.settings
    model = DefectQuantifier.from_pretrained()
    eye = np.eye(3, dtype=int)
    levels_asked = sorted(args.fmax, reverse=True)
    rows = []
    for task in _requests(args.n_configs, args.first_host):
        host = engine.relax_host(task.host)
        doped = make_doped_supercell(host, task.dopings, seed=task.seed, max_atoms=96)
        atoms = AseAtomsAdaptor.get_atoms(doped.structure)
        run = _relax_keeping(
            atoms, engine.calculator, args.reference_fmax, args.reference_steps, levels_asked
        )
        pristine = engine.pristine_modes(doped.host, doped.supercell_matrix)
        truth = sorted({d.element for d in doped.dopants})
        suggested = [s.element for s in recommend_dopants(host)]
        candidates = (truth + [e for e in dict.fromkeys(suggested) if e not in truth])[:6]
        row = {
            "host_id": task.host_id,
            "formula": doped.structure.composition.reduced_formula,
            "atoms": len(atoms),
            "dopings": [str(d) for d in task.dopings],
            "candidates": candidates,
            "reference_converged": run["converged"],
            "steps": len(run["trace"]) - 1,
            "final_max_force": run["trace"][-1],
            "levels": {},
        }
        docs = {}
        for tol, (relaxed_atoms, n_steps, seconds) in sorted(run["kept"].items(), reverse=True):
            key = "reference" if tol == args.reference_fmax else f"{tol:g}"
            relaxed = AseAtomsAdaptor.get_structure(relaxed_atoms)
            t0 = time.perf_counter()
            fc = engine.force_constants(relaxed, eye)
            modes = engine.modes(relaxed, fc, eye)
            cell = engine.cell_reference(doped.host, doped.supercell_matrix, modes.qpoints)
            docs[key] = DefectPhononDoc.from_results(
                doped,
                relaxed,
                modes,
                engine.calculator_info,
                settings.phonon_settings(engine.engine_name),
                pristine_modes=pristine,
                cell_pristine_modes=cell,
                host_id=task.host_id,
                relaxation=RelaxationInfo(n_steps=n_steps),
            )
            prediction = model.predict(docs[key], candidates=candidates)
            row["levels"][key] = {
                "steps": n_steps,
                "relax_seconds": round(seconds, 1),
                "phonon_seconds": round(time.perf_counter() - t0, 1),
                "imaginary_fraction": docs[key].imaginary_fraction,
                "probabilities": {d.element: d.probability for d in prediction.dopants},
                "atomic_percent": {d.element: d.atomic_percent for d in prediction.dopants},
            }
        reference = docs["reference"]
        row["dopant_effect_half_l1"] = _half_l1(reference.pdos, reference.cell_pristine_pdos)
        ref = row["levels"]["reference"]
        for key, doc in docs.items():
            level = row["levels"][key]
            level["dos_change_half_l1"] = _half_l1(doc.pdos, reference.pdos)
            level["max_probability_change"] = max(
                abs(level["probabilities"][e] - ref["probabilities"][e]) for e in candidates
            )
            level["max_percent_change_true"] = max(
                abs(level["atomic_percent"][e] - ref["atomic_percent"][e]) for e in truth
            )
        rows.append(row)
        print(
            row["host_id"],
            row["formula"],
            {k: (v["steps"], round(v["dos_change_half_l1"], 3)) for k, v in row["levels"].items()},
            "effect",
            round(row["dopant_effect_half_l1"], 3),
            flush=True,
        )
        summary = {}
        for key in [f"{tol:g}" for tol in levels_asked]:
            levels = [r["levels"][key] for r in rows if key in r["levels"]]
            if not levels:
                continue
            summary[key] = {
                "cells_reaching_it": len(levels),
                "median_steps": float(np.median([level["steps"] for level in levels])),
                "median_dos_change_half_l1": float(
                    np.median([level["dos_change_half_l1"] for level in levels])
                ),
                "max_dos_change_half_l1": max(level["dos_change_half_l1"] for level in levels),
                "max_probability_change": max(level["max_probability_change"] for level in levels),
                "max_percent_change_true": max(
                    level["max_percent_change_true"] for level in levels
                ),
            }
        result = {
            "n_configs": len(rows),
            "engine_fmax_eV_per_A": settings.fmax,
            "engine_max_steps": settings.max_steps,
            "reference_fmax_eV_per_A": args.reference_fmax,
            "reference_max_steps": args.reference_steps,
            "reference_converged": sum(r["reference_converged"] for r in rows),
            "median_reference_steps": float(np.median([r["steps"] for r in rows])),
            "median_dopant_effect_half_l1": float(
                np.median([r["dopant_effect_half_l1"] for r in rows])
            ),
            "summary": summary,
            "rows": rows,
        }
        checkpoint(result, args.json)  # after every cell
    emit(result, args.json)


if __name__ == "__main__":
    main()
