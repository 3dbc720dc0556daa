"""How well models read neutron-weighted spectra of hosts that no model trained on.

python benchmarks/neutron_spectra.py [--model NAME_OR_FOLDER ...] [--json benchmarks/results/neutron_spectra.json]

Inelastic neutron scattering measures the neutron-weighted (generalised) DOS: each
element's partial DOS weighted by its scattering cross-section over its mass
(:func:`defectnet_atomate.measurement.neutron_weighted_dos`, cross-sections from
``periodictable``), not the phonon DOS that simulations give. The dataset exports from
``compact-v5`` on keep every spectrum's neutron-weighted form (doped, cell reference and
pristine host). This script takes the mass-defect spectra that have it and whose host is a
test host of the current split (:func:`defectnet_atomate.ml.split_levels_by_host`, seed 0,
a stable hash of the host id: no model of this project trained on them), plus each host's
pristine spectrum (8 copies, each distorted on its own draw in the measured-like forms),
and evaluates each model with distractor candidates on four forms of the same spectra:

- ``pdos``: the clean phonon DOS against the pristine host's (threshold for simulated
  spectra);
- ``neutron``: the clean neutron-weighted DOS against the host's neutron-weighted DOS
  (threshold for simulated spectra);
- ``pdos_measured_like``, ``neutron_measured_like``: the same, distorted like a
  measurement (resolution, noise, background, multiphonon tail, energy-scale error; a seeded
  draw, :func:`defectnet_atomate.ml.augment.measured_like_examples`, seed 7; threshold for
  measured spectra). The pristine spectra distorted alike must come back without dopants
  (``pristine_false_positive_rate``). ``neutron_measured_like_without_dominated_hosts``
  leaves out the hosts whose neutron weight one element holds (hydrogen; ``predict`` warns
  about them, :data:`~defectnet_atomate.ml.quantifier.NEUTRON_DOMINANCE`, and judges them
  by ``threshold_measured_neutron_dominated`` where the model has one);
  ``neutron_measured_like_only_dominated_hosts`` takes those hosts alone.

The last line printed is a JSON object.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from common import emit, model_parser

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.augment import measured_like_examples
from defectnet_atomate.ml.quantifier import _neutron_dominance
from defectnet_atomate.ml.training import Example, examples_from_docs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import KEYS as RECIPE_KEYS  # noqa: E402
from training_recipes import load_levels, split_levels  # noqa: E402

KEYS = tuple(k for k in RECIPE_KEYS if k != "n_dopants_total")


def neutron_test_examples() -> list[Example]:
    """Test-host examples (doped and pristine) whose documents have a neutron-weighted form."""
    high, low = load_levels()
    (_, _, _), (_, _, l_test) = split_levels(high, low)
    return [e for e in examples_from_docs(l_test, pristine_copies=8) if e.neutron is not None]


def forms(examples: list[Example]) -> dict[str, tuple[list[Example], bool]]:
    """The four forms of the test spectra, each with whether it counts as measured."""
    neutron = [
        replace(e, doped=e.neutron[0], pristine=e.neutron[1], _features=None) for e in examples
    ]
    return {
        "pdos": (examples, False),
        "neutron": (neutron, False),
        "pdos_measured_like": (measured_like_examples(examples, seed=7), True),
        "neutron_measured_like": (measured_like_examples(examples, seed=7, neutron=1.0), True),
    }


def main() -> dict:
    args = model_parser(__doc__.splitlines()[0]).parse_args()
    examples = neutron_test_examples()
    if not examples:
        raise SystemExit(
            "No test spectra with a neutron-weighted form: export a dataset part with "
            "scripts/export_dataset.py (compact-v5 or later) into data/dataset/ first."
        )
    doped = [e for e in examples if e.truth]
    result: dict = {
        "n_spectra": len(doped),
        "n_pristine": len(examples) - len(doped),
        "n_hosts": len({e.host_id for e in examples}),
        "models": {},
    }
    result["dominated_hosts"] = sorted(
        {e.host_id for e in examples if _neutron_dominance(e.composition)}
    )
    sets = forms(examples)
    for model in args.model or [None]:
        q = DefectQuantifier.from_pretrained(model)
        name = q.metadata.get("name", str(model))
        if name in result["models"]:  # the same weights, recalibrated: name it by its folder
            name = Path(str(model)).name
        rows = {}
        for form, (ex, measured) in sets.items():
            metrics = q.evaluate(ex, measured=measured)
            rows[form] = {k: metrics.get(k) for k in KEYS}
            print(
                name, form, {k: rows[form][k] for k in ("auc", "f1", "mae_at_percent")}, flush=True
            )
        # hosts whose neutron weight one element (hydrogen) holds: predict warns about them
        # (and judges them by a rule of their own where the model has one)
        neutron_like = sets["neutron_measured_like"][0]
        for label, keep in (("without", False), ("only", True)):
            part = [e for e in neutron_like if bool(_neutron_dominance(e.composition)) == keep]
            metrics = q.evaluate(part, measured=True)
            rows[f"neutron_measured_like_{label}_dominated_hosts"] = {
                k: metrics.get(k) for k in KEYS
            }
        result["models"][name] = rows
    return emit(result, args.json)


if __name__ == "__main__":
    main()
