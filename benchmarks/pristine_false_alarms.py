"""Which hosts' pristine measurement-like spectra a model calls doped most confidently.

python benchmarks/pristine_false_alarms.py [--model NAME_OR_FOLDER] [--json benchmarks/results/pristine_false_alarms.json]

The rules for measured spectra are set so that a budget of measurement-like pristine
validation spectra is called doped: they rest on the most confident of those spectra. This
script draws each pristine spectrum of the validation and test hosts of the current split
(:func:`training_recipes.split_levels`) as :meth:`DefectQuantifier.calibrate` does, with
four rounds (``pristine_draws=4``: 17 draws a host with the measured-reference draws), as
PDoS and as neutron measurements (hosts whose neutron weight one element holds left out),
offers each its host's plausible dopants as candidates (as the calibration does) and reads
them with and without the candidate-site inputs. For each set it gives the 98th and 99th
percentiles of the most probable candidate's probability (where a gate must sit to keep 2 %
or 1 % undoped), how many hosts have a draw at or above 0.7, and the hosts with the most
confident draw: are the false alarms a few bad hosts, or a tail spread over many?

The last line printed is a JSON object.
"""

from __future__ import annotations

import collections
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import emit, model_parser, model_rules

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.quantifier import _aligned, _neutron_dominance
from defectnet_atomate.ml.training import _candidates, examples_from_docs, predict_arrays

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import load_levels, split_levels  # noqa: E402

HIGH = 0.7
"""A draw at or above this probability counts as confident (the gates lie at 0.7-0.9)."""


def main() -> dict:
    args = model_parser(__doc__.splitlines()[0]).parse_args()
    q = DefectQuantifier.from_pretrained((args.model or [None])[0])
    high, low = load_levels()
    (_, h_val, h_test), (_, l_val, l_test) = split_levels(high, low)
    result: dict = {
        "model": q.name,
        "rules": model_rules(q),
        "measured_calibration": q.metadata.get("measured_calibration"),
        "high": HIGH,
        "sets": {},
    }
    for split, docs in (("validation", h_val + l_val), ("test", h_test + l_test)):
        pristine = [e for e in examples_from_docs(docs) if not e.truth]
        for kind, neutron in (("pdos", 0.0), ("neutron", 1.0)):
            source = [
                e
                for e in pristine
                if not neutron or (e.neutron is not None and not _neutron_dominance(e.composition))
            ]
            like = DefectQuantifier._measured_like(
                source, 0 if not neutron else 100, neutron=neutron, pristine_draws=4
            )
            like = [_aligned(e) for e in like]
            for sites in (True, False):
                rng = np.random.default_rng(98)
                read = like if sites else [replace(e, projected=None, _features=None) for e in like]
                sets = [_candidates(e, rng, [], 5) for e in read]
                probs, _, _ = predict_arrays(q.network, read, sets)
                top = np.array([probs[i, : len(c)].max() if c else 0.0 for i, c in enumerate(sets)])
                by_host = collections.defaultdict(list)
                for e, t in zip(read, top, strict=True):
                    by_host[e.host_id].append(float(t))
                worst = sorted(by_host.items(), key=lambda kv: -max(kv[1]))[:8]
                label = f"{split}, {kind}, {'with' if sites else 'without'} site inputs"
                result["sets"][label] = {
                    "n_spectra": len(read),
                    "n_hosts": len(by_host),
                    "p98": round(float(np.quantile(top, 0.98)), 3),
                    "p99": round(float(np.quantile(top, 0.99)), 3),
                    "hosts_with_a_confident_draw": sum(max(v) >= HIGH for v in by_host.values()),
                    "worst_hosts": [
                        {
                            "host": h,
                            "max": round(max(v), 3),
                            "confident_draws": sum(x >= HIGH for x in v),
                            "draws": len(v),
                        }
                        for h, v in worst
                    ],
                }
                print(label, {k: v for k, v in result["sets"][label].items() if k != "worst_hosts"})
    return emit(result, args.json)


if __name__ == "__main__":
    main()
