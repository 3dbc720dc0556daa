"""The ``defectnet`` command line (thin: it parses, calls the library, prints).

Exit codes: 0 success, 1 a clear error (bad input, store, missing file), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from defectnet_atomate.ml.quantifier import DefectQuantifier
    from defectnet_atomate.signatures import SignatureLibrary

__all__ = ["main"]

ENGINE_CHOICES = ["direct", "atomate2", "embedding", "mass-defect", "auto"]
"""Engines of DefectPhononMaker offered by ``simulate`` and ``demo``."""


def _silicon() -> Structure:
    from pymatgen.core import Lattice, Structure

    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    return si.get_primitive_structure()


def _gallium_arsenide() -> Structure:
    from pymatgen.core import Lattice, Structure

    gaas = Structure.from_spacegroup(
        "F-43m", Lattice.cubic(5.65), ["Ga", "As"], [[0, 0, 0], [0.25, 0.25, 0.25]]
    )
    return gaas.get_primitive_structure()


def _read_host(spec: str, hosts_file: str | None) -> tuple[Structure, str | None]:
    from pymatgen.core import Structure

    path = Path(spec)
    if path.is_file():
        return Structure.from_file(path), None
    if spec.startswith("mp-"):
        from defectnet_atomate.hosts import find_host

        entry = find_host(spec, hosts_file)
        return entry.structure, entry.host_id
    raise FileNotFoundError(
        f"HOST {spec!r} is neither a structure file nor a host id such as 'mp-149'."
    )


def _table(docs: list[dict]) -> str:
    import numpy as np

    rows = [
        (
            "config_id",
            "host",
            "dopants (at.%)",
            "atoms",
            "engine",
            "min f (THz)",
            "DOS area",
            "time (s)",
        )
    ]
    for d in docs:
        dopants = ", ".join(
            f"{x['element']}->{x['replaces']} {x['atomic_percent']:.2f}" for x in d["dopants"]
        )
        area = (
            np.trapezoid(d["pdos"]["total"], d["pdos"]["frequencies"])
            if "pdos" in d
            else float("nan")
        )
        rows.append(
            (
                d["config_id"],
                d["host"].get("host_id") or d["host"]["formula"],
                dopants,
                str(d["num_sites"]),
                d["settings"]["engine"],
                f"{d['min_frequency']:.2f}",
                f"{area:.3f}",
                f"{d.get('timings', {}).get('total', float('nan')):.1f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def _simulate(
    host: Structure,
    doping_sets: list[list[str]],
    engine: str,
    store_location: str | None,
    host_id: str | None,
    seed: int,
) -> list[dict]:
    from jobflow import run_locally

    from defectnet_atomate.builders import DefectPhononBuilder
    from defectnet_atomate.flows import DefectPhononMaker
    from defectnet_atomate.stores import default_job_store, default_store

    job_store = default_job_store(store_location)
    docs_store = default_store(store_location)
    flow = DefectPhononMaker(engine=engine, seed=seed).make(host, doping_sets, host_id=host_id)
    # a failing job raises its own error (e.g. a patch that does not fit the cell), which
    # main() prints, instead of jobflow's "Flow did not finish running successfully"
    run_locally(flow, store=job_store, ensure_success=True, log=False, raise_immediately=True)
    builder = DefectPhononBuilder(job_store, docs_store)
    builder.run()
    uuids = {j.uuid for j in flow.jobs}
    with docs_store:
        docs = list(docs_store.query({"flow_uuid": flow.uuid}))
    if not docs:  # documents built from a replaced job carry the outer flow's uuid
        with docs_store:
            docs = [d for d in docs_store.query({}) if set(d["job_uuids"]) & uuids]
    print(_table(docs))
    where = store_location or "the embedded store in " + str(docs_store.database_path)
    print(f"\n{len(docs)} document(s) in {where} (collection {docs_store.collection_name}).")
    return docs


def _predict_docs(docs: list[dict], figure: str | None) -> None:
    """Predict stored documents with the shipped model; print true vs predicted."""
    from defectnet_atomate import DefectQuantifier

    if not DefectQuantifier.available():
        print("No pretrained model is shipped with this installation; skipping predictions.")
        return
    model = DefectQuantifier.from_pretrained()
    print(f"\nPredictions of {model.name} (candidates from the dopant recommender):")
    predictions = model.predict(docs, explain=bool(figure))
    for doc, prediction in zip(docs, predictions, strict=True):
        truth = ", ".join(f"{d['element']} {d['atomic_percent']:.2f}" for d in doc["dopants"])
        found = (
            ", ".join(
                f"{d.element} {d.atomic_percent:.2f}+/-{d.uncertainty:.2f} (p={d.probability:.2f})"
                for d in prediction.present
            )
            or "nothing"
        )
        print(f"  true: {truth:<24} predicted: {found}")
    if figure:
        import matplotlib

        matplotlib.use("Agg")
        from defectnet_atomate.plotting import plot_report

        plot_report(docs[0], predictions[0]).savefig(figure, dpi=120)
        print(f"Figure: {figure}")


def _cmd_demo(args: argparse.Namespace) -> int:
    print("Simulating Ge- and Ge+C-doped Si with CHGNet through DefectPhononMaker ...")
    docs = _simulate(
        _silicon(),
        [["Ge:Si:6.25"], ["Ge:Si:3.125", "C:Si:3.125"]],
        args.engine,
        args.store,
        "mp-149",
        args.seed,
    )
    print("\nSimulating In-doped GaAs ...")
    docs += _simulate(_gallium_arsenide(), [["In:Ga:6.25"]], args.engine, args.store, "mp-2534", 0)
    _predict_docs(docs, args.figure)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    host, host_id = _read_host(args.host, args.hosts_file)
    if not args.dope:
        raise ValueError(
            "Give at least one --dope ELEMENT:REPLACED:AT_PERCENT, e.g. --dope Ge:Si:5."
        )
    _simulate(host, [args.dope], args.engine, args.store, args.host_id or host_id, args.seed)
    return 0


def _resolution(text: str | None) -> float | list[float] | None:
    """``--resolution``: a FWHM in meV, or polynomial coefficients ``a0,a1,...`` in energy."""
    if not text:
        return None
    values = [float(x) for x in text.split(",")]
    return values[0] if len(values) == 1 else values


SPECTRUM_SUFFIXES = (".csv", ".txt", ".dat", ".json", ".grp", ".nxs", ".nx5", ".h5")
"""File endings ``--host`` reads as the host's pristine spectrum (anything else: a structure)."""


def _cmd_predict(args: argparse.Namespace) -> int:
    import json

    from defectnet_atomate import DefectQuantifier

    host = None
    if args.host:
        path = Path(args.host)
        if path.is_file() and path.suffix.lower() in SPECTRUM_SUFFIXES:
            host = str(path)  # the host's pristine spectrum
        else:
            host = _read_host(args.host, args.hosts_file)[0]
    composition = None
    if args.composition:
        composition = {}
        for part in args.composition.split(","):
            element, _, amount = part.partition(":")
            composition[element.strip()] = float(amount or 1)
    candidates = [c.strip() for c in args.candidates.split(",")] if args.candidates else None
    model = DefectQuantifier.from_pretrained(args.model)
    spectrum = args.spectrum
    if spectrum.endswith(".json"):
        from monty.serialization import loadfn

        data = loadfn(spectrum)
        if isinstance(data, dict) and "config_id" in data:
            spectrum = data  # a DefectPhononDoc written with dumpfn
    elif args.clip_negative:
        from defectnet_atomate.spectra import read_spectrum_file

        spectrum = read_spectrum_file(spectrum, args.unit, clip_negative=True)
    resolution = _resolution(args.resolution)
    prediction = model.predict(
        spectrum,
        host=host,
        candidates=candidates,
        unit=args.unit,
        composition=composition,
        kind=args.kind,
        resolution=resolution,
        explain=bool(args.plot),
        align=args.align,
    )
    if args.json:
        print(json.dumps(prediction.as_dict(), indent=1))
    else:
        print(prediction)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from defectnet_atomate.plotting import plot_report

        plot_report(None, prediction).savefig(args.plot, dpi=150, bbox_inches="tight")
    return 0


def _unseen_hosts(model: DefectQuantifier, docs: list[dict]) -> list[dict]:
    """Keep the documents of hosts the model never trained or was calibrated on."""
    seen = set(model.metadata.get("seen_hosts", []))
    return [d for d in docs if d["host"].get("host_id") not in seen]


def _load_docs(sources: Sequence[str]) -> list[dict]:
    """Documents from exported ``.json.gz`` files or store folders / URIs."""
    from defectnet_atomate.dataset import load_dataset
    from defectnet_atomate.stores import default_store

    docs: list[dict] = []
    for source in sources:
        if source.endswith((".json", ".json.gz")):
            docs += load_dataset(source)
        elif "://" not in source and not Path(source).is_dir():
            raise FileNotFoundError(
                f"{source} is neither an export (.json or .json.gz) nor a store folder or URI; "
                "check the path (reading it would have created an empty store there)."
            )
        else:
            with default_store(source) as store:
                docs += list(store.query({}))
    if not docs:
        raise ValueError(f"No documents in {', '.join(sources)}.")
    return docs


def _cmd_dataset(args: argparse.Namespace) -> int:
    from defectnet_atomate import dataset

    if args.dataset_command == "build":
        campaign = dataset.Campaign(
            hosts_file=args.hosts_file,
            n_hosts=args.n_hosts,
            per_host=args.per_host,
            max_host_sites=args.max_host_sites,
            max_atoms=args.max_atoms,
            min_percent=args.min_percent,
            max_percent=args.max_percent,
            seed=args.seed,
            chunk=args.chunk,
            engine=args.engine,
            force_field=args.force_field,
            first_host=args.first_host,
            cache_dir=args.cache_dir,
            pool_size=args.pool_size,
            cutoff=args.cutoff,
        )
        if args.flows:
            from monty.serialization import dumpfn

            flows = campaign.flows()
            dumpfn(flows, args.flows)
            n_jobs = sum(len(f.jobs) for f in flows)
            print(f"{len(flows)} flows ({n_jobs} jobs) -> {args.flows}; submit with jobflow-remote")
        else:
            skip = dataset.dataset_ids(args.skip_dataset) if args.skip_dataset else set()
            if skip:
                print(f"skipping {len(skip)} requests of {', '.join(args.skip_dataset)}")
            campaign.run(args.store, args.workers, skip_ids=skip)
    elif args.dataset_command == "export":
        result = dataset.export_store(
            args.store,
            args.out,
            args.engine,
            args.cache_dir,
            backfill=args.backfill,
            exclude=args.exclude or (),
        )
        excluded = f" ({result['excluded']} left out: in earlier parts)" if args.exclude else ""
        refused = (
            f"; {result['refused']} requests of hosts refused by the host screen recorded "
            "(a campaign resumed from the file skips them)"
            if result["refused"]
            else ""
        )
        print(f"{result['spectra']} spectra -> {result['file']}{excluded}{refused}")
    else:
        docs = [dataset.compact(d) if "modes" in d else d for d in _load_docs(args.sources)]
        print(dataset.datasheet(docs, Path(args.sources[0])))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    import json

    from defectnet_atomate import DefectQuantifier
    from defectnet_atomate.ml import split_by_host

    docs = _load_docs(args.sources)
    fractions = [float(x) for x in args.split.split(",")]
    train, val, test = split_by_host(docs, fractions, seed=args.seed)
    model = DefectQuantifier(seed=args.seed)
    model.fit(train, val, epochs=args.epochs, seed=args.seed)
    metrics = model.evaluate(test) if test else {}
    model.metadata.update({"name": Path(args.out).name, "metrics": metrics})
    model.save_pretrained(args.out)
    print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, dict)}, indent=1))
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import datetime
    import json

    from defectnet_atomate import DefectQuantifier

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(
            f"{out} exists and is not empty: calibrate writes a new model folder and does not "
            "overwrite one. Give another --out."
        )
    model = DefectQuantifier.from_pretrained(args.model)
    docs = _load_docs(args.sources)
    seen = set(model.metadata.get("seen_hosts", []))
    unseen = _unseen_hosts(model, docs)
    if not unseen:
        raise ValueError(
            f"All {len(docs)} spectra are of hosts that {model.name} trained or was "
            "calibrated on (metadata['seen_hosts']); their pristine spectra look cleaner to it "
            "than a new sample's, so rules set on them would call too many undoped samples "
            "doped. Calibrate on spectra of other hosts (e.g. `defectnet dataset build` on "
            "hosts of your material family)."
        )
    n_hosts = len({d["host"].get("host_id") or d["host"]["formula"] for d in unseen})
    model.calibrate(
        unseen,
        measured=not args.clean_only,
        seed=args.seed,
        max_pristine_fpr_measured=args.measured_budget,
        max_pristine_fpr_neutron=args.neutron_budget,
        pristine_draws=args.pristine_draws,
    )
    date = datetime.date.today().isoformat()
    model.metadata["recalibration"] = (
        (model.metadata["recalibration"] + " " if model.metadata.get("recalibration") else "")
        + f"Recalibrated with `defectnet calibrate` ({date}) on {len(unseen)} spectra of "
        f"{n_hosts} hosts it had not seen (budgets: {args.measured_budget} of measured "
        "pristine spectra called doped, "
        + (
            f"{args.neutron_budget} of neutron ones"
            if args.neutron_budget is not None
            else "the same for neutron ones"
        )
        + f"; {args.pristine_draws} round(s) of pristine draws, seed {args.seed}); the "
        "weights are unchanged."
    )
    model.metadata["seen_hosts"] = sorted(
        seen | {d["host"]["host_id"] for d in unseen if d["host"].get("host_id")}
    )
    model.metadata["name"] = args.name or out.name
    model.save_pretrained(out)
    rules = {
        key: [getattr(model, key), model.gates.get(key)]
        for key in (
            "threshold",
            "threshold_measured",
            "threshold_measured_no_sites",
            "threshold_measured_neutron",
            "threshold_measured_neutron_dominated",
        )
    }
    left_out = len(docs) - len(unseen)
    print(
        json.dumps(
            {
                "model": model.name,
                "out": str(out),
                "n_spectra": len(unseen),
                "n_hosts": n_hosts,
                "left_out_seen_hosts": left_out,
                "rules (threshold, gate)": rules,
                "measured_site_inputs": model.measured_site_inputs,
            },
            indent=1,
        )
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from defectnet_atomate import DefectQuantifier

    model = DefectQuantifier.from_pretrained(args.model)
    docs = _load_docs(args.sources)
    unseen = _unseen_hosts(model, docs)
    n_seen = len(docs) - len(unseen)
    if args.unseen_hosts:
        docs = unseen
        if not docs:
            raise ValueError(
                f"All {n_seen} spectra are of hosts that {model.name} trained or was calibrated "
                "on (metadata['seen_hosts']), so --unseen-hosts leaves none to evaluate. Give "
                "spectra of other hosts, or leave out --unseen-hosts for metrics on seen hosts "
                "(optimistic: the model has seen those crystals)."
            )
    metrics = model.evaluate(docs)
    metrics["n_spectra_of_seen_hosts"] = 0 if args.unseen_hosts else n_seen
    metrics["n_seen_host_spectra_left_out"] = n_seen if args.unseen_hosts else 0
    if n_seen and not args.unseen_hosts:
        print(
            f"Note: {n_seen} of {len(docs)} spectra are of hosts {model.name} trained or was "
            "calibrated on; their metrics are optimistic. --unseen-hosts leaves them out.",
            file=sys.stderr,
        )
    print(json.dumps(metrics, indent=1))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from defectnet_atomate.plotting import plot_parity

        doped = [d for d in docs if d["dopants"]]
        # concentrations of the true dopants, each spectrum with its own dopants as candidates
        predictions = [model.predict(d, candidates=d["dopant_elements"]) for d in doped]
        true, predicted = [], []
        for doc, prediction in zip(doped, predictions, strict=True):
            estimates = {e.element: e.atomic_percent for e in prediction.dopants}
            for x in doc["dopants"]:
                true.append(x["atomic_percent"])
                predicted.append(estimates[x["element"]])
        ax = plot_parity(true, predicted)
        ax.set_title(f"{model.name}: {len(true)} dopants")
        ax.figure.savefig(args.plot, dpi=150, bbox_inches="tight")
    return 0


def _cmd_signatures_build(args: argparse.Namespace) -> int:
    from monty.serialization import dumpfn

    from defectnet_atomate.doping import recommend_dopants
    from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
    from defectnet_atomate.signatures import SignatureLibrary

    if args.extend and args.overwrite:
        raise ValueError("--extend adds to --out and --overwrite replaces it; give one of them.")
    existing = None
    if Path(args.out).exists():
        if not (args.overwrite or args.extend):
            raise FileExistsError(
                f"{args.out} exists; choose another --out, pass --extend to add candidates to "
                "it, or --overwrite to replace it."
            )
        if args.extend:
            existing = _load_library(args.out)
    elif args.extend:
        raise FileNotFoundError(f"--extend: {args.out} does not exist; build it first.")
    if existing is not None:
        host = existing.host
    elif args.host is None:
        raise ValueError("Give the HOST (a structure file or a host id such as mp-149).")
    else:
        host = _read_host(args.host, args.hosts_file)[0]
    candidates = [c.strip() for c in (args.candidates or "").split(",") if c.strip()]
    if args.recommend:
        host_elements = {site.specie.symbol for site in host}
        for suggestion in recommend_dopants(host, num_dopants=args.recommend):
            if suggestion.element not in candidates and suggestion.element not in host_elements:
                candidates.append(suggestion.element)
    if not candidates:
        raise ValueError(
            "Give the candidate dopants (--candidates Ge,Sn,C) and/or --recommend N for the "
            "dopant recommender's suggestions."
        )
    cutoff = None if args.cutoff.lower() == "cell" else float(args.cutoff)
    engine = EmbeddingEngine(
        force_field=args.force_field,
        settings=EmbeddingSettings(cutoff=cutoff, patch_atoms=args.patch_atoms),
        cache_dir=args.cache_dir,
    )
    if existing is not None:
        library = existing.extend(candidates, engine=engine)
    else:
        library = SignatureLibrary.from_host(host, candidates, engine=engine)
    if args.series:
        from defectnet_atomate.phonons.direct import DirectEngine

        multiples = [int(k) for k in args.series.split(",") if k.strip()]
        library = library.with_series(DirectEngine(force_field=engine.force_field), multiples)
    dumpfn(library, args.out)
    print(f"{len(library.signatures)} signatures of {', '.join(library.elements)} in {args.out}")
    return 0


def _load_library(path: str) -> SignatureLibrary:
    """Load a signature library written by ``signatures build`` (a clear error otherwise)."""
    from monty.serialization import loadfn

    from defectnet_atomate.signatures import SignatureLibrary

    try:
        library = loadfn(path)
    except ValueError:  # not JSON (JSONDecodeError) or not a serialised object
        library = None
    if not isinstance(library, SignatureLibrary):
        raise ValueError(
            f"{path} is not a signature library; write one with "
            "'defectnet signatures build HOST --candidates ... --out FILE'."
        )
    return library


def _cmd_signatures_fit(args: argparse.Namespace) -> int:
    import json

    from monty.serialization import loadfn

    from defectnet_atomate.signatures import DEFAULT_THRESHOLD

    library = _load_library(args.library)
    spectrum = args.spectrum
    if spectrum.endswith(".json"):
        data = loadfn(spectrum)
        if isinstance(data, dict) and "config_id" in data:
            spectrum = data  # a DefectPhononDoc written with dumpfn
    candidates = [c.strip() for c in args.candidates.split(",")] if args.candidates else None
    fit = library.fit(
        spectrum,
        candidates=candidates,
        pristine=args.pristine,
        threshold=DEFAULT_THRESHOLD if args.threshold is None else args.threshold,
        unit=args.unit,
        resolution=_resolution(args.resolution),
        kind=args.kind,
        lattice=args.lattice,
        series=args.series,
        **_measurement_terms(args),
    )
    print(json.dumps(fit.as_dict(), indent=1) if args.json else fit)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        fit.plot().figure.savefig(args.plot, dpi=150, bbox_inches="tight")
    return 0


def _measurement_terms(args: argparse.Namespace) -> dict:
    """``nuisance``, ``scale`` and ``significance`` of ``signatures fit`` from its options."""
    from defectnet_atomate.signatures import MEASURED, MEASURED_SIGNIFICANCE

    terms = args.terms or ("measured" if args.measured else "")
    names = [t.strip() for t in terms.split(",") if t.strip()]
    nuisance = [n for name in names for n in (MEASURED if name == "measured" else [name])]
    scale = args.scale or ("fit" if args.measured else "1")
    if scale != "fit":
        try:
            scale = float(scale)
        except ValueError:
            raise ValueError(
                f"--scale {scale!r} is neither a number nor 'fit'; give the factor of the "
                "spectrum's energies over the library's (e.g. 1.02) or 'fit'."
            ) from None
    significance = args.significance
    if significance is None:
        significance = MEASURED_SIGNIFICANCE if args.measured else 0.0
    return {"nuisance": nuisance, "scale": scale, "significance": significance}


def _cmd_store_query(args: argparse.Namespace) -> int:
    import json

    from defectnet_atomate.stores import default_store, query_docs

    store = default_store(args.store)
    with store:
        docs = list(
            query_docs(
                store,
                host=args.host,
                dopant=args.dopant,
                min_percent=args.min_percent,
                max_percent=args.max_percent,
                n_dopants=args.n_dopants,
            )
        )
    if args.json:
        from monty.json import jsanitize

        print(json.dumps(jsanitize(docs, strict=False), indent=1))
    else:
        print(_table(docs) if docs else "No documents match.")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="defectnet",
        description="Simulate doped-crystal phonon DOS and quantify dopants from spectra.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    store_help = "store folder or mongodb:// URI (default: the embedded store in the user data dir)"
    demo = sub.add_parser(
        "demo", help="simulate doped Si and GaAs into the embedded store, predict, plot"
    )
    demo.add_argument("--engine", choices=ENGINE_CHOICES, default="direct")
    demo.add_argument("--store", default=None, help=store_help)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--figure", default="defectnet-demo.png", help="where to save the figure")
    demo.set_defaults(func=_cmd_demo)

    sim = sub.add_parser("simulate", help="simulate one doped supercell of a host")
    sim.add_argument("host", help="structure file (CIF, POSCAR, ...) or host id such as mp-149")
    sim.add_argument("--dope", action="append", default=[], help="ELEMENT:REPLACED:AT_PERCENT")
    sim.add_argument("--engine", choices=ENGINE_CHOICES, default="direct")
    sim.add_argument("--store", default=None, help=store_help)
    sim.add_argument("--hosts-file", default=None, help="host library (.jsonl.gz)")
    sim.add_argument("--host-id", default=None)
    sim.add_argument("--seed", type=int, default=0)
    sim.set_defaults(func=_cmd_simulate)

    pred = sub.add_parser("predict", help="quantify dopants in a spectrum")
    pred.add_argument(
        "spectrum",
        help="spectrum file (text columns, Mantid SaveAscii or .nxs, DAVE .grp, JSON), "
        "or a DefectPhononDoc JSON file",
    )
    pred.add_argument(
        "--host",
        default=None,
        help="host structure file, host id (mp-...) or pristine spectrum file",
    )
    pred.add_argument("--hosts-file", default=None, help="host library (.jsonl.gz)")
    pred.add_argument(
        "--composition", default=None, help="host composition for a spectrum host, e.g. Si:1"
    )
    pred.add_argument(
        "--candidates", default=None, help="comma-separated candidate dopants, e.g. Ge,Sn"
    )
    pred.add_argument("--unit", default=None, choices=["THz", "meV", "cm-1"])
    pred.add_argument("--model", default=None, help="model name or folder (default: shipped model)")
    pred.add_argument(
        "--json", action="store_true", help="print DefectPrediction.as_dict() as JSON"
    )
    pred.add_argument(
        "--plot",
        default=None,
        help="save a figure: the spectrum with where the model looked, and a bar chart",
    )
    pred.add_argument(
        "--kind",
        default="pdos",
        help="pdos (default), neutron (neutron-weighted DOS) or partial:ELEMENT",
    )
    pred.add_argument(
        "--resolution",
        default=None,
        help="instrument FWHM in meV: a number, or polynomial coefficients a0,a1,... in energy",
    )
    pred.add_argument(
        "--clip-negative",
        action="store_true",
        help="set negative densities of a measured file (background subtraction) to zero",
    )
    pred.add_argument(
        "--align",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="match the reference to the instrument first (fitted energy scale and extra "
        "resolution; can absorb part of a heavy alloy's shift); default: for measured "
        "spectra when the model was calibrated so (the shipped model is) against a simulated "
        "reference, not against a --host spectrum file (a measurement of the undoped host)",
    )
    pred.set_defaults(func=_cmd_predict)

    data = sub.add_parser("dataset", help="build, export or describe a training set")
    data_sub = data.add_subparsers(dest="dataset_command", required=True)
    build = data_sub.add_parser("build", help="simulate spectra over the host library (resumable)")
    build.add_argument("--store", default=None, help=store_help)
    build.add_argument("--hosts-file", default=None, help="phonondb-2018-hosts.jsonl.gz")
    build.add_argument("--n-hosts", type=int, default=100)
    build.add_argument("--per-host", type=int, default=4)
    build.add_argument("--max-host-sites", type=int, default=6)
    build.add_argument("--max-atoms", type=int, default=96)
    build.add_argument("--min-percent", type=float, default=2.0)
    build.add_argument("--max-percent", type=float, default=25.0)
    build.add_argument("--workers", type=int, default=1)
    build.add_argument("--seed", type=int, default=2026)
    build.add_argument("--force-field", default="CHGNet")
    build.add_argument(
        "--chunk",
        type=int,
        default=5,
        help="hosts sampled and run at a time; a chunk's requests are drawn with the seed plus "
        "its start, so resume a campaign with its own --first-host and --chunk (other values "
        "draw other requests for the same hosts)",
    )
    build.add_argument("--engine", default="direct", choices=["direct", "mass-defect", "embedding"])
    build.add_argument("--cache-dir", default=None, help="host force constants and patches")
    build.add_argument("--first-host", type=int, default=0, help="start in the shuffled order")
    build.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="draw each host's requests from only this many of its candidate dopants (a "
        "seeded subset; for --engine embedding: a few patches per host serve all its requests)",
    )
    build.add_argument(
        "--cutoff",
        type=float,
        default=None,
        help="--engine embedding: reach of the dopant patches in Angstrom (rows within it; "
        "default: the whole patch cell). 6 A is enough with a potential that is harmonic on "
        "the mA scale (SevenNet: overlap 0.97-0.98 with the direct DOS, 66x faster per "
        "configuration), not with CHGNet (0.77-0.89; docs/benchmarks.md)",
    )
    build.add_argument(
        "--skip-dataset",
        action="append",
        default=None,
        help="a dataset file (.json.gz) whose spectra count as done: a fresh machine resumes "
        "the campaign without its store (repeat for several files)",
    )
    build.add_argument(
        "--flows",
        default=None,
        help="write the campaign as jobflow flows to this JSON file instead of running it "
        "(for jobflow-remote or FireWorks on a cluster; --store is then not used)",
    )
    export = data_sub.add_parser("export", help="write a compact .json.gz and its datasheet")
    export.add_argument(
        "--store", required=True, action="append", help=store_help + " (repeat for several)"
    )
    export.add_argument("--out", required=True, help="the .json.gz file to write")
    export.add_argument("--engine", default=None, help="only documents of this engine")
    export.add_argument(
        "--backfill",
        action="store_true",
        help="give documents written before 0.2 their cell reference (cell_pristine_pdos) "
        "in the export (host force constants from --cache-dir; the store is not changed)",
    )
    export.add_argument(
        "--cache-dir", default=None, help="the campaign's host cache (with --backfill)"
    )
    export.add_argument(
        "--exclude",
        action="append",
        default=None,
        help="an earlier part of the dataset (.json.gz): its spectra are left out, so the "
        "file written is a new part beside it (repeat for several)",
    )
    stats = data_sub.add_parser("stats", help="describe stored or exported spectra")
    stats.add_argument("sources", nargs="+", help=".json.gz exports or store folders")
    data.set_defaults(func=_cmd_dataset)

    train = sub.add_parser("train", help="train a model on exported or stored spectra")
    train.add_argument("sources", nargs="+", help=".json.gz exports or store folders")
    train.add_argument("--out", required=True, help="folder for save_pretrained")
    train.add_argument("--epochs", type=int, default=60)
    train.add_argument("--split", default="0.8,0.1,0.1", help="host fractions train,val,test")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=_cmd_train)

    calibrate = sub.add_parser(
        "calibrate",
        help="set a model's decision rules anew on spectra of hosts it has not seen "
        "(e.g. fewer false alarms on undoped samples); weights unchanged",
    )
    calibrate.add_argument("sources", nargs="+", help=".json.gz exports or store folders")
    calibrate.add_argument("--model", default=None, help="model name or folder")
    calibrate.add_argument("--out", required=True, help="new folder for the recalibrated model")
    calibrate.add_argument("--name", default=None, help="its version name (default: --out's)")
    calibrate.add_argument(
        "--measured-budget",
        type=float,
        default=0.01,
        help="share of measurement-like pristine spectra the measured rules may call doped",
    )
    calibrate.add_argument(
        "--neutron-budget",
        type=float,
        default=None,
        help="the same for neutron measurements (default: --measured-budget)",
    )
    calibrate.add_argument(
        "--pristine-draws",
        type=int,
        default=1,
        help="rounds of measurement-like draws of each pristine spectrum (more: rules less "
        "dependent on one draw)",
    )
    calibrate.add_argument("--seed", type=int, default=0)
    calibrate.add_argument(
        "--clean-only", action="store_true", help="only the rule for simulated spectra"
    )
    calibrate.set_defaults(func=_cmd_calibrate)

    evaluate = sub.add_parser("evaluate", help="metrics of a model on spectra")
    evaluate.add_argument("sources", nargs="+", help=".json.gz exports or store folders")
    evaluate.add_argument("--model", default=None, help="model name or folder")
    evaluate.add_argument(
        "--plot", default=None, help="save a predicted-vs-true concentration parity plot"
    )
    evaluate.add_argument(
        "--unseen-hosts",
        action="store_true",
        help="only spectra of hosts the model never trained or was calibrated on "
        "(metadata['seen_hosts']): held-out metrics",
    )
    evaluate.set_defaults(func=_cmd_evaluate)

    sig = sub.add_parser(
        "signatures", help="dopant signatures of one host from patches, and fits by them"
    )
    sig_sub = sig.add_subparsers(dest="signatures_command", required=True)
    sig_build = sig_sub.add_parser(
        "build", help="compute the candidates' signatures in a host (minutes per candidate)"
    )
    sig_build.add_argument(
        "host",
        nargs="?",
        default=None,
        help="structure file (CIF, POSCAR, ...) or host id (mp-...); not with --extend",
    )
    sig_build.add_argument("--candidates", default=None, help="comma-separated, e.g. Ge,Sn,C")
    sig_build.add_argument(
        "--recommend",
        type=int,
        default=0,
        help="also the dopant recommender's first N suggestions of each kind",
    )
    sig_build.add_argument("--out", required=True, help="library file to write (.json)")
    sig_build.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    sig_build.add_argument(
        "--extend",
        action="store_true",
        help="add the candidates to the library in --out (its host; existing ones skipped)",
    )
    sig_build.add_argument("--hosts-file", default=None, help="host library (.jsonl.gz)")
    sig_build.add_argument(
        "--force-field",
        default="SevenNet",
        help="potential of the patches (default SevenNet: validated with 6 A patches)",
    )
    sig_build.add_argument(
        "--cutoff", default="6", help="patch reach in Angstrom, or 'cell' (default 6)"
    )
    sig_build.add_argument("--patch-atoms", type=int, default=216)
    sig_build.add_argument(
        "--series",
        default=None,
        help="also a concentration series by the direct engine: supercell multiples of the "
        "host cell, e.g. 3,2 (one dopant in 3x3x3 and 2x2x2 cells; minutes each)",
    )
    sig_build.add_argument(
        "--cache-dir", default=None, help="keep host force constants and patches"
    )
    sig_build.set_defaults(func=_cmd_signatures_build)
    sig_fit = sig_sub.add_parser("fit", help="read a spectrum as a sum of the library's signatures")
    sig_fit.add_argument("spectrum", help="CSV/JSON spectrum, or a DefectPhononDoc JSON file")
    sig_fit.add_argument("--library", required=True, help="file of 'signatures build'")
    sig_fit.add_argument(
        "--pristine", default=None, help="pristine spectrum file (default: the library's)"
    )
    sig_fit.add_argument("--candidates", default=None, help="a subset of the library's elements")
    sig_fit.add_argument("--unit", default=None, choices=["THz", "meV", "cm-1"])
    sig_fit.add_argument(
        "--threshold", type=float, default=None, help="at.%% from which a dopant is called present"
    )
    sig_fit.add_argument(
        "--resolution",
        default=None,
        help="instrument FWHM in meV (a number, or coefficients a0,a1,... in energy): the "
        "signatures and the library's pristine DOS are broadened alike",
    )
    sig_fit.add_argument(
        "--kind",
        default="pdos",
        help="pdos (default), neutron (a neutron-weighted DOS, read with neutron-weighted "
        "signatures against a neutron-weighted pristine) or partial:ELEMENT (one host "
        "element's partial DOS, as nuclear resonant scattering measures)",
    )
    sig_fit.add_argument(
        "--lattice",
        default="relaxed",
        choices=["relaxed", "fixed"],
        help="relaxed (default, a real sample: each dopant's Vegard change of the lattice "
        "included) or fixed (supercells simulated at the host's lattice)",
    )
    sig_fit.add_argument(
        "--series",
        action="store_true",
        help="read each candidate at its fitted concentration with the library's "
        "concentration series (build --series): for samples of a few at.%% and more",
    )
    sig_fit.add_argument(
        "--measured",
        action="store_true",
        help="a measurement: fit background, multiphonon tail and resolution error beside "
        "the dopants, the energy scale too, and call a dopant present from 2 standard errors "
        "(--terms measured --scale fit --significance 2)",
    )
    sig_fit.add_argument(
        "--terms",
        default=None,
        help="measurement terms fitted beside the dopants, comma-separated: background, "
        "multiphonon, resolution, scale, or measured (the first three)",
    )
    sig_fit.add_argument(
        "--scale",
        default=None,
        help="factor of the spectrum's energies over the library's, or 'fit' (default 1)",
    )
    sig_fit.add_argument(
        "--significance",
        type=float,
        default=None,
        help="standard errors a concentration needs to be called present (default 0; 2 "
        "with --measured)",
    )
    sig_fit.add_argument("--json", action="store_true", help="print the fit as JSON")
    sig_fit.add_argument(
        "--plot", default=None, help="save a figure of the change, the fit and each dopant's part"
    )
    sig_fit.set_defaults(func=_cmd_signatures_fit)

    store = sub.add_parser("store", help="work with the document store")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    query = store_sub.add_parser("query", help="list documents")
    query.add_argument("--store", default=None, help=store_help)
    query.add_argument("--host", default=None, help="host id or formula")
    query.add_argument("--dopant", default=None)
    query.add_argument("--min-percent", type=float, default=None)
    query.add_argument("--max-percent", type=float, default=None)
    query.add_argument("--n-dopants", type=int, default=None)
    query.add_argument("--json", action="store_true")
    query.set_defaults(func=_cmd_store_query)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    import logging
    import warnings

    args = _parser().parse_args(argv)
    # results go to stdout, diagnostics to stderr
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr, force=True
    )
    if not args.debug:
        warnings.filterwarnings("ignore")
        for name in ("maggma", "jobflow", "matplotlib", "DefectPhononBuilder"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except (
        ValueError,
        TypeError,
        KeyError,
        FileNotFoundError,
        ImportError,
        RuntimeError,
        OSError,
    ) as exc:
        if args.debug:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"defectnet: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
