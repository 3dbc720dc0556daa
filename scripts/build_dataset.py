"""Simulate a training set of doped-crystal spectra from the host library (resumable).

Example
-------
python scripts/build_dataset.py --store scratch/dataset --n-hosts 200 --per-host 4 --workers 2

Rerunning the same command skips every request the store already holds; the seeds make
the requests identical on every machine. Hosts are sampled and run in chunks, so documents
land in the store from the first minutes on.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

from defectnet_atomate.batch import run_batch
from defectnet_atomate.dataset import sample_tasks
from defectnet_atomate.hosts import iter_hosts
from defectnet_atomate.stores import _store, default_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts-file", default=None, help="phonondb-2018-hosts.jsonl.gz")
    parser.add_argument("--store", required=True, help="embedded store folder or mongodb:// URI")
    parser.add_argument("--n-hosts", type=int, default=100)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--max-host-sites", type=int, default=6)
    parser.add_argument("--max-atoms", type=int, default=96)
    parser.add_argument("--min-percent", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--force-field", default="CHGNet")
    parser.add_argument("--chunk", type=int, default=5, help="hosts sampled and run at a time")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    hosts = list(
        iter_hosts(args.hosts_file, semiconductors_only=True, max_sites=args.max_host_sites)
    )
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(hosts))[: args.n_hosts]
    chosen = [hosts[i] for i in order]
    print(f"{len(chosen)} hosts of {len(hosts)}", flush=True)
    for start in range(0, len(chosen), args.chunk):
        tasks = list(
            sample_tasks(
                chosen[start : start + args.chunk],
                per_host=args.per_host,
                seed=args.seed + start,
                max_atoms=args.max_atoms,
                min_percent=args.min_percent,
            )
        )
        summary = run_batch(
            tasks,
            default_store(args.store),
            force_field=args.force_field,
            n_workers=args.workers,
            failures=_store(args.store, "failed_requests", key="config_id"),
            supercell_kwargs={"max_atoms": args.max_atoms},
            progress=False,
        )
        print(
            f"hosts {start}-{start + args.chunk}: {summary.done} done, {summary.skipped} skipped, "
            f"{summary.failed} failed in {summary.seconds:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
