"""Export the campaign store to a compact, committed dataset file with a datasheet.

python scripts/export_dataset.py --store scratch/dataset --out data/dataset/campaign-chgnet-direct.json.gz

Keeps, per spectrum, what the model trains on (see ``defectnet_atomate.dataset.compact``);
the datasheet (same name, .md) lists hosts, elements, the concentration histogram, settings
and the calculator.
"""

from __future__ import annotations

import argparse
import json

from defectnet_atomate.dataset import export_dataset
from defectnet_atomate.stores import default_store

_PROPERTIES = [
    "config_id",
    "host",
    "num_sites",
    "dopants",
    "dopant_elements",
    "n_dopants",
    "settings.engine",
    "calculator",
    "imaginary_fraction",
    "min_frequency",
    "pdos.frequencies",
    "pdos.total",
    "pristine_pdos.frequencies",
    "pristine_pdos.total",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--engine", default=None, help="only documents of this engine")
    args = parser.parse_args()
    criteria = {"settings.engine": args.engine} if args.engine else {}
    with default_store(args.store) as store:
        docs = list(store.query(criteria, properties=_PROPERTIES))
    print(json.dumps(export_dataset(docs, args.out)))


if __name__ == "__main__":
    main()
