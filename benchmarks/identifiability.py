"""How well can ANY model identify dopants in mass-defect spectra? A mass-only ceiling.

python benchmarks/identifiability.py [--json benchmarks/results/identifiability.json]

In the mass-defect fidelity level a dopant changes nothing but the mass on its site, so
two candidates of nearly the same mass (Se 79.0, Br 79.9, As 74.9) produce the same
spectrum, and a dopant as heavy as the atom it replaces produces none. This script takes
the held-out mass-defect spectra of the shipped model's split (same hosts, same seeded
distractor candidates as ``evaluate_network``) and scores an oracle that knows the exact
masses and sites of the dopants present but, like the spectrum, cannot tell masses
within a relative tolerance apart:

- a true dopant within the tolerance of the mass it replaces is invisible (score 0);
- any other true dopant scores 1;
- a distractor scores 1 when its mass is within the tolerance of a visible true dopant
  of the same spectrum (0 otherwise).

Its AUC and F1 (calling every candidate that scores 1) bound what a model can reach on
these spectra at that mass resolution. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from common import emit
from pymatgen.core import Element

from defectnet_atomate.ml.training import _candidates, examples_from_docs

ROOT = Path(__file__).resolve().parents[1]
TOLERANCES = (0.01, 0.02, 0.05)


def _ceiling(examples: list, docs_sites: dict, tolerance: float, seed: int = 1234) -> dict:
    rng = np.random.default_rng(seed)
    pool = sorted({el for e in examples for el in e.truth})
    pos, neg = [], []
    tp = fp = fn = 0
    for e in examples:
        cands = _candidates(e, rng, pool, 5)
        if not e.truth:
            continue
        sites = docs_sites[id(e)]
        mass = {el: Element(el).atomic_mass for el in cands}
        visible = [
            el
            for el in e.truth
            if abs(mass[el] - Element(sites[el]).atomic_mass) > tolerance * mass[el]
        ]
        for el in cands:
            if el in e.truth:
                score = int(el in visible)
                pos.append(score)
                tp += score
                fn += 1 - score
            else:
                score = int(any(abs(mass[el] - mass[v]) <= tolerance * mass[v] for v in visible))
                neg.append(score)
                fp += score
    p, n = np.array(pos), np.array(neg)
    auc = float((p[:, None] > n[None, :]).mean() + 0.5 * (p[:, None] == n[None, :]).mean())
    return {
        "tolerance": tolerance,
        "auc": round(auc, 3),
        "f1": round(2 * tp / (2 * tp + fp + fn), 3),
        "invisible_fraction": round(1 - float(p.mean()), 3),
        "confusable_distractor_fraction": round(float(n.mean()), 3),
        "n_present": len(p),
        "n_distractors": len(n),
    }


def main() -> dict:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from training_recipes import load_levels, split_levels

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    high, low = load_levels()
    _, (_, _, l_test) = split_levels(high, low)
    l_test = [d for d in l_test if d.get("imaginary_fraction", 0.0) <= 0.02]
    examples = examples_from_docs(l_test, include_pristine=True)
    # the site each true dopant replaced (examples keep only element -> at.%)
    doped = [e for e in examples if e.truth]
    sites = {}
    for e, d in zip(doped, l_test, strict=True):
        sites[id(e)] = {x["element"]: x["replaces"] for x in d["dopants"]}
    result = {
        "level": "mass-defect",
        "test_hosts": len({d["host"]["host_id"] for d in l_test}),
        "ceilings": [_ceiling(examples, sites, t) for t in TOLERANCES],
    }
    return emit(result, args.json)


if __name__ == "__main__":
    main()
