"""How much a model's rules for measured spectra depend on one random draw of the calibration.

python benchmarks/calibration_stability.py [--model NAME_OR_FOLDER] [--seeds 0 1 2 3]
    [--draws 1 4] [--measured-budget 0.01] [--neutron-budget B] [--without EXPORT ...]
    [--json benchmarks/results/calibration_stability.json]

:meth:`~defectnet_atomate.ml.quantifier.DefectQuantifier.calibrate` sets the rules for
measured spectra on measurement-like copies of the validation spectra (each pristine host
drawn four or five times), allowing a budget of the pristine ones to be called doped: 1 %
of some 650 pristine spectra is the six or seven most confident of them, so the gate rests
on a handful of spectra, and those come from a few hosts. This script recalibrates one
model's weights (unchanged) on the validation hosts of the current split
(:func:`training_recipes.split_levels`) with several seeds of the measurement-like draw
(``calibrate(seed=)``) and with more rounds of pristine draws
(``calibrate(pristine_draws=)``), and reads the measurement-like test spectra of the unseen
hosts of ``benchmarks/measurement_effects.py`` (same seed and draws: all effects, and
reduced with care, without tail and background; as PDoS and as neutron measurements) with
each set of rules: F1 with distractor candidates and the share of pristine spectra called
doped. Its spread over the seeds is the calibration's own noise; the spread that more
pristine draws leave is what the validation hosts themselves allow. ``--without`` adds a
calibration on the validation spectra without some exports' documents (e.g. the split as it
was when the model was trained: are its rules reproduced, and what do a few more validation
spectra change?). Runs already in the ``--json`` file (same model and budgets) are kept,
not repeated.

The last line printed is a JSON object.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from common import checkpoint, emit, model_parser, model_rules

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.dataset import load_dataset
from defectnet_atomate.ml.augment import MeasurementAugmentation, measured_like_examples
from defectnet_atomate.ml.quantifier import MEASURED_PRISTINE_FPR

if TYPE_CHECKING:
    from defectnet_atomate.ml.training import Example

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from measurement_effects import EFFECTS, unseen_examples  # noqa: E402
from training_recipes import load_levels, split_levels  # noqa: E402

ROWS = ("all effects", "no tail, no background")


def data(seed: int = 7) -> tuple[list[dict], dict[str, list[Example]]]:
    """Validation documents and the measurement-like test sets (as measurement_effects)."""
    high, low = load_levels()
    (_, h_val, _), (_, l_val, _) = split_levels(high, low)
    examples, neutron = unseen_examples((high, low))
    sets = {}
    for label in ROWS:
        augmentation = MeasurementAugmentation(**EFFECTS[label])
        sets[f"pdos, {label}"] = measured_like_examples(
            examples, seed=seed, augmentation=augmentation
        )
        sets[f"neutron, {label}"] = measured_like_examples(
            neutron, seed=seed, neutron=1.0, augmentation=augmentation
        )
    return h_val + l_val, sets


def main() -> dict:
    parser = model_parser(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--measured-budget", type=float, default=MEASURED_PRISTINE_FPR)
    parser.add_argument(
        "--neutron-budget",
        type=float,
        default=None,
        help="budget of the neutron rule (default: the model's own, from its calibration)",
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        help="a dataset export (repeatable): one more calibration (seed 0, one round) on the "
        "validation spectra without its documents, e.g. the validation split as it was when "
        "the model was trained",
    )
    args = parser.parse_args()
    model = (args.model or [None])[0]
    base = DefectQuantifier.from_pretrained(model)
    neutron_budget = args.neutron_budget
    if neutron_budget is None:
        neutron_budget = base.metadata.get("neutron_calibration", {}).get("pristine_fpr_budget")
    validation, sets = data()
    first = sets["pdos, all effects"]
    result: dict = {
        "model": base.metadata.get("name", str(model)),
        "measured_budget": args.measured_budget,
        "neutron_budget": neutron_budget,
        "n_test_hosts": len({e.host_id for e in first}),
        "n_test_pristine": sum(not e.truth for e in first),
        "n_test_pristine_neutron": sum(not e.truth for e in sets["neutron, all effects"]),
        "shipped_rules": model_rules(base),
        "runs": [],
    }
    # a run of the same model and budgets written before: keep what it measured
    earlier = (
        json.loads(Path(args.json).read_text()) if args.json and Path(args.json).exists() else {}
    )
    same = all(earlier.get(k) == result[k] for k in ("model", "measured_budget", "neutron_budget"))
    if same:
        result["runs"] = earlier.get("runs", [])
        result["shipped"] = earlier.get("shipped")
    # the model's own rules first: the reference every recalibration is set against
    if result.get("shipped") is None:
        result["shipped"] = _read(base, sets)
    checkpoint(result, args.json)
    plan = [(draws, seed, ()) for draws in args.draws for seed in args.seeds]
    plan += [(1, 0, tuple(sorted(args.without)))] if args.without else []
    for draws, seed, without in plan:
        key = (draws, seed, list(without))
        if any(
            (r["pristine_draws"], r["seed"], r.get("without", [])) == key for r in result["runs"]
        ):
            continue
        val = validation
        if without:
            left_out = {d["config_id"] for path in without for d in load_dataset(ROOT / path)}
            val = [d for d in validation if d["config_id"] not in left_out]
        q = copy.deepcopy(base)
        start = time.perf_counter()
        q.calibrate(
            val,
            seed=seed,
            max_pristine_fpr_measured=args.measured_budget,
            max_pristine_fpr_neutron=neutron_budget,
            pristine_draws=draws,
        )
        run = {
            "pristine_draws": draws,
            "seed": seed,
            "calibration_s": round(time.perf_counter() - start, 1),
            "n_validation": len(val),
            "rules": model_rules(q),
            "measured_calibration": q.metadata.get("measured_calibration"),
        }
        if without:  # its rules are all it is for: compared with the model's own
            own = model_rules(base)  # the rules the model has (one added since it was made aside)
            same = all(run["rules"][k] == v for k, v in own.items() if v != [None, None])
            run |= {"without": list(without), "same_rules_as_model": same}
        else:
            run["test"] = _read(q, sets)
        result["runs"].append(run)
        print(draws, seed, without, run["rules"], run.get("test"), flush=True)
        checkpoint(result, args.json)
    return emit(result, args.json)


def _read(q: DefectQuantifier, sets: dict[str, list[Example]]) -> dict:
    """F1 and pristine false-positive rate of each test set, read as measurements."""
    out = {}
    for label, examples in sets.items():
        m = q.evaluate(examples, measured=True)
        out[label] = {
            "f1": m.get("f1"),
            "auc": m.get("auc"),
            "pristine_false_positive_rate": m.get("pristine_false_positive_rate"),
        }
    return out


if __name__ == "__main__":
    main()
