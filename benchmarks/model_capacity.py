"""Does the shipped model fit its training spectra, or only fail on unseen hosts?

python benchmarks/model_capacity.py [--model NAME_OR_FOLDER] [--n 800] [--direct-only-epochs 60] [--json benchmarks/results/model_capacity.json]

Evaluates the model (default: the one shipped in the package) on ``--n`` mass-defect spectra
of its own training hosts and on the held-out ones, and likewise on the direct-engine spectra
of its training, validation and test hosts, with the split of ``scripts/train_pretrained.py``
and fresh distractor candidates. A model that fits its training spectra well but not unseen
hosts is limited by the data (hosts); one that fits neither is limited by the model or its
training. ``--direct-only-epochs N`` also trains the same network from scratch on the direct
training spectra alone (no mass-defect level, no augmentation; best validation loss kept) and
evaluates it alike: what the many cheap spectra add to reading the direct level. The last
line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import emit

from defectnet_atomate import DefectQuantifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import load_levels, split_levels  # noqa: E402

KEYS = ("auc", "f1", "f1_all_present_baseline", "median_relative_error", "mae_at_percent")


def _metrics(q: DefectQuantifier, docs: list) -> dict:
    m = q.evaluate(docs)
    return {k: round(m[k], 3) for k in KEYS} | {"n_examples": m["n_examples"]}


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument(
        "--direct-only-epochs",
        type=int,
        default=0,
        help="also train the network from scratch on the direct training spectra alone",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    q = DefectQuantifier.from_pretrained(args.model)
    high, low = load_levels()
    (h_train, h_val, h_test), (l_train, _, l_test) = split_levels(high, low)
    result = {"model": q.metadata.get("name")}
    for name, docs in (("training_hosts", l_train[: args.n]), ("unseen_hosts", l_test)):
        result[name] = _metrics(q, docs)
    direct = {"training_hosts": h_train, "validation_hosts": h_val, "unseen_hosts": h_test}
    result["direct"] = {name: _metrics(q, docs) for name, docs in direct.items()}
    if args.direct_only_epochs:
        alone = DefectQuantifier(q.network.config.to_dict(), seed=0)
        alone.fit(
            h_train,
            h_val,
            epochs=args.direct_only_epochs,
            lr=1e-3,
            patience=args.direct_only_epochs,
            pristine_copies=2,
            progress=False,
        )
        result["direct_only"] = {
            "epochs": args.direct_only_epochs,
            **{name: _metrics(alone, docs) for name, docs in direct.items()},
            "mass_defect_unseen_hosts": _metrics(alone, l_test[: args.n]),
        }
    return emit(result, args.json)


if __name__ == "__main__":
    main()
