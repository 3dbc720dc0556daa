"""Shared by the benchmark scripts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

MEASURED_RULES = (
    "threshold_measured",
    "threshold_measured_no_sites",
    "threshold_measured_neutron",
    "threshold_measured_neutron_dominated",
)


def model_parser(description: str) -> argparse.ArgumentParser:
    """Arguments of the benchmarks that compare models: ``--model`` (repeatable), ``--json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--model",
        action="append",
        default=None,
        help="a model name or folder (repeatable; default: the shipped model)",
    )
    parser.add_argument("--json", default=None)
    return parser


def emit(result: dict, path: str | Path | None) -> dict:
    """Write ``result`` to ``path`` (if given) and print it as the last line (JSON)."""
    if path:
        Path(path).write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return result


def checkpoint(result: dict, path: str | Path | None) -> None:
    """Write ``result`` to ``path`` (if given) without printing: a long run stopped early
    keeps what it has measured so far."""
    if path:
        Path(path).write_text(json.dumps(result, indent=1))


def model_rules(q: Any) -> dict:
    """Thresholds, gates and the choice of site inputs of a model's rules for measured
    spectra (``[threshold, gate]`` each), as the report's rule text reads them."""
    out = {key: [getattr(q, key), q.gates.get(key)] for key in MEASURED_RULES}
    return out | {"measured_site_inputs": q.measured_site_inputs}


def throughput_ratios(maker: dict, machine: dict | None) -> dict:
    """The direct engine's throughput against atomate2's: per machine (if measured), one core."""
    one_core = maker["throughput_ratio_direct_vs_atomate2"]
    per_machine = machine["min_ratio_vs_best_atomate2"] if machine else None
    return {
        "throughput_ratio_direct_vs_atomate2": per_machine if per_machine else one_core,
        "throughput_ratio_direct_vs_atomate2_one_core": one_core,
    }
