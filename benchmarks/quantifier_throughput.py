"""Prediction throughput and cold start of DefectQuantifier on the CPU.

python benchmarks/quantifier_throughput.py [--model NAME_OR_PATH] [--json out.json]

- cold start: a fresh Python process runs ``from_pretrained().predict(doc)`` once (import,
  load, featurise, predict), timed from the interpreter start of the child process;
- throughput: spectra per second of batched ``predict`` (batch 64, one torch thread and
  all threads), on the committed test documents repeated to 512 spectra, with six given
  candidates; and with candidates from the dopant recommender (which costs more than the
  network);
- measured spectra: the same spectra as ``(frequencies, densities)`` arrays with the host's
  reference DOS (judged as measurements, the reference matched to the instrument first,
  :func:`~defectnet_atomate.measurement.match_instrument`, as ``predict`` does for them).

The last line printed is a JSON object of the results.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch
from common import emit
from monty.serialization import loadfn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "tests" / "test_data" / "ml_docs.json.gz"

COLD = """
import time
t0 = time.perf_counter()
from monty.serialization import loadfn
from defectnet_atomate import DefectQuantifier
doc = loadfn({docs!r})[0]
q = DefectQuantifier.from_pretrained({model!r})
q.predict(doc)
print(time.perf_counter() - t0)
"""


def main() -> dict:
    from defectnet_atomate import DefectQuantifier

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    code = COLD.format(docs=str(DOCS), model=args.model)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True
    )
    cold_wall = time.perf_counter() - t0
    results = {
        "cold_start_in_process_s": round(float(out.stdout.strip().splitlines()[-1]), 3),
        "cold_start_wall_s": round(cold_wall, 3),
    }
    docs = loadfn(DOCS)
    spectra = (docs * (512 // len(docs) + 1))[:512]
    q = DefectQuantifier.from_pretrained(args.model)
    candidates = ["Ge", "Sn", "Ag", "Au", "Ga", "In"]
    usable = [d for d in spectra if not set(d["host"]["elements"]) & set(candidates)]
    q.predict(usable[:8], candidates=candidates)  # warm-up
    for threads in sorted({1, torch.get_num_threads()}):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        q.predict(usable, candidates=candidates, batch_size=64)
        seconds = time.perf_counter() - t0
        results[f"spectra_per_second_threads_{threads}"] = round(len(usable) / seconds, 1)
    t0 = time.perf_counter()
    q.predict(spectra[:64], batch_size=64)
    results["spectra_per_second_with_recommender"] = round(64 / (time.perf_counter() - t0), 1)
    t0 = time.perf_counter()
    for d in usable[:64]:
        pristine = d["pristine_pdos"]
        q.predict(
            (d["pdos"]["frequencies"], d["pdos"]["total"]),
            host=(pristine["frequencies"], pristine["total"]),
            composition=d["host"]["composition"],
            candidates=candidates,
            unit="THz",
        )
    results["measured_spectra_per_second_one_by_one"] = round(64 / (time.perf_counter() - t0), 1)
    results["model"] = q.name
    return emit(results, args.json)


if __name__ == "__main__":
    main()
