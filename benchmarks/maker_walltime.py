"""Wall time of one 64-atom doped Si spectrum: our Maker (both engines) vs atomate2's PhononMaker.

python benchmarks/maker_walltime.py [--json out.json]

Cases, all with CHGNet on the same Ge-doped 64-atom Si supercell (2 Ge, 3.125 at.%):

- ``atomate2_phonon_maker``: atomate2's force-field ``PhononMaker`` with its defaults
  (relaxation to fmax 1e-5, one job per displacement, band structure), run on the doped
  cell with ``supercell_matrix`` = identity.
- ``defect_maker_atomate2``: ``DefectPhononMaker(engine="atomate2")`` (host relax, pristine
  host phonons, the doped cell through atomate2's ``PhononMaker``, projected DOS).
- ``defect_maker_direct``: ``DefectPhononMaker(engine="direct")`` (one job, potential kept
  loaded), timed on its second run in the process (the first warms the potential up, as a
  dataset worker's first spectrum does).

Overlaps (1 - half the L1 distance of unit-area total DOS) compare each doped spectrum with
the atomate2 one; atomate2's force constants are broadened with our DOS routine so that
only the physics differs. The last line printed is a JSON object of the results.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import numpy as np
import torch
from jobflow import JobStore
from jobflow import run_locally as _run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.flows import DefectPhononMaker
from defectnet_atomate.phonons.dos import modes_from_force_constants
from defectnet_atomate.spectra import spectral_overlap

CONVENTIONAL_2X2X2 = [[-2, 2, 2], [2, -2, 2], [2, 2, -2]]  # of the fcc primitive cell: 64 atoms


def _store() -> JobStore:
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    store.connect()
    return store


def _docs(responses: dict) -> list:
    from defectnet_atomate.schemas import DefectPhononDoc

    out = []
    for per_index in responses.values():
        for response in per_index.values():
            if isinstance(response.output, DefectPhononDoc):
                out.append(response.output)
    return out


def run_locally(flow: object, **kwargs: object) -> dict:
    """jobflow's ``run_locally`` in a scratch folder: atomate2 writes its phonopy files
    (phonopy.yaml, phonon_dos.pdf, ...) into the working directory."""
    with tempfile.TemporaryDirectory() as folder:
        return _run_locally(flow, root_dir=folder, **kwargs)


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    si = si.get_primitive_structure()
    doping = ["Ge:Si:3.125"]
    results: dict = {"machine": f"{platform.machine()}, torch threads 1", "n_atoms": 64}

    # ours, direct engine; once untimed first: a dataset worker's steady state (potential
    # loaded, first calls of torch and phonopy done), which the timed run then measures
    maker = DefectPhononMaker(engine="direct", supercell_matrix=CONVENTIONAL_2X2X2)
    run_locally(maker.make(si, doping), store=_store(), log=False, ensure_success=True)
    t0 = time.perf_counter()
    responses = run_locally(maker.make(si, doping), store=_store(), log=False, ensure_success=True)
    results["defect_maker_direct_s"] = time.perf_counter() - t0
    direct_doc = _docs(responses)[0]
    results["direct_doped_only_s"] = direct_doc.timings["total"]

    # ours, atomate2 engine
    maker = DefectPhononMaker(engine="atomate2", supercell_matrix=CONVENTIONAL_2X2X2)
    t0 = time.perf_counter()
    responses = run_locally(maker.make(si, doping), store=_store(), log=False, ensure_success=True)
    results["defect_maker_atomate2_s"] = time.perf_counter() - t0
    a2_doc = _docs(responses)[0]

    # atomate2's own PhononMaker on the same doped cell (unrelaxed host lattice)
    from atomate2.forcefields.flows.phonons import PhononMaker

    doped = make_doped_supercell(si, doping, supercell_matrix=CONVENTIONAL_2X2X2, seed=0)
    plain = PhononMaker.from_force_field_name("CHGNet")
    flow = plain.make(doped.structure, supercell_matrix=np.eye(3).tolist())
    t0 = time.perf_counter()
    responses = run_locally(flow, store=_store(), log=False, ensure_success=True)
    results["atomate2_phonon_maker_s"] = time.perf_counter() - t0
    output = responses[flow.output.uuid][1].output
    fc = np.asarray(output.force_constants.force_constants)
    modes = modes_from_force_constants(output.structure, fc, np.eye(3), mesh_length=20)
    plain_dos = modes.dos()

    def overlap(doc_dos: object) -> float:
        return spectral_overlap(
            plain_dos.frequencies, plain_dos.total, doc_dos.frequencies, doc_dos.total
        )

    results["overlap_direct_vs_atomate2"] = overlap(direct_doc.pdos)
    results["overlap_maker_atomate2_vs_atomate2"] = overlap(a2_doc.pdos)
    results["throughput_ratio_direct_vs_atomate2"] = (
        results["atomate2_phonon_maker_s"] / results["direct_doped_only_s"]
    )
    for key, value in results.items():
        if isinstance(value, float):
            results[key] = round(value, 3)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
