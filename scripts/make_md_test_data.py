"""Cut the small mass-defect dataset the identification test trains on.

python scripts/make_md_test_data.py

From the committed mass-defect export (``data/dataset/*mass-defect*.json.gz``, simulated by
``scripts/build_dataset.py --engine mass-defect``): the first 24 hosts (by id) with at
least 12 spectra, 12 spectra each, written to ``tests/test_data/md_docs.json.gz``.
"""

from __future__ import annotations

from pathlib import Path

from defectnet_atomate.dataset import export_dataset, load_dataset

ROOT = Path(__file__).resolve().parents[1]
N_HOSTS, PER_HOST = 24, 12


def main() -> None:
    (source,) = sorted((ROOT / "data" / "dataset").glob("*mass-defect*.json.gz"))
    by_host: dict[str, list[dict]] = {}
    for doc in sorted(load_dataset(source), key=lambda d: d["config_id"]):
        by_host.setdefault(doc["host"]["host_id"], []).append(doc)
    hosts = [h for h in sorted(by_host) if len(by_host[h]) >= PER_HOST][:N_HOSTS]
    docs = [d for h in hosts for d in by_host[h][:PER_HOST]]
    print(export_dataset(docs, ROOT / "tests" / "test_data" / "md_docs.json.gz"))


if __name__ == "__main__":
    main()
