"""The shipped model against the one shipped before it, on hosts that neither trained on.

python benchmarks/model_versions.py [--previous-rev f040854] [--json benchmarks/results/model_versions.json]

Each model is tested on unseen hosts of its own split, but a new export changes the split, so
their held-out numbers are of different hosts. This script takes the previous model and the
dataset exports it was trained on from a git revision (``git archive``, so it needs a full
clone), and evaluates both models on the mass-defect test spectra of the current split whose
hosts the previous model did not train on either: hosts new in the current export, and
hosts of the previous model's own test set (its split was a seeded shuffle of its export's
hosts, 70/15/15, seed 0, the direct hosts apart), and on the direct test spectra of such
hosts (``training_recipes.split_levels`` keeps the first direct hosts' shuffle, so a host
that gained direct spectra later stays in the set it had). Clean spectra at the threshold for
simulated spectra, measurement-like copies (``measured_like_examples``, seed 7) at each
model's threshold for measured spectra. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from common import emit
from packaging.version import Version

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.dataset import load_dataset
from defectnet_atomate.ml.augment import measured_like_examples
from defectnet_atomate.ml.training import _host_of, _split_hosts, examples_from_docs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from training_recipes import FIRST_DIRECT_EXPORTS, load_levels, split_levels  # noqa: E402
from training_recipes import KEYS as RECIPE_KEYS  # noqa: E402

KEYS = ("n_examples", *(k for k in RECIPE_KEYS if k not in ("by_concentration", "n_dopants_total")))


def _extract(rev: str, paths: list[str], dest: Path) -> None:
    """Files of a git revision into ``dest``."""
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, *paths],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")


def _summary(q: DefectQuantifier, examples: list, measured: list, direct: list) -> dict:
    clean = q.evaluate(examples)
    out = {"mass_defect": {k: clean.get(k) for k in KEYS}}
    out["mass_defect"]["by_concentration"] = {
        b: {k: v.get(k) for k in ("n", "mae_at_percent", "median_relative_error")}
        for b, v in clean["by_concentration"].items()
    }
    out["measured_like"] = {k: q.evaluate(measured, measured=True).get(k) for k in KEYS}
    if direct:
        out["direct"] = {k: q.evaluate(direct).get(k) for k in KEYS}
    return out


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--previous-rev",
        default="f040854",
        help="git revision of the previous model (0.6.0; 5560be5 for 0.4.0)",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    high, low = load_levels()
    (_, _, h_test), (_, _, l_test) = split_levels(high, low)
    with tempfile.TemporaryDirectory() as tmp:
        _extract(args.previous_rev, ["src/defectnet_atomate/pretrained", "data/dataset"], Path(tmp))
        folder = Path(tmp) / "src" / "defectnet_atomate" / "pretrained"
        name = (folder / "DEFAULT").read_text().strip()
        previous = DefectQuantifier.from_pretrained(str(folder / name))
        version = json.loads((folder / name / "config.json").read_text()).get(
            "package_version", "0.4"
        )
        # the mass-defect exports of the previous model's time
        old_low = [
            d
            for f in sorted((Path(tmp) / "data" / "dataset").glob("*mass-defect*.json.gz"))
            for d in load_dataset(f)
        ]
    # since 0.5 the hosts with mass-defect spectra only are split by a hash (stable)
    stable = Version(version) >= Version("0.5")
    # the direct hosts of the seeded shuffle (those of the first direct exports)
    direct = {_host_of(d) for f in FIRST_DIRECT_EXPORTS for d in load_dataset(ROOT / f)}
    old_hosts = {_host_of(d) for d in old_low} | direct
    old_test = (
        _split_hosts(direct, (0.7, 0.15, 0.15), 0)[2]
        | _split_hosts({_host_of(d) for d in old_low} - direct, (0.7, 0.15, 0.15), 0, stable)[2]
    )
    hosts = sorted(
        {_host_of(d) for d in l_test if _host_of(d) not in old_hosts or _host_of(d) in old_test}
    )
    examples = examples_from_docs([d for d in l_test if _host_of(d) in hosts])
    measured = measured_like_examples(examples)
    # direct spectra of test hosts the previous model did not train on at either level
    direct_hosts = sorted(
        {_host_of(d) for d in h_test if _host_of(d) not in old_hosts or _host_of(d) in old_test}
    )
    direct_ex = examples_from_docs([d for d in h_test if _host_of(d) in direct_hosts])
    current = DefectQuantifier.from_pretrained()
    result = {
        "hosts": len(hosts),
        "hosts_new_in_export": sum(h not in old_hosts for h in hosts),
        "direct_hosts": len(direct_hosts),
        "previous": {"model": previous.name, "rev": args.previous_rev}
        | _summary(previous, examples, measured, direct_ex),
        "current": {"model": current.name} | _summary(current, examples, measured, direct_ex),
    }
    return emit(result, args.json)


if __name__ == "__main__":
    main()
