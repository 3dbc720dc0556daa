"""What a model finds, by concentration, on every host it never saw.

python benchmarks/detection_limit.py [--model NAME_OR_FOLDER ...] [--json benchmarks/results/detection_limit.json]

Unseen hosts are all hosts of the committed dataset that are not in the model's
``metadata["seen_hosts"]`` (the hosts it was trained or calibrated on, recorded by
``scripts/train_pretrained.py``); with several models, the hosts that none of them saw. Direct-engine campaigns go on after a model is trained,
so the direct spectra of hosts a model never saw outnumber the direct test split that
its model card reports: this script reads all of them. Five sets, with the model's own
rules and seeded distractor candidates (as ``DefectQuantifier.evaluate``):

- ``direct``: every direct-engine spectrum (and pristine reference) of an unseen host;
- ``mass_defect``: every mass-defect spectrum of an unseen host;
- ``measured_like``: both, distorted like a measurement (the seeded draw of the model
  card, :func:`defectnet_atomate.ml.augment.measured_like_examples`; rules for measured
  spectra);
- ``neutron_measured_like``: those with a neutron-weighted form, as neutron measurements.
- ``direct_measured_like``: the direct-engine spectra alone, distorted like a measurement
  (a real sample changes its bonds as the direct level does; the measured rules are
  calibrated on validation spectra that are mostly mass-defect ones).

For each: the headline numbers and the detection rate (recall of the dopants present)
in the concentration bins of
:data:`defectnet_atomate.ml.training.DETECTION_BINS`: how dilute a dopant can be and
still be found at the model's false-alarm rate.

The last line printed is a JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import emit, model_parser

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.augment import measured_like_examples
from defectnet_atomate.ml.training import examples_from_docs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import KEYS as RECIPE_KEYS  # noqa: E402
from training_recipes import load_levels  # noqa: E402

KEYS = (
    *RECIPE_KEYS,
    "n_examples",
    "n_pristine",
    "distractor_false_positive_rate",
    "detection_by_concentration",
)


def unseen(docs: list[dict], seen: set[str]) -> list[dict]:
    """The documents of hosts not in ``seen``."""
    return [d for d in docs if d["host"]["host_id"] not in seen]


def main() -> dict:
    args = model_parser(__doc__.splitlines()[0]).parse_args()
    high, low = load_levels()
    result: dict = {"models": {}}
    models = [DefectQuantifier.from_pretrained(m) for m in args.model or [None]]
    seen: set[str] = set()
    for q in models:  # several models: the hosts that none of them saw
        if not q.metadata.get("seen_hosts"):
            raise SystemExit(
                f"Model {q.metadata.get('name')} does not record the hosts it was trained on "
                "(metadata['seen_hosts']); models trained by scripts/train_pretrained.py "
                "from 0.11 on do."
            )
        seen |= set(q.metadata["seen_hosts"])
    for model, q in zip(args.model or [None], models, strict=True):
        name = q.metadata.get("name", str(model))
        if name in result["models"]:  # the same name, other weights: name it by its folder
            name = Path(str(model)).name
        direct, mass_defect = unseen(high, seen), unseen(low, seen)
        clean = examples_from_docs(direct + mass_defect)
        sets = {
            "direct": (direct, False),
            "mass_defect": (mass_defect, False),
            "measured_like": (measured_like_examples(clean), True),
            "neutron_measured_like": (
                measured_like_examples([e for e in clean if e.neutron is not None], neutron=1.0),
                True,
            ),
            "direct_measured_like": (measured_like_examples(examples_from_docs(direct)), True),
        }
        rows: dict = {
            "n_unseen_hosts": {
                "direct": len({d["host"]["host_id"] for d in direct}),
                "mass_defect": len({d["host"]["host_id"] for d in mass_defect}),
            }
        }
        for label, (test, measured) in sets.items():
            metrics = q.evaluate(test, measured=measured)
            rows[label] = {k: metrics.get(k) for k in KEYS}
            print(name, label, {k: rows[label][k] for k in ("auc", "f1")}, flush=True)
        result["models"][name] = rows
    return emit(result, args.json)


if __name__ == "__main__":
    main()
