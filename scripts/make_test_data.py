"""Regenerate the small real test data in tests/test_data (CHGNet, direct engine).

python scripts/make_test_data.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import torch
from monty.serialization import dumpfn
from pymatgen.core import Lattice, Structure

from defectnet_atomate.builders import doc_to_store_dict
from defectnet_atomate.phonons.direct import DirectEngine

TEST_DATA = Path(__file__).resolve().parents[1] / "tests" / "test_data"
HOSTS_FILE = Path(__file__).resolve().parents[2] / "shared/data/hosts/phonondb-2018-hosts.jsonl.gz"


def main() -> None:
    torch.set_num_threads(1)
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    si = si.get_primitive_structure()
    engine = DirectEngine()
    docs = []
    for seed, dopings in enumerate([["Ge:Si:6"], ["C:Si:6"], ["Ge:Si:6", "Sn:Si:6"]]):
        doc = engine.run(si, dopings, seed=seed, host_id="mp-149")
        docs.append(doc_to_store_dict(doc))
    dumpfn(docs, TEST_DATA / "si_doped_docs.json.gz")

    # three hosts of the phonondb library (CC-BY-4.0), for the host-library tests
    wanted = {"mp-149", "mp-2133", "mp-13032"}
    with (
        gzip.open(HOSTS_FILE, "rt") as src,
        gzip.open(TEST_DATA / "hosts-subset.jsonl.gz", "wt") as dst,
    ):
        for line in src:
            if json.loads(line)["id"] in wanted:
                dst.write(line)


if __name__ == "__main__":
    main()
