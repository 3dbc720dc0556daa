r"""Simulate a training set of doped-crystal spectra from the host library (resumable).

The same as ``defectnet dataset build`` (this script passes its arguments on). Examples:

python scripts/build_dataset.py --store scratch/dataset --n-hosts 200 --per-host 4 --workers 2
python scripts/build_dataset.py --store scratch/dataset-md --engine mass-defect --n-hosts 873 \
    --per-host 30 --min-percent 0.2 --max-atoms 600 --chunk 20 --cache-dir scratch/fc-cache

Rerunning the same command skips every request the store already holds; the seeds make
the requests identical on every machine (``defectnet_atomate.dataset.Campaign``).
"""

from __future__ import annotations

import sys

from defectnet_atomate.cli import main

if __name__ == "__main__":
    sys.exit(main(["dataset", "build", *sys.argv[1:]]))
