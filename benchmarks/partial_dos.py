"""How well models read one element's partial DOS (nuclear resonant scattering) of unseen hosts.

python benchmarks/partial_dos.py [--model NAME_OR_FOLDER ...] [--partial-rule] [--json benchmarks/results/partial_dos.json]

Nuclear resonant inelastic scattering (57Fe, 119Sn, 151Eu, ...) measures the partial DOS of
one isotope, not the phonon DOS; ``DefectQuantifier.predict(kind="partial:Fe")`` reads it
against the host's partial DOS of that element. No model of this project has trained on
partial DOS (``metadata["trained_kinds"]``), so ``predict`` adds a note that such a result is
indicative. This script measures how indicative: it takes the direct-engine test spectra
(hosts of the current split that no model trained on) whose documents keep the
element-projected DOS of the doped cell, its cell reference and the pristine host (the
direct parts since ``campaign-chgnet-direct-2026.12``), and for each element of the host
makes the partial-DOS form of every spectrum (sampling-corrected as the phonon DOS is,
against the pristine host's partial DOS of that element; the site inputs from the host's
projected DOS, as ``predict`` gives them). Each model is evaluated with distractor candidates
on the same spectra as phonon DOS and as every partial DOS, clean and distorted like a
measurement (seeded draw,
:func:`defectnet_atomate.ml.augment.measured_like_examples`, seed 7; rule for measured
spectra; each host's pristine spectrum in 8 copies, each distorted on its own, must come
back without dopants: ``pristine_measured_false_positive_rate``, a draw of its own, seed 11;
the metric rows hold each host's pristine spectrum once, as the model card's). Clean phonon DOS are judged by the threshold for simulated spectra;
partial DOS, clean or not, as ``predict`` judges them: as measurements (any ``kind`` other than
``"pdos"`` is, with the reference matched to the spectrum's resolution).

The partial forms are split by where the dopants sit: ``partial_on_site`` when the element
whose partial DOS is read is one that a dopant replaces (the element loses atoms and its
neighbours change), ``partial_off_site`` when every dopant replaces another element (only
the element's neighbours change).

``--partial-rule`` adds rows for a rule of the partial forms' own (``*_partial_rule``):
calibrated as the measured rules are, on the partial forms of the validation hosts' direct
spectra, and applied to the same measured partial forms of the test hosts; no model
carries such a rule.

The last line printed is a JSON object.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from common import emit, model_parser

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.augment import measured_like_examples
from defectnet_atomate.ml.quantifier import _aligned
from defectnet_atomate.ml.training import (
    Example,
    calibrate_decision,
    examples_from_docs,
    partial_forms,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import KEYS as RECIPE_KEYS  # noqa: E402
from training_recipes import load_levels, split_levels  # noqa: E402

KEYS = tuple(k for k in RECIPE_KEYS if k != "n_dopants_total")


def _has_projections(doc: dict) -> bool:
    return all(
        (doc.get(key) or {}).get("projected")
        for key in ("pdos", "cell_pristine_pdos", "pristine_pdos")
    )


def test_sets(
    pristine_copies: int = 1, split: str = "test"
) -> tuple[dict[str, list[Example]], int]:
    """The phonon-DOS and partial-DOS forms of the direct spectra of ``split``'s hosts
    (``"test"`` or ``"validation"``), and their host count.

    Each host's pristine spectrum comes ``pristine_copies`` times in every form (doped
    spectra once).
    """
    high, low = load_levels()
    (_, h_val, h_test), _ = split_levels(high, low)
    if split == "validation":
        h_test = h_val
    docs = [d for d in h_test if _has_projections(d)]
    pools: dict[str, set[str]] = {}  # distractor pools of all the host's test spectra
    for d in h_test:
        pools.setdefault(d["host"]["host_id"], set()).update(d["dopant_elements"])
    sets: dict[str, list[Example]] = {
        "pdos": [],
        "partial_all": [],
        "partial_on_site": [],
        "partial_off_site": [],
    }
    seen_pristine: set[str] = set()
    for doc in docs:
        made = examples_from_docs(
            [doc], pristine_copies=pristine_copies, pools={k: sorted(v) for k, v in pools.items()}
        )
        doped = [e for e in made if e.truth]
        if not doped:  # left out by the stated rules (imaginary modes, residual force)
            continue
        base = doped[0]
        pristine = [e for e in made if not e.truth and base.host_id not in seen_pristine]
        seen_pristine.add(base.host_id)
        sets["pdos"] += [base, *pristine]
        replaced = {x["replaces"] for x in doc["dopants"]}
        for part in partial_forms([base]):
            on_site = part.kind.split(":", 1)[1] in replaced
            sets["partial_all"].append(part)
            sets["partial_on_site" if on_site else "partial_off_site"].append(part)
        for part in partial_forms(pristine):  # the host's pristine partial DOS in each set
            for name in ("partial_all", "partial_on_site", "partial_off_site"):
                sets[name].append(part)
    return sets, len(seen_pristine)


def partial_rule_rows(
    q: DefectQuantifier, forms: dict, pristine_sets: dict[str, list[Example]]
) -> dict[str, dict]:
    """The measured partial forms judged by a rule calibrated on the validation hosts' ones.

    As :meth:`DefectQuantifier.calibrate` sets the measured rules: measurement-like copies
    (pristine spectra in 4 rounds of draws), references matched to the instrument, at most
    1 % of pristine copies called doped, pristine spectra offered their host's pool.
    """
    validation = test_sets(split="validation")[0]["partial_all"]
    like = [_aligned(e) for e in q._measured_like(validation, 0, pristine_draws=4)]
    budget = q.metadata.get("measured_pristine_fpr_budget", 0.01)
    threshold, gate = calibrate_decision(
        q.network, like, max_pristine_fpr=budget, plausible_pristine=True
    )
    ruled = copy.deepcopy(q)  # partial forms carry site inputs: judged by threshold_measured
    ruled.threshold_measured, ruled.gates["threshold_measured"] = threshold, gate
    rows = {}
    for form in ("partial_all", "partial_on_site", "partial_off_site"):
        metrics = ruled.evaluate(forms[f"{form}_measured_like"][0], measured=True)
        row = {k: metrics.get(k) for k in KEYS}
        draws = measured_like_examples(pristine_sets[form], 11)
        row["pristine_measured_false_positive_rate"] = ruled.evaluate(draws, measured=True)[
            "pristine_false_positive_rate"
        ]
        row["rule"] = [threshold, gate]
        row["n_validation_hosts"] = len({e.host_id for e in validation})
        rows[f"{form}_measured_like_partial_rule"] = row
    return rows


def main() -> dict:
    parser = model_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--partial-rule",
        action="store_true",
        help="also judge the measured partial forms by a rule of their own, calibrated as "
        "the measured rules are on the validation hosts' partial forms (not in any model)",
    )
    args = parser.parse_args()
    sets, n_hosts = test_sets()
    # pristine measurements: each host's pristine spectrum drawn 8 times in each form
    pristine_sets = {
        name: [e for e in examples if not e.truth]
        for name, examples in test_sets(pristine_copies=8)[0].items()
    }
    if not sets["pdos"]:
        raise SystemExit(
            "No direct test spectra with element-projected DOS: the direct parts since "
            "campaign-chgnet-direct-2026.12 keep them (data/dataset/)."
        )
    result: dict = {
        "n_spectra": sum(1 for e in sets["pdos"] if e.truth),
        "n_pristine": sum(1 for e in sets["pdos"] if not e.truth),
        "n_pristine_measured": sum(1 for e in pristine_sets["pdos"]),
        "n_partial_spectra": sum(1 for e in sets["partial_all"] if e.truth),
        "n_partial_on_site": sum(1 for e in sets["partial_on_site"] if e.truth),
        "n_partial_off_site": sum(1 for e in sets["partial_off_site"] if e.truth),
        "n_hosts": n_hosts,
        "models": {},
    }
    forms = {}
    for name, examples in sets.items():
        forms[name] = (examples, name != "pdos")
        forms[f"{name}_measured_like"] = (measured_like_examples(examples, seed=7), True)
    for model in args.model or [None]:
        q = DefectQuantifier.from_pretrained(model)
        name = q.metadata.get("name", str(model))
        if name in result["models"]:
            name = Path(str(model)).name
        rows = {}
        for form, (examples, measured) in forms.items():
            metrics = q.evaluate(examples, measured=measured)
            rows[form] = {k: metrics.get(k) for k in KEYS}
            if form.endswith("_measured_like"):
                draws = measured_like_examples(pristine_sets[form[: -len("_measured_like")]], 11)
                rows[form]["pristine_measured_false_positive_rate"] = q.evaluate(
                    draws, measured=True
                )["pristine_false_positive_rate"]
            print(
                name, form, {k: rows[form][k] for k in ("auc", "f1", "mae_at_percent")}, flush=True
            )
        if args.partial_rule:
            rows |= partial_rule_rows(q, forms, pristine_sets)
        result["models"][name] = rows
    return emit(result, args.json)


if __name__ == "__main__":
    main()
