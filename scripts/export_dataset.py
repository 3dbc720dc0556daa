"""Export the campaign store to a compact, committed dataset file with a datasheet.

python scripts/export_dataset.py --store scratch/dataset --out data/dataset/campaign-chgnet-direct.json.gz

Keeps, per spectrum: host (id, formula, structure, composition), dopants, engine, flags,
and the total DOS of the doped cell and of its pristine host (THz grid, 4 significant
digits), which is what the model trains on. The datasheet (same name, .md) lists hosts,
elements, the concentration histogram, settings and the calculator.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import numpy as np
from monty.serialization import dumpfn

from defectnet_atomate.stores import default_store


def compact(doc: dict) -> dict:
    """Keep what the model needs."""

    def spectrum(p: dict) -> dict:
        return {
            "frequencies": [round(x, 3) for x in p["frequencies"]],
            "total": [float(f"{x:.4g}") for x in p["total"]],
        }

    host = doc["host"]
    return {
        "config_id": doc["config_id"],
        "host": {
            k: host[k] for k in ("host_id", "formula", "structure", "elements", "composition")
        },
        "num_sites": doc["num_sites"],
        "dopants": doc["dopants"],
        "dopant_elements": doc["dopant_elements"],
        "n_dopants": doc["n_dopants"],
        "settings": {"engine": doc["settings"]["engine"]},
        "calculator": doc["calculator"],
        "imaginary_fraction": doc["imaginary_fraction"],
        "min_frequency": doc["min_frequency"],
        "pdos": spectrum(doc["pdos"]),
        "pristine_pdos": spectrum(doc["pristine_pdos"]),
    }


def datasheet(docs: list[dict], out: Path) -> str:
    hosts = collections.Counter(d["host"]["formula"] for d in docs)
    elements = collections.Counter(el for d in docs for el in d["dopant_elements"])
    conc = [x["atomic_percent"] for d in docs for x in d["dopants"]]
    edges = [0.2, 0.5, 1, 2, 5, 10, 25, 30]
    hist, _ = np.histogram(conc, bins=edges)
    n_dop = collections.Counter(d["n_dopants"] for d in docs)
    flagged = sum(d["imaginary_fraction"] > 0.02 for d in docs)
    calc = docs[0]["calculator"]
    lines = [
        f"# Datasheet: {out.name}",
        "",
        f"- Spectra: {len(docs)}; hosts: {len(hosts)}; dopant elements: {len(elements)}.",
        f"- Engines: {dict(collections.Counter(d['settings']['engine'] for d in docs))}.",
        f"- Calculator: {calc['name']} {calc.get('package_version')} (weights {calc.get('model_version')}, "
        f"hash {calc.get('weights_hash')}).",
        "- Settings: 0.01 A central finite differences, symmetrised force constants, cell and positions "
        "relaxed (fmax 5e-3 eV/A, at most 300 BFGS steps), q-mesh of phonopy length 20 A, Gaussian 0.1 THz.",
        "- Requests: `scripts/build_dataset.py` (seed 2026; hosts with Born charges and <= 6 atoms per "
        "primitive cell, in random order; 1-6 dopants from the recommender and periodic-table "
        "neighbours; concentrations log-uniform 2-25 at.%; supercells <= 96 atoms).",
        f"- Imaginary modes: {flagged} spectra have more than 2 % of their modes below -0.1 THz; they are "
        "kept and flagged (`imaginary_fraction`), and training leaves them out.",
        f"- Dopants per spectrum: {dict(sorted(n_dop.items()))}.",
        "- Concentration histogram (at.% of all atoms): "
        + ", ".join(
            f"{lo}-{hi}: {n}" for lo, hi, n in zip(edges[:-1], edges[1:], hist, strict=True)
        ),
        f"- Dopant elements: {dict(elements.most_common())}.",
        f"- Hosts: {dict(hosts.most_common())}.",
        "",
        "Hosts come from phonondb 2018-04-17 (A. Togo, Kyoto University), licensed CC-BY-4.0; their",
        "structures originate from the Materials Project.",
        "",
    ]
    return "\n".join(lines)


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
