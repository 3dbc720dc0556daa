"""Which measurement effects a model needs to see: measured-like spectra reduced with care.

python benchmarks/measurement_effects.py [--model NAME_OR_FOLDER ...] [--json benchmarks/results/measurement_effects.json] [--keep]

The measurement-like test spectra of the other benchmarks carry every effect of
:class:`~defectnet_atomate.ml.augment.MeasurementAugmentation` at once: resolution,
energy-scale error, a multiphonon tail, a background and counting noise. A measurement
reduced with care has its background subtracted and its multiphonon tail corrected, so it
shows only some of them. This script draws the test spectra of unseen hosts
(:func:`training_recipes.split_levels`, direct and mass-defect levels, 8 distorted copies of
each pristine host) with the same seed and the same draws, switching effects off:

- ``all effects``: the measurement-like test set of the model card;
- ``no multiphonon tail``, ``no background``: one effect corrected in the reduction;
- ``no tail, no background``: both corrected (resolution, scale error and noise remain);
- ``resolution and scale only``: a clean, well-reduced measurement;
- the same first and fourth sets as neutron measurements (test spectra whose export keeps
  the neutron-weighted form, hosts whose neutron weight one element holds left out);
- ``reference measured alike``: the first and fourth sets (and the first of neutron
  measurements) with the undoped host measured on the same instrument as the reference
  (same resolution, energy-scale error, tail and background; noise of its own:
  ``measured_like_examples(reference="measured")``) instead of a simulated one; read as
  ``predict`` reads a reference passed as a measurement (not matched to the instrument),
  and matched to it (``align=True``, as for a simulated reference).

Each model is judged by its rules for measured spectra, as ``predict`` judges a measurement:
F1 with distractor candidates, and the share of pristine spectra called doped.

The last line printed is a JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import emit, model_parser

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.augment import MeasurementAugmentation, measured_like_examples
from defectnet_atomate.ml.quantifier import _neutron_dominance
from defectnet_atomate.ml.training import Example, examples_from_docs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import KEYS as RECIPE_KEYS  # noqa: E402
from training_recipes import load_levels, split_levels  # noqa: E402

KEYS = tuple(k for k in RECIPE_KEYS if k != "n_dopants_total")
OFF = (0.0, 0.0)
EFFECTS: dict[str, dict] = {
    "all effects": {},
    "no multiphonon tail": {"multiphonon": OFF},
    "no background": {"background": OFF},
    "no tail, no background": {"multiphonon": OFF, "background": OFF},
    "resolution and scale only": {"multiphonon": OFF, "background": OFF, "noise": OFF},
}
NEUTRON_EFFECTS = ("all effects", "no tail, no background")
MEASURED_REFERENCE = ("all effects", "no tail, no background")
ALIKE = ", reference measured alike"
MATCHED = ", matched to the instrument"


def unseen_examples(
    levels: tuple[list[dict], list[dict]] | None = None,
) -> tuple[list[Example], list[Example]]:
    """Test-host examples (8 copies of each pristine host) and those with a neutron-weighted
    form (hosts whose neutron weight one element holds left out); ``levels``: the documents
    of :func:`training_recipes.load_levels`, loaded when not given."""
    high, low = levels or load_levels()
    (_, _, h_test), (_, _, l_test) = split_levels(high, low)
    examples = examples_from_docs(h_test + l_test, pristine_copies=8)
    neutron = [
        e for e in examples if e.neutron is not None and not _neutron_dominance(e.composition)
    ]
    return examples, neutron


def test_sets(seed: int = 7) -> dict[str, list[Example]]:
    """The measurement-like test sets, one per row of the table (same seed, same draws)."""
    examples, neutron = unseen_examples()
    sets = {}
    for label, off in EFFECTS.items():
        augmentation = MeasurementAugmentation(**off)
        sets[f"pdos, {label}"] = measured_like_examples(
            examples, seed=seed, augmentation=augmentation
        )
        if label in NEUTRON_EFFECTS:
            sets[f"neutron, {label}"] = measured_like_examples(
                neutron, seed=seed, neutron=1.0, augmentation=augmentation
            )
    for label in MEASURED_REFERENCE:
        augmentation = MeasurementAugmentation(**EFFECTS[label])
        sets[f"pdos, {label}{ALIKE}"] = measured_like_examples(
            examples, seed=seed, augmentation=augmentation, reference="measured"
        )
    sets[f"neutron, all effects{ALIKE}"] = measured_like_examples(
        neutron, seed=seed, neutron=1.0, reference="measured"
    )
    return sets


def main() -> dict:
    parser = model_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the models already in --json when its test set is the same (same counts): "
        "models read in separate runs, e.g. side by side on two cores; a model read again "
        "replaces its entry",
    )
    args = parser.parse_args()
    sets = test_sets()
    first = next(iter(sets.values()))
    result: dict = {
        "n_spectra": sum(bool(e.truth) for e in first),
        "n_pristine": sum(not e.truth for e in first),
        "n_hosts": len({e.host_id for e in first}),
        "n_neutron_spectra": len(sets["neutron, all effects"]),
        "models": {},
    }
    if args.keep and args.json and Path(args.json).exists():
        earlier = json.loads(Path(args.json).read_text())
        counts = ("n_spectra", "n_pristine", "n_hosts", "n_neutron_spectra")
        if any(earlier.get(k) != result[k] for k in counts):
            raise SystemExit(
                f"{args.json} holds another test set ({ {k: earlier.get(k) for k in counts} }); "
                "run without --keep, or write to another file."
            )
        result["models"] = earlier["models"]
    read: set[str] = set()
    for model in args.model or [None]:
        q = DefectQuantifier.from_pretrained(model)
        name = q.metadata.get("name", str(model))
        if name in read:  # the same name, other weights: name it by its folder
            name = Path(str(model)).name
        read.add(name)  # a model kept from an earlier run is replaced when read again
        rows = {}
        # a measured reference: as predict reads it (not matched), and matched to the instrument
        runs = [(x, e, False if x.endswith(ALIKE) else None) for x, e in sets.items()]
        runs += [(f"{x}{MATCHED}", sets[x], True) for x in sets if x.endswith(ALIKE)]
        for label, examples, align in runs:
            metrics = q.evaluate(examples, measured=True, align=align)
            rows[label] = {k: metrics.get(k) for k in KEYS}
            print(
                name,
                label,
                {k: rows[label][k] for k in ("auc", "f1", "pristine_false_positive_rate")},
                flush=True,
            )
        result["models"][name] = rows
    return emit(result, args.json)


if __name__ == "__main__":
    main()
