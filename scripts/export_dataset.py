r"""Export a campaign store to a compact, committed dataset file with a datasheet.

The same as ``defectnet dataset export`` (this script passes its arguments on):

python scripts/export_dataset.py --store scratch/dataset --engine direct \
    --out data/dataset/campaign-chgnet-direct-2026.11.json.gz

Keeps, per spectrum, what the model trains on (``defectnet_atomate.dataset.export_dataset``);
the datasheet (same name, .md) lists hosts, elements, the concentration histogram, settings
and the calculator.
"""

from __future__ import annotations

import sys

from defectnet_atomate.cli import main

if __name__ == "__main__":
    sys.exit(main(["dataset", "export", *sys.argv[1:]]))
