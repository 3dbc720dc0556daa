"""Where the embedding engine's gap to the direct engine comes from (one configuration per case).

python benchmarks/embedding_gap.py [--case mp-149 C:Si:0.47 ...] [--json benchmarks/results/embedding_gap.json]

``engine_fidelity.py`` finds the embedded DOS of covalent hosts (Si, ZnS) below 0.95 overlap
with the direct DOS of the same configuration. This script takes one configuration per case,
the same ~216-atom cell as there, and splits the gap (overlap = 1 - half the L1 distance of
unit-area total DOS):

- ``cell_reference_embedding_vs_direct``: the undoped cell from the embedding engine's host
  force constants against the direct engine's (does the host part agree?);
- ``dopant_effect_direct``: the direct doped DOS against its own undoped cell (how much the
  dopant changes the whole cell's DOS when everything relaxes and every atom is displaced);
- ``dopant_effect_embedding`` and ``dopant_effect_masses_only``: the same for the embedded
  DOS and for dopant masses on the host's force constants;
- ``effect_cosine_embedding_vs_direct``: cosine of the two engines' differences doped minus
  undoped cell (what the model reads).

With ``--noise-floor HOST_ID`` it also computes the undoped cell's force constants the way the
direct engine treats a doped cell whose dopant broke the symmetry: every atom displaced, no
space-group averaging (phonopy ``is_symmetry=False``; only the index-permutation and
translational symmetrisation), and compares its DOS with the symmetric one
(``noise_floor_overlap``): how much the finite-difference noise of the potential alone moves
the DOS of a cell that has no dopant at all.

The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from common import emit
from engine_fidelity import _host

from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings, _forces
from defectnet_atomate.phonons.dos import make_phonopy
from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
from defectnet_atomate.spectra import spectral_overlap

CASES = [["mp-149", "C:Si:0.47"]]


def _overlap(a: object, b: object) -> float:
    return round(spectral_overlap(a.frequencies, a.total, b.frequencies, b.total), 4)


def _effect(dos: object, reference: object, grid: np.ndarray) -> np.ndarray:
    return np.interp(grid, dos.frequencies, dos.total) - np.interp(
        grid, reference.frequencies, reference.total
    )


def gap(host_id: str, dopings: list[str]) -> dict:
    """The split of one configuration's gap (see the module docstring)."""
    direct = DirectEngine(settings=DirectSettings(relax_cell=False))
    embedding = EmbeddingEngine(settings=EmbeddingSettings())
    host = direct.relax_host(_host(host_id))
    matrix = embedding.host_data(host)["matrix"]
    doped = make_doped_supercell(host, dopings, seed=0, supercell_matrix=matrix, rel_tolerance=0.5)
    emb = embedding.run_supercell(doped, host_id=host_id)
    ref = direct.run_supercell(doped, host_id=host_id)
    masses = embedding.modes(doped, patches=False)[1].dos()
    grid = np.asarray(ref.pdos.frequencies)
    a = _effect(emb.pdos, emb.cell_pristine_pdos, grid)
    b = _effect(ref.pdos, ref.cell_pristine_pdos, grid)
    return {
        "host": host_id,
        "dopants": dopings,
        "n_atoms": doped.num_sites,
        "overlap_embedding_vs_direct": _overlap(emb.pdos, ref.pdos),
        "overlap_masses_only_vs_direct": _overlap(masses, ref.pdos),
        "cell_reference_embedding_vs_direct": _overlap(
            emb.cell_pristine_pdos, ref.cell_pristine_pdos
        ),
        "dopant_effect_direct": _overlap(ref.pdos, ref.cell_pristine_pdos),
        "dopant_effect_embedding": _overlap(emb.pdos, emb.cell_pristine_pdos),
        "dopant_effect_masses_only": _overlap(masses, emb.cell_pristine_pdos),
        "effect_cosine_embedding_vs_direct": round(
            float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)), 4
        ),
    }


def noise_floor(host_id: str, displacement: float = 0.01) -> dict:
    """The undoped cell's DOS with and without the space-group averaging of its force constants."""
    direct = DirectEngine(settings=DirectSettings(relax_cell=False))
    embedding = EmbeddingEngine(settings=EmbeddingSettings())
    host = direct.relax_host(_host(host_id))
    matrix = embedding.host_data(host)["matrix"]
    cell = host.copy()
    cell.make_supercell(matrix)
    phonon = make_phonopy(cell, np.eye(3, dtype=int), is_symmetry=False)
    phonon.generate_displacements(distance=displacement, is_plusminus=True)
    calculator = direct.calculator
    phonon.forces = np.asarray(
        [_forces(c, calculator) for c in phonon.supercells_with_displacements]
    )
    phonon.produce_force_constants()
    phonon.symmetrize_force_constants()
    modes = direct.modes(cell, phonon.force_constants, np.eye(3, dtype=int))
    # the symmetric force constants at the same q-points (the cell reference)
    symmetric = direct.cell_reference(host, matrix, modes.qpoints).dos()
    return {
        "host": host_id,
        "n_atoms": len(cell),
        "displacement_angstrom": displacement,
        "n_displacements": len(phonon.supercells_with_displacements),
        "noise_floor_overlap": _overlap(modes.dos(), symmetric),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case",
        nargs="+",
        action="append",
        default=None,
        metavar="HOST_ID DOPING",
        help="a host id and its dopings (repeatable; default: C:Si:0.47 in mp-149)",
    )
    parser.add_argument("--noise-floor", action="append", default=[], metavar="HOST_ID")
    parser.add_argument(
        "--displacement",
        type=float,
        action="append",
        default=None,
        help="finite-displacement step(s) of the noise floor, A (default 0.01, the engines')",
    )
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the results already in --json and add these (no default case)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, floors = [], []
    if args.append and args.json and Path(args.json).is_file():
        old = json.loads(Path(args.json).read_text())
        rows, floors = old.get("cases", []), old.get("noise_floor", [])
    for host_id, *dopings in args.case or ([] if args.append else CASES):
        rows.append(gap(host_id, dopings))
        print(rows[-1], flush=True)
    for host_id in args.noise_floor:
        for step in args.displacement or [0.01]:
            floors.append(noise_floor(host_id, step))
            print(floors[-1], flush=True)
    return emit({"cases": rows, "noise_floor": floors}, args.json)


if __name__ == "__main__":
    main()
