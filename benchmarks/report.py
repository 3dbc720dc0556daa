"""Write docs/benchmarks.md from the JSON results in benchmarks/results/.

python benchmarks/report.py

Each section names the script that produced its numbers; rerun that script to refresh them.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _maker(lines: list[str]) -> None:
    r = _load("maker_walltime.json")
    lines += [
        "## One 64-atom doped Si spectrum: Makers and engines",
        "",
        "Script: `python benchmarks/maker_walltime.py --json benchmarks/results/maker_walltime.json`",
        "",
    ]
    if r is None:
        lines += ["Not run yet.", ""]
        return
    lines += [
        f"Machine: {r['machine']}; CHGNet; Si with 2 Ge in 64 atoms (3.125 at.%).",
        "",
        "| case | wall time (s) |",
        "|---|---|",
        f"| atomate2 force-field `PhononMaker` (defaults, one job per displacement) | {r['atomate2_phonon_maker_s']} |",
        f'| `DefectPhononMaker(engine="atomate2")` (host relax + pristine + doped branch) | {r["defect_maker_atomate2_s"]} |',
        f'| `DefectPhononMaker(engine="direct")` (whole flow) | {r["defect_maker_direct_s"]} |',
        f"| direct engine, doped cell only | {r['direct_doped_only_s']} |",
        "",
        f"- Throughput of the direct engine vs atomate2's `PhononMaker`: **{r['throughput_ratio_direct_vs_atomate2']}x**.",
        f"- Overlap of the direct engine's DOS with atomate2's (same cell, atomate2's force constants "
        f"broadened with our DOS routine): **{r['overlap_direct_vs_atomate2']}**; our Maker's atomate2 "
        f"engine vs plain atomate2: {r['overlap_maker_atomate2_vs_atomate2']} (atomate2 relaxes to "
        "fmax 1e-5 and uses one-sided displacements where symmetry allows).",
        "- Measured while a second process ran on the other core of the 2-core machine.",
        "",
    ]


def _fidelity(lines: list[str]) -> None:
    lines += [
        "## Embedding engine vs direct engine (dilute dopants)",
        "",
        "Script: `python benchmarks/engine_fidelity.py [--quick] --json benchmarks/results/engine_fidelity[_quick].json`",
        "",
    ]
    for name, label in (
        ("engine_fidelity.json", "full"),
        ("engine_fidelity_quick.json", "--quick"),
    ):
        r = _load(name)
        if r is None:
            lines += [f"{label}: not run yet.", ""]
            continue
        lines += [
            f"### {label}: {r['n_configs']} configurations over {r['n_hosts']} host(s), cutoff {r['cutoff_angstrom']} A",
            "",
            "| host | dopants | atoms | max at.% | overlap | masses only | direct (s) | embedding (s) | new patches | patch time (s) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for c in r["configs"]:
            lines.append(
                f"| {c['formula']} ({c['host']}) | {', '.join(c['dopants'])} | {c['n_atoms']} | "
                f"{c['max_atomic_percent']} | {c['overlap']} | {c['overlap_masses_only']} | {c['direct_s']} | "
                f"{c['embedding_s']} | {c['new_patches']} | {c['patch_s']} |"
            )
        summary = {k: v for k, v in r.items() if k != "configs"}
        lines += ["", "```json", json.dumps(summary, indent=1), "```", ""]


def _cutoff(lines: list[str]) -> None:
    r = _load("embedding_cutoff.json")
    lines += [
        "### Convergence with the patch cutoff",
        "",
        "Script: `python benchmarks/embedding_cutoff.py --json benchmarks/results/embedding_cutoff.json`",
        "",
    ]
    if r is None:
        lines += ["Not run yet.", ""]
        return
    lines += [
        f"{r['dopant']} in {r['host']} ({r['n_atoms']} atoms), overlap with the direct engine:",
        "",
        "| cutoff (A) | overlap | patch + embedding time (s) |",
        "|---|---|---|",
    ]
    for c, o in r["overlap"].items():
        lines.append(f"| {c} | {o} | {r['patch_s'][c]} |")
    lines.append("")


def _quantifier(lines: list[str]) -> None:
    r = _load("quantifier_throughput.json")
    lines += [
        "## DefectQuantifier speed (CPU)",
        "",
        "Script: `python benchmarks/quantifier_throughput.py --json benchmarks/results/quantifier_throughput.json`",
        "",
    ]
    if r is None:
        lines += ["Not run yet.", ""]
        return
    lines += ["```json", json.dumps(r, indent=1), "```", ""]


def _model(lines: list[str]) -> None:
    r = _load("pretrained_metrics.json")
    lines += [
        "## Shipped model: held-out accuracy",
        "",
        "Script: `python scripts/train_pretrained.py` (writes the model and this file)",
        "",
    ]
    if r is None:
        lines += ["Not run yet.", ""]
        return
    lines += ["```json", json.dumps(r, indent=1), "```", ""]


def main() -> None:
    lines = [
        "# Benchmarks",
        "",
        "Every number here comes from a script in `benchmarks/` (or `scripts/`) that anyone can rerun;",
        "`python benchmarks/report.py` rewrites this page from their JSON results in `benchmarks/results/`.",
        "Machine: 2 CPU cores, no GPU, CHGNet 0.4.2 (weights 0.3.0), torch CPU build.",
        "",
    ]
    _maker(lines)
    _fidelity(lines)
    _cutoff(lines)
    _quantifier(lines)
    _model(lines)
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines))
    print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
