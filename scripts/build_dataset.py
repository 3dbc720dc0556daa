"""Simulate a training set of doped-crystal spectra from the host library (resumable).

Example
-------
python scripts/build_dataset.py --store scratch/dataset --n-hosts 200 --per-host 4 --workers 2
python scripts/build_dataset.py --store scratch/dataset --engine mass-defect --n-hosts 400 \
    --per-host 30 --min-percent 0.2 --max-atoms 600 --chunk 20 --cache-dir scratch/fc-cache

Rerunning the same command skips every request the store already holds; the seeds make
the requests identical on every machine (``defectnet_atomate.dataset.build_campaign``).
"""

from __future__ import annotations

import argparse
import logging

from defectnet_atomate.dataset import build_campaign


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
    parser.add_argument(
        "--engine", default="direct", choices=["direct", "mass-defect", "embedding"]
    )
    parser.add_argument("--max-percent", type=float, default=25.0)
    parser.add_argument("--cache-dir", default=None, help="host force constants and patches")
    parser.add_argument("--first-host", type=int, default=0, help="start in the shuffled order")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    build_campaign(
        args.store,
        args.hosts_file,
        args.n_hosts,
        args.per_host,
        args.max_host_sites,
        args.max_atoms,
        args.min_percent,
        args.workers,
        args.seed,
        args.force_field,
        args.chunk,
        args.engine,
        args.max_percent,
        args.cache_dir,
        args.first_host,
    )


if __name__ == "__main__":
    main()
