"""Pristine spectra of hosts a model never saw, offered only plausible candidates.

python benchmarks/pristine_candidates.py [--model NAME_OR_FOLDER ...] [--json benchmarks/results/pristine_candidates.json]

The pristine false-positive rate of the other benchmarks comes from the evaluation's
seeded candidate draw: 1-5 distractors per pristine spectrum, each from the host's own
pool of plausible dopants (the recommender's and periodic-table neighbours, as a
campaign draws them) with chance 0.6, else from the dopants of the other test spectra.
A user checking an undoped sample offers the recommender's candidates, all plausible for
that host. This script reads the pristine spectra (8 copies each, each distorted on its own
draw where measurement-like) of every host the model never saw (``metadata["seen_hosts"]``,
as ``benchmarks/detection_limit.py``) both ways, with the model's rules:

- ``evaluation_draw``: the draw of the other benchmarks (global pool: the dopants of the
  doped spectra of the same hosts);
- ``host_pool_only``: every distractor from the host's own pool (``global_pool=[]``).

Forms: the clean phonon DOS (rule for simulated spectra), measurement-like phonon DOS and
measurement-like neutron-weighted DOS (rules for measured spectra; hosts whose neutron
weight hydrogen holds left out, as ``predict`` warns about them). ``false_alarms``: for the
measurement-like neutron spectra offered only plausible dopants, over three candidate draws
(seeds 1234, the evaluation's, 98 and 5), each pristine spectrum called doped, with the
candidate that tripped the gate and its probability. The last line printed is a JSON object.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import emit, model_parser

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.augment import measured_like_examples
from defectnet_atomate.ml.quantifier import _aligned, _neutron_dominance
from defectnet_atomate.ml.training import Example, _candidates, examples_from_docs, predict_arrays

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from detection_limit import unseen  # noqa: E402
from training_recipes import load_levels  # noqa: E402


def false_alarms(q: DefectQuantifier, pristine: list[Example], seed: int) -> list[dict]:
    """Measured pristine spectra called doped with only the host's plausible candidates, read
    as :meth:`DefectQuantifier.evaluate` reads them (``measured=True``)."""
    examples = [_aligned(e) for e in pristine] if q.align_measured else list(pristine)
    if not q.measured_site_inputs:
        examples = [replace(e, projected=None, _features=None) for e in examples]
    rng = np.random.default_rng(seed)
    sets = [_candidates(e, rng, [], 5) for e in examples]
    probs, _, _ = predict_arrays(q.network, examples, sets)
    out = []
    for i, (e, cands) in enumerate(zip(examples, sets, strict=True)):
        _, gate = q.decision_for(e, True)
        if cands and probs[i, : len(cands)].max() >= gate:
            j = int(np.argmax(probs[i, : len(cands)]))
            formula = "".join(f"{el}{x:.2g}" for el, x in sorted(e.composition.items()))
            out.append(
                {
                    "host_id": e.host_id,
                    "composition": formula,
                    "called": cands[j],
                    "probability": round(float(probs[i, j]), 3),
                }
            )
    return out


def main() -> dict:
    args = model_parser(__doc__.splitlines()[0]).parse_args()
    high, low = load_levels()
    result: dict = {"models": {}}
    for model in args.model or [None]:
        q = DefectQuantifier.from_pretrained(model)
        name = q.metadata.get("name", str(model))
        seen = set(q.metadata.get("seen_hosts") or [])
        if not seen:
            raise SystemExit(f"Model {name} does not record the hosts it was trained on.")
        examples = examples_from_docs(unseen(high, seen) + unseen(low, seen), pristine_copies=8)
        drawn_pool = sorted({el for e in examples for el in e.truth})
        pristine = [e for e in examples if not e.truth]
        neutron = [
            e for e in pristine if e.neutron is not None and not _neutron_dominance(e.composition)
        ]
        forms = {
            "pdos": (pristine, False),
            "pdos_measured_like": (measured_like_examples(pristine, seed=7), True),
            "neutron_measured_like": (measured_like_examples(neutron, seed=7, neutron=1.0), True),
        }
        rows: dict = {"n_hosts": len({e.host_id for e in pristine})}
        for label, (test, measured) in forms.items():
            row = {"n_pristine": len(test)}
            for draw, pool in (("evaluation_draw", drawn_pool), ("host_pool_only", [])):
                metrics = q.evaluate(test, measured=measured, global_pool=pool)
                row[draw] = metrics.get("pristine_false_positive_rate")
            rows[label] = row
            print(name, label, row, flush=True)
        neutron_like = forms["neutron_measured_like"][0]
        rows["false_alarms"] = {
            str(seed): false_alarms(q, neutron_like, seed) for seed in (1234, 98, 5)
        }
        print(name, "false alarms", rows["false_alarms"], flush=True)
        result["models"][name] = rows
    return emit(result, args.json)


if __name__ == "__main__":
    main()
