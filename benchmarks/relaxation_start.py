"""Where BFGS starts a doped cell's relaxation: ASE's 70 eV/A^2, the host's elastic tensor, its force constants.

python benchmarks/relaxation_start.py [--n-configs 6] [--first-host 400] [--no-cubic]
    [--starts uniform elastic host] [--json PATH]

Rows of cells not yet in ``--json`` are added to it (another ``--first-host`` adds other cells);
rows without a start of ``--starts`` get it (with the elastic start run again, for the overlap).

The direct engine relaxes each doped cell with its cell free (ASE's BFGS through
``FrechetCellFilter``, fmax 5 meV/A, at most 300 steps), and relaxing is most of a
campaign spectrum's time. ASE starts BFGS from a uniform curvature of 70 eV/A^2 for every
coordinate; the filter's nine cell coordinates are the number of atoms times the logarithm
of the deformation, whose true curvature is ``volume * C / n_atoms**2`` (well under 1 for
cells of tens of atoms), so BFGS's first cell steps are hundreds of times too short.
``cell_start="elastic"`` (0.28) starts them from the host's clamped-ion elastic tensor
(twelve stress evaluations of the host cell, once per host). ``atom_start="host"`` (0.30;
the start named ``host`` here, with the elastic cell start) also starts the atoms'
coordinates from the host's force constants in the doped cell's supercell (computed anyway
as the document's pristine reference), softest curvatures raised to 2 eV/A^2.

Cells are drawn as the direct campaign draws them (``Campaign(engine="direct")``, hosts from
``--first-host`` of the seeded order, beyond the positions the campaign has run), plus two
cubic cells of hand-picked mixtures (Si with Ge, C and Sn; ZnS with Se and Cd). Each is run
through ``DirectEngine.run_supercell`` with either start (same engine otherwise), and the
record gives BFGS steps, whether it converged, relaxation seconds, the energy difference of
the minima against the elastic start's and the overlap of their doped DOS (1 - half the L1
distance of unit-area total DOS). Steps do not depend on the machine's load; seconds do (printed as measured).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from common import checkpoint, emit
from relaxation_optimizers import _requests

CONVENTIONAL_2X2X2 = [[-2, 2, 2], [2, -2, 2], [2, 2, -2]]  # of an fcc primitive cell

STARTS = {  # name: (cell_start, atom_start) of DirectSettings
    "uniform": ("uniform", "uniform"),  # before 0.28
    "elastic": ("elastic", "uniform"),  # 0.28-0.29
    "host": ("elastic", "host"),  # since 0.30
}


def _cubic_cases() -> list[tuple]:
    from pymatgen.core import Lattice, Structure

    def primitive(group: str, a: float, species: list, coords: list) -> Structure:
        cell = Structure.from_spacegroup(group, Lattice.cubic(a), species, coords)
        return cell.get_primitive_structure()

    si = primitive("Fd-3m", 5.43, ["Si"], [[0, 0, 0]])
    zns = primitive("F-43m", 5.41, ["Zn", "S"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    return [
        ("Si Ge,C,Sn", si, ["Ge:Si:3.125", "C:Si:1.5625", "Sn:Si:1.5625"], 0),
        ("ZnS Se,Cd", zns, ["Se:S:6.25", "Cd:Zn:3.125"], 0),
    ]


def _run(engine, doped) -> dict:
    t0 = time.perf_counter()
    doc = engine.run_supercell(doped)
    atoms = doc.structure.to_ase_atoms()
    atoms.calc = engine.calculator
    return {
        "steps": doc.relaxation.n_steps,
        "converged": doc.relaxation.converged,
        "max_force_eV_per_A": doc.relaxation.max_force,
        "relax_seconds": round(doc.timings["relax"], 1),
        "spectrum_seconds": round(time.perf_counter() - t0, 1),
        "energy_per_atom_eV": float(atoms.get_potential_energy()) / len(atoms),
        "volume_A3": float(doc.structure.volume),
        "dos": (doc.pdos.frequencies, doc.pdos.total),
    }


def main() -> None:
    import torch

    from defectnet_atomate.doping import make_doped_supercell
    from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
    from defectnet_atomate.spectra import spectral_overlap

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-configs", type=int, default=6, help="cells of the campaign's draw")
    parser.add_argument("--first-host", type=int, default=400)
    parser.add_argument("--no-cubic", action="store_true", help="only the campaign's cells")
    parser.add_argument(
        "--starts", nargs="+", default=list(STARTS), choices=list(STARTS), help="starts to run"
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the campaign's workers run

    starts = [name for name in STARTS if name in args.starts or name == "elastic"]
    engines = {
        name: DirectEngine(settings=DirectSettings(cell_start=cell, atom_start=atoms))
        for name, (cell, atoms) in STARTS.items()
    }
    cases = [
        (t.host_id, t.host, t.dopings, t.seed, {"max_atoms": 96})
        for t in _requests(args.n_configs, args.first_host)
    ]
    if not args.no_cubic:
        cases += [(*case, {"supercell_matrix": CONVENTIONAL_2X2X2}) for case in _cubic_cases()]
    rows = []
    if args.json and Path(args.json).is_file():
        rows = json.loads(Path(args.json).read_text())["rows"]
    by_case = {row["case"]: row for row in rows}
    for name, host, dopings, seed, supercell in cases:
        row = by_case.get(name)
        todo = [start for start in starts if row is None or start not in row]
        if not todo:
            continue
        relaxed_host = engines["uniform"].relax_host(host)
        doped = make_doped_supercell(relaxed_host, dopings, seed=seed, **supercell)
        if row is None:
            row = by_case[name] = {
                "case": name,
                "formula": doped.structure.composition.reduced_formula,
                "atoms": len(doped.structure),
                "dopings": [str(d) for d in dopings],
            }
            rows.append(row)
        runs = {}
        for start in [*todo, *(["elastic"] if "elastic" not in todo else [])]:
            runs[start] = _run(engines[start], doped)
            shown = {k: v for k, v in runs[start].items() if k != "dos"}
            print(name, row["formula"], start, shown, flush=True)
        if "elastic" not in todo and runs["elastic"]["steps"] != row["elastic"]["steps"]:
            row["elastic_steps_again"] = runs["elastic"]["steps"]  # not reproduced
        reference = runs["elastic"]
        for start, run in runs.items():
            if start == "elastic":
                continue
            dos, ref = run.pop("dos"), reference["dos"]
            overlap = round(spectral_overlap(dos[0], dos[1], ref[0], ref[1]), 4)
            energy = round(1000 * (run["energy_per_atom_eV"] - reference["energy_per_atom_eV"]), 4)
            if start == "uniform":  # the 0.28 columns: elastic against uniform
                row["dos_overlap"], row["energy_difference_meV_per_atom"] = overlap, -energy
            else:
                row[f"{start}_dos_overlap"] = overlap
                row[f"{start}_energy_difference_meV_per_atom"] = energy
            row[start] = run
        if "elastic" in todo:
            reference.pop("dos")
            row["elastic"] = reference
        row.setdefault("load_average_1min", {})
        if not isinstance(row["load_average_1min"], dict):  # rows of 0.28: one run
            row["load_average_1min"] = {"uniform": row["load_average_1min"]}
        row["load_average_1min"][",".join(todo)] = round(os.getloadavg()[0], 2)
        result = {"n_configs": len(rows), "summary": _summary(rows), "rows": rows}
        checkpoint(result, args.json)
    result = {"n_configs": len(rows), "summary": _summary(rows), "rows": rows}
    emit(result, args.json)


def _summary(rows: list[dict]) -> dict:
    out: dict = {}
    for start in STARTS:
        have = [r for r in rows if start in r]
        if not have:
            continue
        out[start] = {
            "n_cells": len(have),
            "total_steps": int(sum(r[start]["steps"] for r in have)),
            "median_steps": float(np.median([r[start]["steps"] for r in have])),
            "converged": int(sum(r[start]["converged"] for r in have)),
            "relax_seconds": round(sum(r[start]["relax_seconds"] for r in have), 1),
            "spectrum_seconds": round(sum(r[start]["spectrum_seconds"] for r in have), 1),
        }
    both = [r for r in rows if "uniform" in r]
    if both:
        out["step_ratio"] = round(
            sum(r["uniform"]["steps"] for r in both)
            / max(sum(r["elastic"]["steps"] for r in both), 1),
            2,
        )
        out["min_dos_overlap"] = min(r["dos_overlap"] for r in both)
        out["max_abs_energy_difference_meV_per_atom"] = max(
            abs(r["energy_difference_meV_per_atom"]) for r in both
        )
    host = [r for r in rows if "host" in r]
    if host:
        elastic = sum(r["elastic"]["steps"] for r in host)
        out["host"]["step_ratio_vs_elastic"] = round(
            elastic / max(sum(r["host"]["steps"] for r in host), 1), 2
        )
        out["host"]["elastic_steps_same_cells"] = int(elastic)
        out["host"]["elastic_converged_same_cells"] = int(
            sum(r["elastic"]["converged"] for r in host)
        )
        out["host"]["median_dos_overlap_vs_elastic"] = float(
            np.median([r["host_dos_overlap"] for r in host])
        )
        out["host"]["min_dos_overlap_vs_elastic"] = min(r["host_dos_overlap"] for r in host)
        out["host"]["energy_difference_meV_per_atom_range"] = [
            min(r["host_energy_difference_meV_per_atom"] for r in host),
            max(r["host_energy_difference_meV_per_atom"] for r in host),
        ]
    return out


if __name__ == "__main__":
    main()
