"""How far do a few dopants move a cell's DOS with each potential (direct engine)?

python benchmarks/potential_dopant_effect.py [--force-field CHGNet --force-field SevenNet]
    [--json benchmarks/results/potential_dopant_effect.json]

For each configuration (host, dopants, seed 0, cells of at most 64 atoms) and potential, the
direct engine's document: the doped cell relaxed and displaced as a whole, its cell reference
(the undoped cell at the same q-points). *Effect*: 1 - overlap of the doped DOS with its cell
reference (what the model reads; overlap = 1 - half the L1 distance of unit-area DOS).
``potential_harmonicity.py`` finds CHGNet not harmonic on the millangstrom scale on which its
dopants' relaxations move far atoms, SevenNet harmonic: if that inflates the dopants' effect,
CHGNet's effect is the larger on the same configurations. The last line printed is a JSON
object.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import emit
from engine_fidelity import _host

from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.spectra import spectral_overlap

CONFIGS = [
    ["mp-149", "C:Si:3.125"],
    ["mp-149", "Ge:Si:3.125"],
    ["mp-1265", "Ca:Mg:3.125"],
    ["mp-10695", "Se:S:3.125"],
    ["mp-10695", "Cd:Zn:3.125"],
]


def _overlap(a: dict, b: dict) -> float:
    return spectral_overlap(a["frequencies"], a["total"], b["frequencies"], b["total"])


def effect(host_id: str, doping: str, force_field: str) -> dict:
    """The direct engine's dopant effect for one configuration and potential."""
    engine = DirectEngine(force_field=force_field, settings=DirectSettings())
    t0 = time.perf_counter()
    doc = engine.run(_host(host_id), [doping], seed=0, host_id=host_id, max_atoms=64)
    seconds = time.perf_counter() - t0
    d = doc.model_dump()
    return {
        "host": host_id,
        "formula": doc.host.formula,
        "dopants": doping,
        "force_field": force_field,
        "n_atoms": doc.num_sites,
        "effect": round(1 - _overlap(d["pdos"], d["cell_pristine_pdos"]), 4),
        "imaginary_fraction": round(doc.imaginary_fraction, 4),
        "largest_relaxation_move": doc.relaxation.max_displacement if doc.relaxation else None,
        "seconds": round(seconds, 1),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force-field", action="append", default=None)
    parser.add_argument("--config", nargs=2, action="append", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for host_id, doping in args.config or CONFIGS:
        for force_field in args.force_field or ["CHGNet", "SevenNet"]:
            rows.append(effect(host_id, doping, force_field))
            print(rows[-1], flush=True)
    ratios = []
    for host_id, doping in args.config or CONFIGS:
        pair = {r["force_field"]: r for r in rows if (r["host"], r["dopants"]) == (host_id, doping)}
        if {"CHGNet", "SevenNet"} <= set(pair) and pair["SevenNet"]["effect"] > 0:
            ratios.append(round(pair["CHGNet"]["effect"] / pair["SevenNet"]["effect"], 2))
    return emit({"rows": rows, "effect_ratio_chgnet_over_sevennet": ratios}, args.json)


if __name__ == "__main__":
    main()
