"""How far one dopant's force-constant change reaches, and why (the embedding engine's patch reach).

python benchmarks/embedding_range.py [--case mp-149 C ...] [--displacement 0.01]
    [--force-field CHGNet] [--json benchmarks/results/embedding_range.json] [--append]

For each case (host id, dopant element on the host's first primitive site), in the host's
~216-atom patch cell:

- **stiffness vs step**: the on-site force constant of one host atom, -dF/du by central
  differences of step h = 1 mA ... 30 mA. A harmonic potential gives one number; a potential
  that is not harmonic on this scale gives a stiffness that depends on the step, and force
  constants that change when atoms move by a few mA (as they do far from a relaxed dopant).
- **patch of the whole cell** (``EmbeddingSettings(cutoff=None)``, every row), and the same
  patch with the relaxation switched off (dopant on the ideal site, nothing moved), and with
  the relaxation taken to 1e-3 instead of 5e-3 eV/A (is the far change reproducible?);
- **decay**: the largest change of a force-constant block |dPhi_ij| (eV/A^2) by the distance
  of the nearer of atoms i, j from the dopant, relaxed and unrelaxed, and the relaxation's
  largest displacement by distance;
- **reach**: the DOS of the cell with the patch cut to the rows within R of the dopant (what
  a patch of cutoff R computes) against the whole patch, R = 3 ... 12 A, masses only
  beside it; and the whole patch's embedded DOS against the direct engine's DOS of the same
  one-dopant cell (the whole patch is one symmetry-reduced direct calculation, so this
  checks the bookkeeping).

Overlap = 1 - half the L1 distance of unit-area total DOS. The last line printed is a JSON
object. ``--force-field SevenNet`` (extra ``sevennet``) runs the same analysis with another
potential: is the far reach physics of the dopant, or of the potential?
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from common import emit
from engine_fidelity import _host
from potential_harmonicity import onsite_stiffness
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.phonopy import get_pmg_structure
from scipy.spatial import cKDTree

from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.phonons import embedding as embedding_module
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.phonons.dos import modes_from_force_constants, site_images
from defectnet_atomate.phonons.embedding import (
    EmbeddingEngine,
    EmbeddingSettings,
    symmetrize_force_constants,
)
from defectnet_atomate.spectra import spectral_overlap

CASES = [["mp-149", "C"], ["mp-1265", "Ca"]]
STEPS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03]
RADII = [3, 4, 5, 6, 7, 8, 9, 10, 12]
BANDS = [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 16)]


def _overlap(a: object, b: object) -> float:
    return round(spectral_overlap(a.frequencies, a.total, b.frequencies, b.total), 4)


@contextmanager
def _no_relaxation():
    """Patches computed with the dopant on the ideal site and no atom moved."""
    original = embedding_module.relax_structure
    embedding_module.relax_structure = lambda structure, *a, **k: (structure.copy(), None)
    try:
        yield
    finally:
        embedding_module.relax_structure = original


def stiffness(engine: EmbeddingEngine, host: object, steps: list[float]) -> list[dict]:
    """On-site xx force constant of atom 0 of the patch cell by central differences of step h."""
    cell = get_pmg_structure(engine.host_data(host)["phonon"].supercell)
    atoms = AseAtomsAdaptor.get_atoms(cell)
    atoms.calc = engine.calculator
    start = atoms.get_positions().copy()
    return [
        {"step_angstrom": h, "onsite_xx": round(onsite_stiffness(atoms, start, h), 4)}
        for h in steps
    ]


def _decay(patch: object) -> dict:
    vi, vj = np.asarray(patch.vec_i, float), np.asarray(patch.vec_j, float)
    r = np.minimum(np.linalg.norm(vi, axis=1), np.linalg.norm(vj, axis=1))
    size = np.abs(np.asarray(patch.blocks, float)).max(axis=(1, 2))
    return {
        f"{lo}-{hi}": round(float(size[(r >= lo) & (r < hi)].max()), 4)
        for lo, hi in BANDS
        if ((r >= lo) & (r < hi)).any()
    }


def reach(host_id: str, element: str, displacement: float, force_field: str = "CHGNet") -> dict:
    """Decay and reach of one dopant's patch (see the module docstring)."""
    settings = EmbeddingSettings(cutoff=None, displacement=displacement)
    engine = EmbeddingEngine(force_field=force_field, settings=settings)
    direct = DirectEngine(
        force_field=force_field,
        settings=DirectSettings(relax_cell=False, displacement=displacement),
    )
    host = direct.relax_host(_host(host_id))
    data = engine.host_data(host)
    t0 = time.perf_counter()
    whole = engine.patch(host, 0, element)
    patch_seconds = time.perf_counter() - t0
    with _no_relaxation():
        # an engine of its own: the first one keeps the relaxation it computed in memory
        bare = EmbeddingEngine(force_field=force_field, settings=settings)
        bare._hosts = engine._hosts  # the same host force constants
        unrelaxed = bare._compute_patch(host, data, 0, element)
    tighter = EmbeddingEngine(force_field=force_field, settings=replace(settings, fmax=1e-3))
    tighter._hosts = engine._hosts  # the same host force constants
    relaxed_tighter = tighter._compute_patch(host, data, 0, element)
    structure = get_pmg_structure(data["phonon"].supercell)
    centre = int(data["phonon"].primitive.p2s_map[0])
    host_element = structure[centre].specie.symbol
    structure.replace(centre, element)
    lattice = structure.lattice.matrix
    tree = cKDTree(np.mod(structure.frac_coords, 1.0) % 1.0, boxsize=1.0)

    def dos(patch: object | None, radius: float = np.inf) -> object:
        fc = np.array(data["fc"], dtype=float)
        if patch is not None:
            vi, vj = np.asarray(patch.vec_i, float), np.asarray(patch.vec_j, float)
            keep = np.minimum(np.linalg.norm(vi, axis=1), np.linalg.norm(vj, axis=1)) <= radius
            i = site_images(tree, lattice, structure.cart_coords[centre] + vi[keep])
            j = site_images(tree, lattice, structure.cart_coords[centre] + vj[keep])
            np.add.at(fc, (i, j), np.asarray(patch.blocks, float)[keep])
        fc = np.ascontiguousarray(fc)
        symmetrize_force_constants(fc)
        return modes_from_force_constants(structure, fc, np.eye(3, dtype=int), 20.0).dos()

    reference = dos(whole)
    moved = np.linalg.norm(np.asarray(whole.relax_disp, float).reshape(-1, 3), axis=1)
    at = np.linalg.norm(np.asarray(whole.relax_vec, float).reshape(-1, 3), axis=1)
    percent = round(100 / len(structure), 3)
    doped = make_doped_supercell(
        host, [f"{element}:{host_element}:{percent}"], seed=0, supercell_matrix=data["matrix"]
    )
    t0 = time.perf_counter()
    direct_doc = direct.run_supercell(doped, host_id=host_id)
    direct_seconds = time.perf_counter() - t0
    embedded = engine.run_supercell(doped, host_id=host_id)
    return {
        "host": host_id,
        "dopant": f"{element}:{host_element}",
        "force_field": force_field,
        "n_atoms": len(structure),
        "displacement_angstrom": displacement,
        "stiffness": stiffness(engine, host, STEPS),
        "patch_force_calls": whole.n_force_calls,
        "patch_seconds": round(patch_seconds, 1),
        "direct_seconds": round(direct_seconds, 1),
        "whole_patch_vs_direct": _overlap(embedded.pdos, direct_doc.pdos),
        "masses_only_vs_whole": _overlap(dos(None), reference),
        "unrelaxed_vs_whole": _overlap(dos(unrelaxed), reference),
        "fmax_1e-3_vs_whole": _overlap(dos(relaxed_tighter), reference),
        "rows_within": {str(r): _overlap(dos(whole, r), reference) for r in RADII},
        "decay_relaxed": _decay(whole),
        "decay_unrelaxed": _decay(unrelaxed),
        "relaxation_by_distance": {
            f"{lo}-{hi}": round(float(moved[(at >= lo) & (at < hi)].max()), 4)
            for lo, hi in BANDS
            if ((at >= lo) & (at < hi)).any()
        },
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case",
        nargs=2,
        action="append",
        default=None,
        metavar=("HOST_ID", "ELEMENT"),
        help="a host id and a dopant element for its first site (repeatable)",
    )
    parser.add_argument("--displacement", type=float, default=0.01)
    parser.add_argument("--force-field", default="CHGNet")
    parser.add_argument("--json", default=None)
    parser.add_argument("--append", action="store_true", help="add to the cases in --json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    if args.append and args.json and Path(args.json).is_file():
        rows = json.loads(Path(args.json).read_text())["cases"]
    for host_id, element in args.case or CASES:
        rows.append(reach(host_id, element, args.displacement, args.force_field))
        print(json.dumps(rows[-1]), flush=True)
    return emit({"cases": rows}, args.json)


if __name__ == "__main__":
    main()
