"""Train a small DefectQuantifier on simulated spectra, evaluate it on unseen hosts, fine-tune it.

python examples/train_and_finetune.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from monty.serialization import loadfn

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml import split_by_host

docs = loadfn(Path(__file__).parents[1] / "tests" / "test_data" / "ml_docs.json.gz")
train, val, test = split_by_host(docs, (0.6, 0.2, 0.2), seed=1)
print(f"{len(train)} train, {len(val)} validation, {len(test)} test spectra (hosts never shared)")

model = DefectQuantifier(network_config={"width": 32, "heads": 4, "layers": 1})
model.fit(train, val, epochs=30, progress=False)
metrics = model.evaluate(test)
print({k: round(v, 3) for k, v in metrics.items() if isinstance(v, float)})

folder = model.save_pretrained(Path(tempfile.mkdtemp()) / "my-model")
again = DefectQuantifier.from_pretrained(folder)
print(again.predict(test[0]))

# adapt to a few labelled spectra of one material (only the output layers move)
host_docs = [d for d in test if d["host"]["host_id"] == test[0]["host"]["host_id"]]
truths = [{x["element"]: x["atomic_percent"] for x in d["dopants"]} for d in host_docs]
again.fine_tune(host_docs[:3], truths[:3], host=None, epochs=10)
print(again.predict(host_docs[-1]))
