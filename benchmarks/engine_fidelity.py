"""Fidelity and speed of the embedding engine against the direct engine (same configurations).

python benchmarks/engine_fidelity.py [--quick] [--json out.json] [--resume rows.jsonl]
    [--cutoff cell|ANGSTROM] [--hosts mp-149 ...] [--direct-cache DIR] [--max-atoms 520]

For each host (relaxed with CHGNet) a near-cubic supercell of about 216 atoms is doped with
1-3 chemically different dopants (<= 1.5 at.%, at least the embedding engine's validated
separation apart), and its DOS is computed twice:

- **direct**: the whole doped supercell, positions relaxed at the host lattice, all atoms
  displaced (``DirectSettings(relax_cell=False)``: the embedding engine keeps the host
  lattice, so the reference does too);
- **embedding**: host force constants + cached single-dopant patches (``--cutoff cell``, the
  engine's default: rows of every atom of the patch cell; a number: rows within that radius).

Overlap = 1 - half the L1 distance of unit-area total DOS; the masses-only approximation
(host force constants, dopant masses) is printed beside it. Each configuration also gets the
engine's additivity check (``EmbeddingEngine.extra_relaxation``: how far the cell would still
relax because its dopants interact; above ``EmbeddingSettings.max_extra_relaxation`` the
engine refuses it and ``engine="auto"`` hands it to the direct engine): ``min_overlap_dilute``
and ``median_overlap_dilute`` are over the configurations the engine embeds,
``min_overlap_all`` and ``median_overlap_all`` over all of them (their DOS is computed with
the check off). Rows of earlier runs read back with ``--resume`` get the check added. Speed: the direct engine's time
per configuration against the embedding engine's time per additional configuration with the
patch library amortised over 20 configurations (``speedup_embedding``: all hosts' patches over 20
configurations, the conservative reading; ``speedup_embedding_per_host_library``: each host's
library over 20 configurations of that host, median over hosts). The direct engine's throughput against
atomate2's ``PhononMaker``, in spectra per hour on the whole machine (issue 3's measure), is the
lowest ratio to atomate2's best use of the machine over the runs of
``benchmarks/machine_throughput.py`` (``throughput_ratio_direct_vs_atomate2``; the one-core ratio
of ``benchmarks/maker_walltime.py``, run here unless its results file exists, beside it as
``throughput_ratio_direct_vs_atomate2_one_core``). ``--hosts`` runs a subset (two processes on two cores, each with its own
``--resume`` file, then one run over both files for the summary); ``--direct-cache`` keeps each
direct DOS (and its time) so that reruns with other embedding settings skip the direct engine.
``--max-atoms N`` runs the large-cell cases instead (one atom per dopant in about 512 atoms, 0.2
at.%: the regime the embedding engine is for, where the direct engine takes an hour or more per
configuration on one core); their patches still come from the ~216-atom patch cell, and each
placement is drawn as ``EmbeddingEngine.run`` draws it (the first one that passes the
separation and additivity checks). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from common import throughput_ratios
from pymatgen.core import Lattice, Structure

from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings, SeparationError
from defectnet_atomate.spectra import spectral_overlap

ROOT = Path(__file__).resolve().parents[1]
HOSTS_FILE = ROOT.parent / "shared/data/hosts/phonondb-2018-hosts.jsonl.gz"
MAKER_RESULTS = ROOT / "benchmarks/results/maker_walltime.json"
MACHINE_RESULTS = ROOT / "benchmarks/results/machine_throughput.json"


# host id -> list of dopings (each one configuration); concentrations give 1 atom per dopant
CASES = {
    "mp-149": [
        ["C:Si:0.47"],
        ["Ge:Si:0.47", "Sn:Si:0.47"],
        ["C:Si:0.47", "Ge:Si:0.47", "Sn:Si:0.47"],
    ],
    "mp-10695": [["Se:S:0.47"], ["Cd:Zn:0.47", "O:S:0.47"]],
    "mp-1265": [["Ca:Mg:0.47"], ["Zn:Mg:0.47", "S:O:0.47"]],
    "mp-1138": [["Na:Li:0.47"], ["Cl:F:0.47", "K:Li:0.47"]],
}
QUICK = {"mp-149": [["C:Si:0.47"], ["Ge:Si:0.47", "Sn:Si:0.47"]]}
# --max-atoms (cells larger than the patch cell, where the embedding engine is meant to work):
# one atom per dopant in about 512 atoms (0.2 at.%)
LARGE = {
    "mp-149": [["Ge:Si:0.2", "Sn:Si:0.2"], ["C:Si:0.2", "Sn:Si:0.2"]],
    "mp-10695": [["Se:S:0.2"], ["Cd:Zn:0.2", "O:S:0.2"]],
    "mp-1138": [["Na:Li:0.2"], ["Cl:F:0.2", "K:Li:0.2"]],
    "mp-1265": [["Zn:Mg:0.2", "S:O:0.2"], ["Ca:Mg:0.2"]],
}


def _host(host_id: str) -> Structure:
    if host_id == "mp-149" and not HOSTS_FILE.is_file():
        si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
        return si.get_primitive_structure()
    from defectnet_atomate.hosts import find_host

    return find_host(host_id, HOSTS_FILE).structure


def _overlap(a: object, b: object) -> float:
    return spectral_overlap(a.frequencies, a.total, b.frequencies, b.total)


def _per_host_speedup(rows: list[dict]) -> float:
    """Direct time over embedding time per configuration, each host's patch library
    amortised over 20 configurations of that host (median over hosts)."""
    ratios = []
    for host in {r["host"] for r in rows}:
        mine = [r for r in rows if r["host"] == host]
        per_config = statistics.mean(_embedding_s(r) for r in mine) + sum(
            _library_s(r) for r in mine
        ) / max(20, len(mine))
        ratios.append(statistics.mean(r["direct_s"] for r in mine) / per_config)
    return round(statistics.median(ratios), 1)


def _direct(
    engine: DirectEngine,
    doped: object,
    host_id: str,
    index: int,
    cache: str | None,
    projected: bool = False,
) -> tuple[SimpleNamespace, float]:
    """The direct DOS of a configuration and its wall time (read back from ``cache``).

    ``projected``: the element-projected DOS is needed too (a cached file written without
    it, before 0.26, is computed again).
    """
    file = None
    if cache is not None:
        tag = "-".join(
            f"{d.element}{len(g)}" for d, g in zip(doped.dopants, doped.dopant_sites, strict=True)
        )
        step = engine.settings.displacement
        # CHGNet's files keep the names of the runs before --force-field
        ff = "" if engine.force_field == "CHGNet" else f"-{engine.force_field}"
        file = Path(cache) / f"direct-{host_id}-{index}-{doped.num_sites}-{tag}-{step:g}{ff}.json"
        if file.is_file():
            stored = json.loads(file.read_text())
            same = stored["dopant_sites"] == [list(map(int, g)) for g in doped.dopant_sites]
            if same and (stored.get("projected") or not projected):
                dos = SimpleNamespace(
                    frequencies=stored["frequencies"],
                    total=stored["total"],
                    projected=stored.get("projected") or {},
                )
                return dos, stored["seconds"]
    t0 = time.perf_counter()
    doc = engine.run_supercell(doped, host_id=host_id)
    seconds = time.perf_counter() - t0
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        stored = {
            "dopant_sites": [list(map(int, g)) for g in doped.dopant_sites],
            "frequencies": list(map(float, doc.pdos.frequencies)),
            "total": list(map(float, doc.pdos.total)),
            "projected": {el: list(map(float, d)) for el, d in doc.pdos.projected.items()},
            "seconds": seconds,
        }
        file.write_text(json.dumps(stored))
    return doc.pdos, seconds


def configuration(embedding: EmbeddingEngine, host: Structure, dopings: list, index: int) -> object:
    """The benchmark's configuration ``index`` of a host: the first seeded placement in the
    patch cell with every dopant pair at least the validated separation apart."""
    data = embedding.host_data(host)
    for seed in range(50):
        candidate = make_doped_supercell(
            host,
            dopings,
            seed=100 * index + seed,
            supercell_matrix=data["matrix"],
            rel_tolerance=0.5,
        )
        try:
            structure = embedding.force_constants(candidate, patches=False)[0]
            sites = [
                j
                for j, s in enumerate(structure)
                if s.specie.symbol in {d.element for d in candidate.dopants}
            ]
            embedding._check_separation(structure, np.asarray(sites))
            return candidate
        except SeparationError:
            continue
    raise SeparationError(f"No placement of {dopings} in 50 draws.")


def large_configuration(
    embedding: EmbeddingEngine, host: Structure, dopings: list, index: int, max_atoms: int
) -> tuple[object, int]:
    """Configuration ``index`` in a cell of at most ``max_atoms``, drawn as
    ``EmbeddingEngine.run`` draws (seed + 1000 k): the first placement whose dopants are the
    validated separation apart and whose relaxations add up (the additivity check), and the
    number of placements checked."""
    limit = EmbeddingSettings().max_extra_relaxation  # the engine's default
    for k in range(50):
        candidate = make_doped_supercell(
            host, dopings, seed=100 * index + 1000 * k, max_atoms=max_atoms
        )
        try:
            extra = embedding.extra_relaxation(candidate)
        except SeparationError:  # closer than the validated separation
            continue
        if limit is None or extra <= limit:
            return candidate, k + 1
    raise SeparationError(f"No accepted placement of {dopings} in 50 draws.")


def _additivity(embedding: EmbeddingEngine, doped: object, limit: float | None) -> dict:
    """The engine's additivity check on a configuration (one dopant atom: always accepted)."""
    embedding.extra_relaxation(doped)  # the dopants' relaxations: part of their patches' cost
    t0 = time.perf_counter()
    extra = embedding.extra_relaxation(doped)
    return {
        "extra_relaxation": round(extra, 5),
        "n_dopant_atoms": sum(len(g) for g in doped.dopant_sites),
        "check_s": round(time.perf_counter() - t0, 2),
    }


def _actual_relaxation(embedding: EmbeddingEngine, doped: object) -> float:
    """How far the added-up geometry actually relaxes (BFGS to the engine's fmax), Angstrom."""
    from pymatgen.io.phonopy import get_pmg_structure

    from defectnet_atomate.phonons.direct import relax_structure
    from defectnet_atomate.phonons.dos import make_phonopy

    cell = make_phonopy(doped.host, doped.supercell_matrix, is_symmetry=False).supercell
    structure = get_pmg_structure(cell)
    embedding._embed(doped, structure, True, blocks=False)
    s = embedding.settings
    relaxed, _ = relax_structure(structure, embedding.calculator, False, s.fmax, s.max_steps)
    moved = relaxed.frac_coords - structure.frac_coords
    moved = (moved - np.round(moved)) @ structure.lattice.matrix
    return float(np.linalg.norm(moved, axis=1).max())


def _accepted(row: dict, limit: float | None) -> bool:
    """Whether the engine embeds the configuration (one dopant atom: no check)."""
    several = row.get("n_dopant_atoms", len(row["dopants"])) > 1
    return not several or limit is None or row["extra_relaxation"] <= limit


def _embedding_s(row: dict) -> float:
    """Embedding time of a configuration with its additivity check (one force evaluation,
    and one per refused placement drawn before it)."""
    return row["embedding_s"] + row.get("check_s", 0.0) * (1 + row.get("redraws", 0))


def _library_s(row: dict) -> float:
    """Time of the patches (and, for the large cells, the dopant relaxations drawn apart
    from them) that the configuration added to the host's library."""
    return row["patch_s"] + row.get("relaxation_s", 0.0)


def _append(path: str | None, row: dict) -> None:
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps(row) + "\n")


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--cutoff", default="cell", help="patch reach: 'cell' (every atom) or Angstrom"
    )
    parser.add_argument("--hosts", nargs="*", default=None, help="host ids to run (a subset)")
    parser.add_argument(
        "--displacement",
        type=float,
        default=0.01,
        help="finite-displacement step of both engines, A (the package uses 0.01 everywhere)",
    )
    parser.add_argument("--direct-cache", default=None, help="folder of direct DOS by config")
    parser.add_argument(
        "--actual-relaxation",
        action="store_true",
        help="also relax each configuration from the added-up geometry (what the additivity "
        "check estimates; seconds to minutes each)",
    )
    parser.add_argument("--patch-atoms", type=int, default=216)
    parser.add_argument(
        "--force-field",
        default="CHGNet",
        help="potential of both engines (SevenNet: extra 'sevennet'; harmonic on the mA scale)",
    )
    parser.add_argument(
        "--max-atoms",
        type=int,
        default=None,
        help="run the large-cell cases instead: configurations in cells of up to this many "
        "atoms (e.g. 520: 512-atom Si and MgO), patches still from the patch cell; placements "
        "drawn as the engine draws them (an hour or more per direct reference on one core)",
    )
    parser.add_argument(
        "--resume",
        default=None,
        help="JSON-lines file of finished configurations: read back and skipped, new ones "
        "appended (a full run takes about an hour on 2 cores)",
    )
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="with --resume: the summary of the configurations finished so far, nothing run "
        "(a run still going, or stopped, over several sessions)",
    )
    args = parser.parse_args()
    if args.summary_only and not args.resume:
        parser.error("--summary-only reads the configurations of --resume; give that file.")
    done: dict[tuple[str, int], dict] = {}
    if args.resume and Path(args.resume).is_file():
        for line in Path(args.resume).read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[(row["host"], row["index"])] = row
    torch.set_num_threads(1)
    cases = QUICK if args.quick else (LARGE if args.max_atoms else CASES)
    if args.hosts:
        cases = {h: c for h, c in cases.items() if h in args.hosts}
    cutoff = None if args.cutoff == "cell" else float(args.cutoff)
    direct = DirectEngine(
        force_field=args.force_field,
        settings=DirectSettings(relax_cell=False, displacement=args.displacement),
    )
    # the DOS of every configuration, also of those the additivity check refuses (their rows
    # say so): max_extra_relaxation=None here, the engine's default limit is applied below
    limit = EmbeddingSettings().max_extra_relaxation
    emb_settings = EmbeddingSettings(
        cutoff=cutoff,
        patch_atoms=args.patch_atoms,
        displacement=args.displacement,
        max_extra_relaxation=None,
    )
    embedding = EmbeddingEngine(force_field=args.force_field, settings=emb_settings)
    rows = []
    for host_id, configs in cases.items():
        keys = [(host_id, i) for i in range(len(configs))]
        wanted = ["extra_relaxation"] + (["actual_relaxation"] if args.actual_relaxation else [])
        if args.summary_only:  # what --resume holds so far, nothing computed
            rows.extend(done[k] for k in keys if k in done)
            continue
        if all(
            k in done and ("refused" in done[k] or all(w in done[k] for w in wanted)) for k in keys
        ):
            rows.extend(done[k] for k in keys)
            continue
        host = direct.relax_host(_host(host_id))
        embedding.host_data(host)  # host force constants (once per host)
        for i, dopings in enumerate(configs):
            if "refused" in done.get((host_id, i), {}):
                rows.append(done[(host_id, i)])
                continue
            placement = {}
            if args.max_atoms:  # the draw computes the dopants' relaxations (library cost)
                t0 = time.perf_counter()
                try:
                    doped, draws = large_configuration(embedding, host, dopings, i, args.max_atoms)
                except SeparationError as err:  # the engine hands it to the direct engine
                    row = {
                        "host": host_id,
                        "index": i,
                        "formula": host.composition.reduced_formula,
                        "dopants": [d.rsplit(":", 1)[0] for d in dopings],
                        "refused": str(err),
                        "placement_s": round(time.perf_counter() - t0, 1),
                        "accepted": False,
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    _append(args.resume, row)
                    continue
                placement = {"placement_s": time.perf_counter() - t0, "draws": draws}
            else:
                doped = configuration(embedding, host, dopings, i)
            if (host_id, i) in done:  # rows of runs before the additivity check get it added
                row = done[(host_id, i)]
                if "extra_relaxation" not in row:
                    row.update(_additivity(embedding, doped, limit))
                    _append(args.resume, row)
                if args.actual_relaxation and "actual_relaxation" not in row:
                    row["actual_relaxation"] = round(_actual_relaxation(embedding, doped), 5)
                    _append(args.resume, row)
                rows.append(row)
                continue
            computed_before = embedding.stats["patches_computed"]
            t0 = time.perf_counter()
            emb_doc = embedding.run_supercell(doped, host_id=host_id)
            t_first = time.perf_counter() - t0
            t0 = time.perf_counter()
            embedding.run_supercell(doped, host_id=host_id)  # patches cached now
            t_embed = time.perf_counter() - t0
            patch_seconds = max(t_first - t_embed, 0.0)
            _, masses_modes = embedding.modes(doped, patches=False)
            direct_dos, t_direct = _direct(direct, doped, host_id, i, args.direct_cache)
            row = {
                "host": host_id,
                "index": i,
                "formula": host.composition.reduced_formula,
                "dopants": [f"{d.element}:{d.replaces}" for d in doped.dopants],
                "n_atoms": doped.num_sites,
                "max_atomic_percent": round(max(d.atomic_percent for d in doped.dopants), 3),
                "overlap": round(_overlap(emb_doc.pdos, direct_dos), 4),
                "overlap_masses_only": round(_overlap(masses_modes.dos(), direct_dos), 4),
                "direct_s": round(t_direct, 1),
                "embedding_s": round(t_embed, 2),
                "new_patches": embedding.stats["patches_computed"] - computed_before,
                "patch_s": round(patch_seconds, 1),
                **_additivity(embedding, doped, limit),
            }
            if placement:  # checks of refused draws: per configuration; the rest: relaxations
                row["redraws"] = placement["draws"] - 1
                row["relaxation_s"] = round(
                    max(placement["placement_s"] - placement["draws"] * row["check_s"], 0.0), 1
                )
            if args.actual_relaxation:
                row["actual_relaxation"] = round(_actual_relaxation(embedding, doped), 5)
            rows.append(row)
            print(json.dumps(row), flush=True)
            _append(args.resume, row)
    # configurations no placement of which the engine embeds have no embedded DOS: counted
    # as refused (handed to the direct engine), left out of overlaps and speed
    refused_placements = [r for r in rows if "refused" in r]
    rows = [r for r in rows if "refused" not in r]
    patch_total = sum(_library_s(r) for r in rows)
    per_config_embedding = statistics.mean(_embedding_s(r) for r in rows) + patch_total / max(
        20, len(rows)
    )
    if not MAKER_RESULTS.is_file():
        import subprocess
        import sys

        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks/maker_walltime.py"),
                "--json",
                str(MAKER_RESULTS),
            ],
            check=True,
        )
    maker = json.loads(MAKER_RESULTS.read_text())
    for r in rows:  # at the engine's limit of today, also for rows of earlier runs
        r["accepted"] = _accepted(r, limit)
    overlaps = [r["overlap"] for r in rows]
    accepted = [r["overlap"] for r in rows if r["accepted"]]
    result = {
        "n_configs": len(rows) + len(refused_placements),
        "n_hosts": len({r["host"] for r in rows + refused_placements}),
        "force_field": args.force_field,
        "cutoff_angstrom": cutoff if cutoff is not None else "patch cell",
        "displacement_angstrom": args.displacement,
        "max_extra_relaxation_angstrom": limit,
        "n_refused": len(rows) - len(accepted) + len(refused_placements),
        "n_refused_every_placement": len(refused_placements),
        "min_overlap_dilute": min(accepted) if accepted else None,
        "median_overlap_dilute": round(statistics.median(accepted), 4) if accepted else None,
        "min_overlap_all": min(overlaps),
        "median_overlap_all": round(statistics.median(overlaps), 4),
        "median_overlap_masses_only": round(
            statistics.median(r["overlap_masses_only"] for r in rows), 4
        ),
        "speedup_embedding": round(
            statistics.mean(r["direct_s"] for r in rows) / per_config_embedding, 1
        ),
        "speedup_embedding_per_host_library": _per_host_speedup(rows),
        **throughput_ratios(
            maker,
            json.loads(MACHINE_RESULTS.read_text()) if MACHINE_RESULTS.is_file() else None,
        ),
        "overlap_direct_vs_atomate2": maker["overlap_direct_vs_atomate2"],
        "configs": rows + refused_placements,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    summary = {k: v for k, v in result.items() if k != "configs"}
    print(json.dumps(summary))
    return result


if __name__ == "__main__":
    main()
