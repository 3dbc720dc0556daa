"""Is the potential harmonic on the millangstrom scale that finite displacements probe?

python benchmarks/potential_harmonicity.py [--host mp-149 ...] [--force-field CHGNet --force-field SevenNet]
    [--json benchmarks/results/potential_harmonicity.json]

For each host and potential: the host is relaxed (cell and positions, fmax 1e-4 eV/A), a
supercell of at least ``--min-atoms`` atoms built, and the on-site force constant of atom 0,
-dF_x/du_x, taken by central differences of step h = 1 ... 30 mA (``step``). A harmonic
potential gives one number for every h; the force constants of a doped cell are taken with
0.01 A steps around atoms that its dopants' relaxation moved by a few mA, so the same
on-site constant is also taken (h = 0.01 A) with atom 0 first moved by 2-20 mA along y
(``shifted``): a harmonic potential gives the undisplaced value again. ``spread`` is the
largest relative deviation from the 0.01 A value of each row. The last line printed is a JSON
object.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import emit
from engine_fidelity import _host
from pymatgen.io.ase import AseAtomsAdaptor

from defectnet_atomate.phonons.calculators import load_calculator
from defectnet_atomate.phonons.direct import relax_structure

HOSTS = ["mp-149", "mp-1265", "mp-10695", "mp-1138"]  # Si, MgO, ZnS, LiF
STEPS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03]
SHIFTS = [0.002, 0.005, 0.01, 0.02]


def onsite_stiffness(atoms: object, start: np.ndarray, h: float) -> float:
    """-dF_x/du_x of atom 0 by central differences of step ``h`` around ``start``."""
    forces = []
    for sign in (1, -1):
        moved = start.copy()
        moved[0, 0] += sign * h
        atoms.set_positions(moved)
        forces.append(atoms.get_forces()[0, 0])
    return float(forces[1] - forces[0]) / (2 * h)


def harmonicity(host_id: str, force_field: str, min_atoms: int = 64) -> dict:
    """On-site stiffness of one host atom by step and by a prior shift of the atom."""
    calculator, info = load_calculator(force_field)
    relaxed = relax_structure(_host(host_id), calculator, True, 1e-4, 500)[0]
    n = max(1, int(np.ceil((min_atoms / len(relaxed)) ** (1 / 3))))
    cell = relaxed * (n, n, n)
    atoms = AseAtomsAdaptor.get_atoms(cell)
    atoms.calc = calculator
    start = atoms.get_positions().copy()
    t0 = time.perf_counter()
    residual = float(np.abs(atoms.get_forces()).max())
    seconds = time.perf_counter() - t0
    by_step = {str(h): round(onsite_stiffness(atoms, start, h), 4) for h in STEPS}
    shifted = {}
    for s in SHIFTS:
        moved = start.copy()
        moved[0, 1] += s
        shifted[str(s)] = round(onsite_stiffness(atoms, moved, 0.01), 4)
    ref = by_step["0.01"]

    def spread(values: dict) -> float:
        return round(max(abs(v - ref) for v in values.values()) / abs(ref), 4)

    return {
        "host": host_id,
        "formula": relaxed.composition.reduced_formula,
        "force_field": force_field,
        "calculator": f"{info.package_version} (weights {info.model_version})",
        "n_atoms": len(cell),
        "element": cell[0].specie.symbol,
        "residual_force": round(residual, 6),
        "seconds_per_force_call": round(seconds, 3),
        "step": by_step,
        "shifted": shifted,
        "spread_step": spread(by_step),
        "spread_shifted": spread(shifted),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", action="append", default=None)
    parser.add_argument("--force-field", action="append", default=None)
    parser.add_argument("--min-atoms", type=int, default=64)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for force_field in args.force_field or ["CHGNet", "SevenNet"]:
        for host_id in args.host or HOSTS:
            rows.append(harmonicity(host_id, force_field, args.min_atoms))
            print(rows[-1], flush=True)
    return emit({"rows": rows}, args.json)


if __name__ == "__main__":
    main()
