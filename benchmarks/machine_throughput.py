"""Spectra per hour on the whole machine: atomate2's PhononMaker against the direct engine's batch.

python benchmarks/machine_throughput.py [--n-requests 6] [--json PATH]

Each run is added to the runs already in ``--json`` (the measurement varies from run to
run; the report shows them all) with the package version; the summary's ratio is the lowest
over the runs of the newest version.

Issue 3 asks for the direct engine's throughput, in spectra per hour on this 2-core
machine, against atomate2's force-field ``PhononMaker`` on the same 64-atom doped Si cell
(2 Ge, 3.125 at.%, CHGNet). ``maker_walltime.py`` times one spectrum on one thread each;
here each side uses every core of the machine as its user would:

- ``atomate2_run_locally``: one flow through jobflow's ``run_locally`` with torch's default
  threads (every core), as the atomate2 documentation runs it;
- ``atomate2_side_by_side``: one flow per core in separate processes, one thread each (what
  a workflow manager with one worker per core does), from the processes' start to the last
  flow's end;
- ``direct_batch``: ``run_batch`` with one single-threaded worker per core over
  ``--n-requests`` requests (the same cell with the dopants on other sites: seeds 0, 1, ...),
  from the pool's start (each worker loads CHGNet and relaxes the host once) to the last
  document stored.

Nothing else should run on the machine. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit

import defectnet_atomate

CONVENTIONAL_2X2X2 = [[-2, 2, 2], [2, -2, 2], [2, 2, -2]]  # of the fcc primitive cell: 64 atoms
DOPING = ["Ge:Si:3.125"]


def _silicon():
    from pymatgen.core import Lattice, Structure

    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    return si.get_primitive_structure()


def _atomate2_flow(seed: int, threads: int | None) -> float:
    """Run atomate2's PhononMaker on the doped cell of ``seed``; return its seconds."""
    import torch
    from atomate2.forcefields.flows.phonons import PhononMaker
    from jobflow import JobStore, run_locally
    from maggma.stores import MemoryStore

    from defectnet_atomate.doping import make_doped_supercell

    if threads is not None:
        torch.set_num_threads(threads)
    doped = make_doped_supercell(_silicon(), DOPING, supercell_matrix=CONVENTIONAL_2X2X2, seed=seed)
    flow = PhononMaker.from_force_field_name("CHGNet").make(
        doped.structure, supercell_matrix=np.eye(3).tolist()
    )
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:  # atomate2 writes phonopy files here
        run_locally(flow, store=store, root_dir=folder, log=False, ensure_success=True)
    return time.perf_counter() - t0


def _side_by_side(n_cores: int) -> dict:
    context = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    with context.Pool(n_cores) as pool:
        seconds = pool.starmap(_atomate2_flow, [(seed, 1) for seed in range(n_cores)])
    wall = time.perf_counter() - t0
    return {"flows": n_cores, "wall_s": round(wall, 1), "flow_s": [round(s, 1) for s in seconds]}


def _direct_batch(n_requests: int, n_cores: int) -> dict:
    from defectnet_atomate.batch import DopingTask, run_batch
    from defectnet_atomate.stores import default_store

    tasks = [
        DopingTask(host=_silicon(), dopings=DOPING, seed=seed, host_id="Si")
        for seed in range(n_requests)
    ]
    folder = tempfile.TemporaryDirectory()
    store = default_store(folder.name)  # the embedded on-disk store, as a user's batch runs
    t0 = time.perf_counter()
    summary = run_batch(
        tasks,
        store,
        n_workers=n_cores,
        threads_per_worker=1,
        progress=False,
        supercell_kwargs={"supercell_matrix": CONVENTIONAL_2X2X2},
    )
    wall = time.perf_counter() - t0
    if summary.done != n_requests:
        raise RuntimeError(f"the batch computed {summary.done} of {n_requests}: {summary}")
    store.connect()
    totals = [d["timings"]["total"] for d in store.query(properties=["timings"])]
    store.close()
    folder.cleanup()
    return {
        "requests": n_requests,
        "workers": n_cores,
        "wall_s": round(wall, 1),
        "median_doped_cell_s": round(float(np.median(totals)), 1),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-requests", type=int, default=6)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    n_cores = os.cpu_count() or 1
    result: dict = {
        "machine": f"{platform.machine()}, {n_cores} cores",
        "n_atoms": 64,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "package_version": defectnet_atomate.__version__,
    }

    seconds = _atomate2_flow(0, None)
    result["atomate2_run_locally"] = {"wall_s": round(seconds, 1)}
    result["atomate2_side_by_side"] = _side_by_side(n_cores)
    result["direct_batch"] = _direct_batch(args.n_requests, n_cores)

    per_hour = {
        "atomate2_run_locally": 3600 / result["atomate2_run_locally"]["wall_s"],
        "atomate2_side_by_side": 3600 * n_cores / result["atomate2_side_by_side"]["wall_s"],
        "direct_batch": 3600 * args.n_requests / result["direct_batch"]["wall_s"],
    }
    result["spectra_per_hour"] = {k: round(v, 1) for k, v in per_hour.items()}
    best_atomate2 = max(per_hour["atomate2_run_locally"], per_hour["atomate2_side_by_side"])
    result["throughput_ratio_vs_run_locally"] = round(
        per_hour["direct_batch"] / per_hour["atomate2_run_locally"], 2
    )
    result["throughput_ratio_vs_best_atomate2"] = round(per_hour["direct_batch"] / best_atomate2, 2)
    runs = []
    if args.json and Path(args.json).is_file():
        runs = json.loads(Path(args.json).read_text()).get("runs", [])
    runs.append(result)
    return emit(summary(runs), args.json)


def summary(runs: list[dict]) -> dict:
    """The runs, and the lowest ratio over the runs of the newest engine (the one shipped).

    Runs before 0.29 recorded no version: their engine is 0.28's (a graph per displaced cell).
    """
    newest = max(_version(r) for r in runs)
    ratios = [r["throughput_ratio_vs_best_atomate2"] for r in runs if _version(r) == newest]
    return {
        "runs": runs,
        "min_ratio_vs_best_atomate2": min(ratios),
        "min_ratio_version": ".".join(map(str, newest)),
        "min_ratio_all_runs": min(r["throughput_ratio_vs_best_atomate2"] for r in runs),
    }


def _version(run: dict) -> tuple[int, ...]:
    return tuple(int(x) for x in run.get("package_version", "0.28.0").split(".")[:3])


if __name__ == "__main__":
    main()
