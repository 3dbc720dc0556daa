"""Simulate the small real dataset the model tests train on (tests/test_data/ml_docs.json.gz).

python scripts/make_ml_test_data.py [--workers 1]

Twelve two-atom semiconductors of the phonondb library (CC-BY-4.0), seven doped cells each
(16-32 atoms, 1-3 dopants, 3-25 at.%), CHGNet with the direct engine. The export keeps
what the model needs (spectra, host, dopants, the cell reference) in a compact form.
Rerunning it skips what the store already holds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from monty.serialization import dumpfn

from defectnet_atomate.batch import run_batch
from defectnet_atomate.dataset import add_cell_references, compact, sample_tasks
from defectnet_atomate.hosts import iter_hosts
from defectnet_atomate.stores import default_store

ROOT = Path(__file__).resolve().parents[1]
HOSTS_FILE = ROOT.parent / "shared/data/hosts/phonondb-2018-hosts.jsonl.gz"
N_HOSTS = 12


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--store", default=str(ROOT / "scratch" / "ml_test_data"))
    args = parser.parse_args()
    hosts, formulas = [], set()
    for entry in iter_hosts(HOSTS_FILE, semiconductors_only=True, max_sites=2):
        formula = entry.structure.composition.reduced_formula
        if formula not in formulas and len(entry.structure.composition.elements) == 2:
            formulas.add(formula)
            hosts.append(entry)
        if len(hosts) == N_HOSTS:
            break
    tasks = list(
        sample_tasks(hosts, per_host=7, seed=7, max_species=3, min_percent=3.0, max_atoms=32)
    )
    store = default_store(args.store)
    summary = run_batch(tasks, store, n_workers=args.workers, supercell_kwargs={"max_atoms": 32})
    print(summary.done, "done", summary.failed, "failed")
    with store:
        docs = list(store.query({}))
    add_cell_references(docs)  # documents simulated before 0.2 get their cell reference
    docs = [compact(d) for d in docs]
    dumpfn(docs, ROOT / "tests" / "test_data" / "ml_docs.json.gz")
    print(len(docs), "documents,", sorted(formulas))


if __name__ == "__main__":
    main()
