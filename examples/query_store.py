"""Put documents in the embedded store, query them, and turn them into training arrays.

python examples/query_store.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from monty.serialization import loadfn

from defectnet_atomate.stores import default_store, docs_to_arrays, query_docs

docs = loadfn(Path(__file__).parents[1] / "tests" / "test_data" / "si_doped_docs.json.gz")
store = default_store(tempfile.mkdtemp())  # default_store() alone: the user's data folder
with store:
    store.update(docs, key="config_id")
    print("documents:", store.count())
    for doc in query_docs(store, dopant="Ge", min_percent=5, max_percent=7):
        print(
            doc["config_id"], doc["dopant_elements"], [d["atomic_percent"] for d in doc["dopants"]]
        )
    two = list(query_docs(store, n_dopants=2))
    print("with two dopants:", [d["dopant_elements"] for d in two])
    arrays = docs_to_arrays(store.query({}))
print("arrays:", arrays["doped"].shape, "elements", arrays["elements"])
