"""How much of a dopant's spectral change does the Lifshitz mass-defect signature explain?

python benchmarks/mass_defect_signature.py [--json benchmarks/results/mass_defect_signature.json]

The model's candidate-site inputs (``defectnet_atomate.ml.featurize``) rest on
:func:`~defectnet_atomate.phonons.dos.mass_defect_signature`: the change of the DOS that
isolated mass defects on one host site make, computed from the host's projected pristine
DOS alone. This script compares it with the change the simulations show, for the
single-dopant spectra of the committed datasets (sampling-corrected, as training sees
them), on the model's relative frequency grid:

- cosine between the observed difference and the true pair's signature at the true
  concentration, and the least-squares amplitude (1 = the right size);
- the same for the best WRONG site of the same dopant (where the host has another
  element), to show the signature tells sites apart;
- by engine (mass-defect: the formula's own approximation plus finite concentration and
  q-sampling; direct: relaxation and changed bonding too) and concentration bin.

The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from common import emit
from pymatgen.core import Element

from defectnet_atomate.ml.featurize import BIN_CENTRES, Features, featurize_spectra
from defectnet_atomate.ml.training import examples_from_docs
from defectnet_atomate.phonons.dos import signature_from_green

ROOT = Path(__file__).resolve().parents[1]
BINS = ((0.2, 1.0), (1.0, 5.0), (5.0, 25.0))


def _compare(
    base: Features, diff: np.ndarray, hosts: list[str], dopant: dict, site: str
) -> tuple[float, float]:
    """Cosine and least-squares amplitude of the dopant's signature on ``site``."""
    h = hosts.index(site)
    eps = 1 - Element(dopant["element"]).atomic_mass / Element(site).atomic_mass
    sig = (
        signature_from_green(BIN_CENTRES, base.site_green[h], eps) * dopant["atomic_percent"] / 100
    )
    norm = float(sig @ sig)
    if norm <= 1e-14:
        return 0.0, 0.0
    cos = float(diff @ sig) / np.sqrt(norm) / (np.linalg.norm(diff) + 1e-12)
    return cos, float(diff @ sig) / norm


def single_dopant_spectra(docs: list[dict]) -> Iterator[tuple[dict, Features, list[str]]]:
    """Each usable single-dopant document with its features and sorted host elements.

    Left out: spectra flagged for imaginary modes, those training leaves out (e.g. cells
    stopped above the residual force) and those without element projections.
    """
    for d in docs:
        if len(d["dopants"]) != 1 or d.get("imaginary_fraction", 0) > 0.02:
            continue
        examples = examples_from_docs([d], include_pristine=False)
        if not examples:
            continue
        (e,) = examples
        base = featurize_spectra(e.doped, e.pristine, e.composition, e.projected)
        if base.site_green is not None:
            yield d, base, sorted(e.composition)


def _rows(docs: list[dict]) -> list[dict]:
    rows = []
    for d, base, hosts in single_dopant_spectra(docs):
        x = d["dopants"][0]
        diff = base.spectra[2].astype(float)
        cos, amp = _compare(base, diff, hosts, x, x["replaces"])
        wrong = [_compare(base, diff, hosts, x, s)[0] for s in hosts if s != x["replaces"]]
        rows.append(
            {
                "engine": d["settings"]["engine"],
                "percent": x["atomic_percent"],
                "cosine": cos,
                "amplitude": amp,
                "wrong_site_cosine": max(wrong) if wrong else None,
            }
        )
    return rows


def _summary(rows: list[dict]) -> dict:
    if not rows:
        return {"n": 0}
    cos = np.array([r["cosine"] for r in rows])
    amp = np.array([r["amplitude"] for r in rows])
    wrong = [
        (r["cosine"], r["wrong_site_cosine"]) for r in rows if r["wrong_site_cosine"] is not None
    ]
    return {
        "n": len(rows),
        "median_cosine": round(float(np.median(cos)), 3),
        "fraction_cosine_above_0.5": round(float(np.mean(cos > 0.5)), 3),
        "median_amplitude": round(float(np.median(amp)), 3),
        "n_multi_element_hosts": len(wrong),
        "true_site_beats_wrong_sites": round(float(np.mean([a > b for a, b in wrong])), 3)
        if wrong
        else None,
    }


def by_engine(rows: list[dict], summary: Callable[[list[dict]], dict]) -> dict:
    """``summary`` of the rows of each engine, overall and by concentration bin."""
    result = {}
    for engine in ("mass-defect", "direct"):
        mine = [r for r in rows if r["engine"] == engine]
        result[engine] = summary(mine)
        for lo, hi in BINS:
            result[engine][f"{lo:g}-{hi:g} at.%"] = summary(
                [r for r in mine if lo <= r["percent"] < hi]
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--limit", type=int, default=None, help="documents per file")
    args = parser.parse_args()
    from defectnet_atomate.dataset import load_dataset

    files = sorted((ROOT / "data" / "dataset").glob("campaign-chgnet-*.json.gz"))
    docs = [d for f in files for d in load_dataset(f)[: args.limit]]
    rows = _rows(docs)
    result: dict = {"documents": len(docs), "single_dopant_spectra": len(rows)}
    emit({**result, **by_engine(rows, _summary)}, args.json)


if __name__ == "__main__":
    main()
