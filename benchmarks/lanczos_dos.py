"""The linear-scaling path: sparse force constants and Lanczos quadrature against dense modes.

python benchmarks/lanczos_dos.py [--quick] [--json benchmarks/results/lanczos_dos.json]

Si (relaxed with CHGNet, host force constants from a 216-atom cell), cubic supercells of
1,000 to 8,000 atoms, doped at the mass-defect level with C, Ge and Sn at 0.2 at.% each
(0.6 at.% of dopants over three species; two atoms of each in the 1,000-atom cell).
Each configuration is computed by the embedding engine twice where the dense path is
affordable:

- dense: force constants carried to the cell by phonopy, Gamma-point modes by dense
  diagonalisation (the default up to ``max_dense_atoms``);
- sparse: the same force constants as a sparse matrix and the DOS by stochastic Lanczos
  quadrature (16 vectors per element, 250 steps), the cell reference with the same vectors
  (what ``EmbeddingEngine`` does above ``max_dense_atoms``).

Reported: wall time of each (the host force constants are cached first), overlap of the
total DOS, and how well the sparse path gives the dopants' effect (doped minus cell
reference, what the model reads): cosine with the dense one and the L1 error relative to
its size. Larger cells: sparse only. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from common import emit
from pymatgen.core import Lattice, Structure

from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
from defectnet_atomate.spectra import spectral_overlap

DOPING = ["C:Si:0.2", "Ge:Si:0.2", "Sn:Si:0.2"]


def _effect(doc, grid: np.ndarray) -> np.ndarray:
    d = np.interp(grid, doc.pdos.frequencies, doc.pdos.total, left=0, right=0)
    c = doc.cell_pristine_pdos
    return d - np.interp(grid, c.frequencies, c.total, left=0, right=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 4,096 atoms only")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    host = DirectEngine(settings=DirectSettings(relax_cell=False)).relax_host(si)
    cache = tempfile.mkdtemp()
    common = {"patches": False, "patch_atoms": 216}
    dense = EmbeddingEngine(settings=EmbeddingSettings(**common), cache_dir=cache)
    sparse = EmbeddingEngine(
        settings=EmbeddingSettings(**common, max_dense_atoms=0), cache_dir=cache
    )
    t0 = time.perf_counter()
    dense.host_data(host)
    host_seconds = time.perf_counter() - t0
    sizes = (5, 8) if args.quick else (5, 8, 10)
    rows = []
    for k in sizes:
        doped = make_doped_supercell(host, DOPING, supercell_matrix=np.eye(3) * k, seed=k)
        row = {
            "atoms": doped.num_sites,
            "dopants": {d.element: d.count for d in doped.dopants},
            "dopant_atomic_percent": round(sum(d.atomic_percent for d in doped.dopants), 3),
        }
        t0 = time.perf_counter()
        b = sparse.run_supercell(doped)
        row["sparse_seconds"] = round(time.perf_counter() - t0, 1)
        if doped.num_sites <= 1728:
            t0 = time.perf_counter()
            a = dense.run_supercell(doped)
            row["dense_seconds"] = round(time.perf_counter() - t0, 1)
            p, q = a.pdos, b.pdos
            row["overlap_total"] = round(
                spectral_overlap(p.frequencies, p.total, q.frequencies, q.total), 4
            )
            grid = np.asarray(p.frequencies)
            x, y = _effect(a, grid), _effect(b, grid)
            row["effect_cosine"] = round(float(x @ y / np.linalg.norm(x) / np.linalg.norm(y)), 3)
            row["effect_l1_error"] = round(float(np.abs(y - x).sum() / np.abs(x).sum()), 3)
        rows.append(row)
        print(row, flush=True)
    emit(
        {
            "host": "Si (CHGNet, host force constants in 216 atoms)",
            "host_force_constants_seconds": round(host_seconds, 1),
            "lanczos": {"vectors": 16, "steps": 250},
            "cells": rows,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
