"""Export the campaign store to a compact, committed dataset file with a datasheet.

python scripts/export_dataset.py --store scratch/dataset --out data/dataset/campaign-chgnet-direct.json.gz

Keeps, per spectrum, what the model trains on (see ``defectnet_atomate.dataset.compact``);
the datasheet (same name, .md) lists hosts, elements, the concentration histogram, settings
and the calculator.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from monty.serialization import dumpfn

from defectnet_atomate.dataset import compact, datasheet
from defectnet_atomate.stores import default_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    store = default_store(args.store)
    with store:
        docs = [compact(d) for d in store.query({})]
    docs.sort(key=lambda d: d["config_id"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dumpfn(docs, out)
    out.with_name(out.name.replace(".json.gz", ".md")).write_text(datasheet(docs, out))
    print(json.dumps({"spectra": len(docs), "file": str(out), "bytes": out.stat().st_size}))


if __name__ == "__main__":
    main()
