"""Convergence of the embedding engine with the patch cutoff (one configuration, one direct reference).

python benchmarks/embedding_cutoff.py [--host mp-149] [--dope C:Si:0.5] [--cutoffs 4,5,6,7]

The direct engine computes the reference once (positions relaxed at the host lattice); the
embedding engine is rerun with each cutoff (each needs its own patch). The last line printed is
a JSON object with the overlap for each cutoff.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import emit

from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
from defectnet_atomate.spectra import spectral_overlap

ROOT = Path(__file__).resolve().parents[1]


def main() -> dict:
    from engine_fidelity import _host

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="mp-149")
    parser.add_argument("--dope", default="C:Si:0.5")
    parser.add_argument("--cutoffs", default="4,5,6,7")
    parser.add_argument("--patch-atoms", type=int, default=200)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    direct = DirectEngine(settings=DirectSettings(relax_cell=False))
    host = direct.relax_host(_host(args.host))
    cutoffs = [float(c) for c in args.cutoffs.split(",")]
    engines = {
        c: EmbeddingEngine(settings=EmbeddingSettings(cutoff=c, patch_atoms=args.patch_atoms))
        for c in cutoffs
    }
    matrix = engines[cutoffs[0]].host_data(host)["matrix"]
    doped = make_doped_supercell(
        host, [args.dope], supercell_matrix=matrix, seed=0, rel_tolerance=0.5
    )
    t0 = time.perf_counter()
    reference = direct.run_supercell(doped).pdos
    result = {
        "host": args.host,
        "dopant": args.dope,
        "n_atoms": doped.num_sites,
        "direct_s": round(time.perf_counter() - t0, 1),
        "overlap": {},
        "patch_s": {},
    }
    for c, engine in engines.items():
        engine._hosts = engines[cutoffs[0]]._hosts  # host force constants once
        t0 = time.perf_counter()
        pdos = engine.run_supercell(doped).pdos
        result["patch_s"][c] = round(time.perf_counter() - t0, 1)
        result["overlap"][c] = round(
            spectral_overlap(pdos.frequencies, pdos.total, reference.frequencies, reference.total),
            4,
        )
        print(c, result["overlap"][c], flush=True)
    return emit(result, args.json)


if __name__ == "__main__":
    main()
