"""Fine-tuning on a few measurement-like spectra of one unseen material.

python benchmarks/finetune_measured.py [--model NAME_OR_FOLDER] [--n-tune 6] [--kind neutron]

For each of the test hosts of the shipped model's split (never seen in training) that has
enough spectra, every spectrum is turned into what one instrument would give: the same
resolution, energy-scale error, background, multiphonon tail and noise level for all of
them (a material measured on one spectrometer). ``--n-tune`` labelled spectra of that
material adapt the model with :meth:`DefectQuantifier.fine_tune` (heads and last decoder
layer only; the threshold for measured spectra recalibrated on them); the others, kept out,
and eight measurements of the undoped material on the same instrument (which must stay
undoped) measure it before and after.

Writes ``benchmarks/results/finetune_measured.json`` (one entry per instrument: the default
lies inside the range of the training augmentation; ``--scale 1.06 --fwhm 0.08`` outside it;
``--align`` matches each reference to the instrument first, as ``predict(align=True)`` does;
``--kind neutron`` measures neutron-weighted spectra of the hosts whose documents keep that
form, tuned with ``fine_tune(kind="neutron")``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml.augment import MeasurementAugmentation
from defectnet_atomate.ml.training import examples_from_docs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import load_levels, split_levels, summary  # noqa: E402


def instrument(examples: list, seed: int, scale: float = 1.02, fwhm: float = 0.03) -> list:
    """The examples as measured on one instrument (fixed distortions, noise drawn)."""
    rng = np.random.default_rng(seed)
    out = []
    for e in examples:
        f_max = e.pristine.quantile_frequency(0.999)
        doped = MeasurementAugmentation.distort(
            e.doped,
            f_max,
            fwhm=(fwhm * f_max, 0.02),
            scale=scale,
            multiphonon=0.05,
            background=0.02,
            noise=0.02,
            rng=rng,
        )
        out.append(replace(e, doped=doped, _features=None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--n-tune", type=int, default=6)
    parser.add_argument(
        "--n-undoped",
        type=int,
        default=0,
        help="measurements of the undoped material among the tuning spectra (they make "
        "fine_tune recalibrate the threshold for measured spectra)",
    )
    parser.add_argument("--min-spectra", type=int, default=16)
    parser.add_argument("--scale", type=float, default=1.02, help="energy-axis factor")
    parser.add_argument("--fwhm", type=float, default=0.03, help="FWHM / top host frequency")
    parser.add_argument(
        "--align",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="match each reference to the instrument first (predict/fine_tune align=True); "
        "default: as the model does for measured spectra (align_measured)",
    )
    parser.add_argument(
        "--pristine-top-weight",
        type=float,
        default=None,
        help="fine_tune's loss on the undoped examples' most confident candidate (default: the "
        "weight the model was trained with; 0 tunes without it)",
    )
    parser.add_argument(
        "--measured-reference-copies",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fine_tune's undoped copies of the reference made measurement-like (default: as "
        "fine_tune does for measured spectra, since 0.19)",
    )
    parser.add_argument(
        "--kind",
        choices=("pdos", "neutron"),
        default="pdos",
        help="what the instrument measures: the phonon DOS, or the neutron-weighted DOS "
        "(hosts whose spectra keep that form; fine_tune(kind='neutron'), judged by the rule "
        "for neutron measurements)",
    )
    args = parser.parse_args()
    high, low = load_levels()
    (_, _, h_test), (_, _, l_test) = split_levels(high, low)
    examples = [e for e in examples_from_docs(h_test + l_test) if e.truth]
    if args.kind == "neutron":  # the neutron-weighted pair, where the document keeps it
        examples = [
            replace(e, doped=e.neutron[0], pristine=e.neutron[1], kind="neutron", _features=None)
            for e in examples
            if e.neutron is not None
        ]
    by_host: dict[str, list] = {}
    for e in examples:
        by_host.setdefault(e.host_id, []).append(e)
    results: dict = {"n_tune": args.n_tune, "scale": args.scale, "fwhm": args.fwhm, "hosts": {}}
    for k, (host, items) in enumerate(sorted(by_host.items())):
        if len(items) < args.min_spectra:
            continue
        measured = instrument(items, seed=k, scale=args.scale, fwhm=args.fwhm)
        tune, held = measured[: args.n_tune], measured[args.n_tune :]
        # the undoped material on the same instrument (noise drawn anew each time): eight
        # held-out measurements must stay undoped; with --n-undoped, some tune the model too
        e = items[0]
        undoped = [replace(e, doped=e.pristine, truth={}, _features=None)] * (8 + args.n_undoped)
        # (for neutron measurements e.pristine is already the neutron-weighted reference)
        undoped = instrument(undoped, seed=1000 + k, scale=args.scale, fwhm=args.fwhm)
        held += undoped[:8]
        tune += undoped[8:]
        q = DefectQuantifier.from_pretrained(args.model)
        before = summary(q.evaluate(held, measured=True, align=args.align))
        pool = sorted({el for e in items for el in e.truth} | set(items[0].pool))
        q.fine_tune(
            [e.doped for e in tune],
            [e.truth for e in tune],
            tune[0].pristine,
            composition=tune[0].composition,
            candidates=pool,
            seed=0,
            align=args.align,
            pristine_top_weight=args.pristine_top_weight,
            measured_reference_copies=args.measured_reference_copies,
            kind=args.kind,
        )
        after = summary(q.evaluate(held, measured=True, align=args.align))
        results["hosts"][host] = {"n_held_out": len(held), "before": before, "after": after}
        print(
            f"{host}: F1 {before['f1']:.3f} -> {after['f1']:.3f}, MAE "
            f"{before['mae_at_percent']:.3f} -> {after['mae_at_percent']:.3f} at.% "
            f"({len(held)} held-out spectra)",
            flush=True,
        )
    out = ROOT / "benchmarks" / "results" / "finetune_measured.json"
    runs = json.loads(out.read_text()) if out.is_file() else {}
    runs = runs if "runs" in runs else {"runs": {}}
    results["n_undoped"] = args.n_undoped
    results["model"] = q.name
    results["align"] = bool(args.align or (args.align is None and q.align_measured))
    key = f"scale {args.scale:g}, FWHM {args.fwhm:g} f_max"
    key += f", {args.n_undoped} undoped tuning" if args.n_undoped else ""
    trained = q.metadata.get("training", {}).get("pristine_top_weight") or 0.0
    used = trained if args.pristine_top_weight is None else args.pristine_top_weight
    results["pristine_top_weight"] = used
    # the tuning spectra here are measured, so fine_tune's default makes the copies measured
    results["measured_reference_copies"] = args.measured_reference_copies is not False
    key += ", reference matched to the instrument" if results["align"] else ""
    if used != trained:  # not the model's own: a separate row
        key += (
            f", tuned with pristine loss {used:g}" if used else ", tuned without the pristine loss"
        )
    if not results["measured_reference_copies"]:
        key += ", clean undoped copies of the reference"
    results["kind"] = args.kind
    if args.kind != "pdos":
        key += f", {args.kind} measurements"
    runs["runs"][key] = results
    out.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
