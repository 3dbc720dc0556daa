"""Predict dopants from a spectrum file with the pretrained model shipped in the package.

python examples/predict_from_file.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from monty.serialization import loadfn

from defectnet_atomate import DefectQuantifier

doc = loadfn(Path(__file__).parents[1] / "tests" / "test_data" / "ml_docs.json.gz")[0]

# a two-column file in meV, as a measurement would come (here written from a simulated spectrum)
folder = Path(tempfile.mkdtemp())
spectrum = folder / "spectrum.csv"
rows = zip(doc["pdos"]["frequencies"], doc["pdos"]["total"], strict=True)
spectrum.write_text(
    "# energy (meV), DOS\n" + "\n".join(f"{f * 4.135667696:.4f},{d}" for f, d in rows)
)
pristine = folder / "pristine.csv"
rows = zip(doc["pristine_pdos"]["frequencies"], doc["pristine_pdos"]["total"], strict=True)
pristine.write_text(
    "# energy (meV), DOS\n" + "\n".join(f"{f * 4.135667696:.4f},{d}" for f, d in rows)
)

model = DefectQuantifier.from_pretrained()
report = model.predict(
    spectrum,
    host=pristine,
    composition=doc["host"]["composition"],
    candidates=doc["dopant_elements"] + ["Li", "Na"],
)
print(report)
print("truth:", {d["element"]: round(d["atomic_percent"], 2) for d in doc["dopants"]})
