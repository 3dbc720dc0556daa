"""One threshold against a gate plus a lower threshold, for the shipped model's weights.

python benchmarks/decision_rule.py [--model NAME_OR_FOLDER] [--json benchmarks/results/decision_rule.json]

Both rules are calibrated on the same validation hosts (the split of
``scripts/train_pretrained.py``: 70/15/15 by host, seed 0) with the same limit, at most 2 %
of pristine validation spectra called doped, then tested on the unseen test hosts:

- *one threshold*: a candidate is present when its probability reaches ``t``
  (:func:`~defectnet_atomate.ml.training.calibrate_threshold`, the rule before 0.6);
- *gate*: a spectrum is doped when its most probable candidate reaches the gate ``g``, and
  then every candidate from ``t <= g`` is present
  (:func:`~defectnet_atomate.ml.training.calibrate_decision`).

Clean spectra (direct and mass-defect test hosts) and measurement-like copies (seed 7; their
references matched to the instrument when the model does so), with distractor candidates.
The weights are the same for both rules: only the decision differs. The last line printed
is a JSON object.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from common import emit

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.augment import measured_like_examples
from defectnet_atomate.ml.quantifier import _aligned
from defectnet_atomate.ml.training import (
    calibrate_decision,
    evaluate_network,
    examples_from_docs,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import KEYS as RECIPE_KEYS  # noqa: E402
from training_recipes import load_levels, split_levels  # noqa: E402

# identification only: the rule does not change the concentrations
KEYS = ("n_examples", "n_pristine", *RECIPE_KEYS[: RECIPE_KEYS.index("mae_at_percent")])


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    q = DefectQuantifier.from_pretrained(args.model)
    high, low = load_levels()
    (_, h_val, h_test), (_, l_val, l_test) = split_levels(high, low)
    val = examples_from_docs(h_val + l_val)
    measured_val = q._measured_like(val, 0)  # as DefectQuantifier.calibrate draws them
    measured_test = measured_like_examples(examples_from_docs(h_test + l_test))
    if q.align_measured:
        measured_val = [_aligned(e) for e in measured_val]
        measured_test = [_aligned(e) for e in measured_test]
    if not q.measured_site_inputs:
        measured_val = [replace(e, projected=None, _features=None) for e in measured_val]
        measured_test = [replace(e, projected=None, _features=None) for e in measured_test]
    clean_tests = {"direct": examples_from_docs(h_test), "mass_defect": examples_from_docs(l_test)}
    cases = {
        "clean": (val, clean_tests),
        "measured_like": (measured_val, {"measured_like": measured_test}),
    }
    rules: dict[str, dict] = {}
    tests: dict[str, dict] = {}
    for kind, (validation, test_sets) in cases.items():
        single, _ = calibrate_decision(q.network, validation, gated=False)
        threshold, gate = calibrate_decision(q.network, validation)
        rules[kind] = {"one_threshold": single, "threshold": threshold, "gate": gate}
        for name, examples in test_sets.items():
            one = evaluate_network(q.network, examples, single)
            gated = evaluate_network(q.network, examples, threshold, gate=gate)
            tests[name] = {
                "one_threshold": {k: one.get(k) for k in KEYS},
                "gate": {k: gated.get(k) for k in KEYS},
            }
            print(name, tests[name], flush=True)
    return emit(
        {"model": q.name, "n_validation": len(val), "rules": rules, "tests": tests}, args.json
    )


if __name__ == "__main__":
    main()
