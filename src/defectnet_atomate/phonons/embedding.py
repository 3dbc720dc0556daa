"""The embedding engine: large dilute cells from host force constants plus dopant patches.

The force constants of a large doped supercell are built, not computed:

1. **Host force constants** once per host, by finite displacements (symmetry-reduced) in
   a near-cubic host supercell of at least ``patch_atoms`` atoms; they are carried to any
   other supercell through phonopy's dynamical-matrix transform (``DynmatToForceConstants``).
2. **Dopant patches** once per (host, site, element), in the same host supercell with one
   dopant: positions relaxed at the host lattice (BFGS started from the host's force
   constants of that cell since 0.23: 4-9x fewer steps to the same minimum,
   ``benchmarks/patch_relaxation.py``), then **full rows** of the force constants
   of every atom within ``cutoff`` of the dopant (``cutoff=None``: every atom of the patch
   cell, the default since 0.8; see below): phonopy's symmetry-reduced central
   displacements of the doped cell (the dopant's site symmetry cuts them), with real forces
   for atoms inside the sphere and the host's harmonic response for atoms outside it.
   The patch is the difference to the host force constants after the doped ones (computed
   rows, their transposes as columns, host values elsewhere) went through phonopy's
   symmetrisation (translational invariance and Phi_ij = Phi_ji^T), as in the direct engine.
   Patches are stored by position relative to the dopant and cached.
3. **Embedding**: host force constants in the large cell plus one patch per dopant, with
   dopant masses; the DOS comes from the modes of the whole cell with the direct engine's
   q-point density (Gamma only for cells longer than 20 Angstrom) by dense
   diagonalisation up to ``max_dense_atoms`` (1,500); beyond it, at Gamma, the force
   constants are built as a sparse matrix and the DOS comes from stochastic Lanczos
   quadrature, the cell reference with the same random vectors
   (:mod:`defectnet_atomate.phonons.lanczos`; time and memory linear in the atoms).

Approximations (recorded in the documents): patches add independently, so dopants closer
than ``min_separation`` (measured in ``benchmarks/engine_fidelity.py``) are refused (use the
direct engine); the host lattice is kept (no volume change from dilute dopants); force
constants beyond the cutoff keep their host values.

Whether patches add is also checked per configuration, before any patch is computed
(``max_extra_relaxation``, since 0.12): the dopants' relaxations are added up as the
embedding does, and the potential's forces at that geometry, less those each dopant leaves
on its own in the same cell, are solved through the host force constants. The result is how
far the cell would still relax because its dopants interact. With this potential the force
constants follow mA-scale moves (below), so where the dopants' relaxation fields interact
their patches do not add either: in the fidelity benchmark the two configurations whose
embedded DOS fell below 0.95 overlap with the direct one are estimated to relax by 7 and
21 mA more, those that reach 0.95 by 2-5 mA (one, at 0.951, by more). Configurations above
6 mA are refused with :class:`AdditivityError` (``engine="auto"`` hands them to the direct
engine). The estimate is linear (host force constants, one force evaluation): against an
actual relaxation of those cells it was within a factor 2.5.

Why the whole patch cell by default: with a universal potential one dopant changes force
constants far from itself. In Si (CHGNet, 216 atoms) the relaxation around a C atom moves
atoms 8-12 A away by only 4-8 mA, yet their force-constant blocks change by up to
2-3 eV/A^2, because the potential is not harmonic on that scale (its stiffness at a 1 mA
step is 23 % above that at 10 mA; ``benchmarks/embedding_range.py``). Rows within 6 A then
carried 0.77 of the way to the direct DOS, rows within 12 A 0.99. A patch with every row
of its cell is one symmetry-reduced direct calculation of the single-dopant cell (74 force
evaluations for C in 216-atom Si); it is exact for one dopant in that cell, and patches
of several dopants add. A patch reaches as far as its cell: embedding it into a supercell
in which two of its atoms fall onto one site (a cell smaller than the patch cell) is
refused with :class:`PatchRangeError` (``engine="auto"`` hands over to the direct engine).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from monty.json import MSONable
from phonopy.harmonic.force_constants import symmetrize_force_constants
from scipy.spatial import cKDTree

from defectnet_atomate.doping import DopingError
from defectnet_atomate.phonons.calculators import (
    PotentialMixin,
    fixed_neighbours,
    forces_calculator,
)
from defectnet_atomate.phonons.direct import (
    UnstableHostError,
    _ase_atoms,
    _forces,
    check_host_modes,
    relax_structure,
)
from defectnet_atomate.phonons.dos import (
    cell_reference_modes,
    make_phonopy,
    modes_from_force_constants,
    site_images,
)
from defectnet_atomate.schemas import DefectPhononDoc, PhononSettings
from defectnet_atomate.spectra import GRID_STEP_THZ, SIGMA_THZ

if TYPE_CHECKING:
    from ase.calculators.calculator import Calculator
    from numpy.typing import NDArray
    from pymatgen.core import Structure

    from defectnet_atomate.doping import DopedSupercell

__all__ = [
    "AdditivityError",
    "DopantPatch",
    "EmbeddingEngine",
    "EmbeddingSettings",
    "PatchRangeError",
    "SeparationError",
    "UnstableHostError",
]

logger = logging.getLogger(__name__)


class SeparationError(DopingError):
    """Dopants closer than the embedding engine's validated separation."""


class AdditivityError(SeparationError):
    """Dopants whose relaxations interact, so that their patches do not add."""


class PatchRangeError(SeparationError):
    """A patch reaches farther than the target supercell allows (it would wrap onto itself)."""


@dataclass
class EmbeddingSettings(MSONable):
    """Settings of the embedding engine.

    ``patches=False`` turns the engine into the mass-defect model (host force constants,
    dopant masses; documents say ``engine="mass-defect"``): the cheapest fidelity level,
    about a second per configuration once the host's force constants exist, used to cover
    many hosts in training sets. It misses the change of bonding around a dopant (see
    ``docs/benchmarks.md`` for how much that costs against the direct engine).

    ``max_extra_relaxation`` (Angstrom; ``None``: unchecked) is the largest further
    relaxation, caused by the dopants' interaction, with which a configuration is still
    embedded (:meth:`EmbeddingEngine.extra_relaxation`); above it the engine raises
    :class:`AdditivityError` before computing any patch. The mass-defect level never checks.

    ``max_host_imaginary`` (a fraction of the modes; ``None``: unchecked) screens the host
    before any dopant is placed: both levels expand around the relaxed host, which must be
    a minimum of the potential. A host whose own spectrum (its force constants, this
    q-mesh) has a larger share of modes below ``-IMAGINARY_TOLERANCE_THZ`` is refused
    with :class:`UnstableHostError`, before any patch is computed. The default 0.02 is the
    share above which documents are flagged and training leaves them out: such a host's
    doped spectra would all be flagged (measured: TlBr 34 % and MgS 11 % with CHGNet, and
    their doped cells 13-21 % and 4-9 %).
    """

    cutoff: float | None = None
    patch_atoms: int = 216
    min_separation: float = 7.0
    max_extra_relaxation: float | None = 0.006
    displacement: float = 0.01
    fmax: float = 5e-3
    max_steps: int = 300
    symprec: float = 1e-3
    max_dense_atoms: int = 1500
    lanczos_vectors: int = 16
    lanczos_steps: int = 250
    lanczos_seed: int = 0
    mesh_length: float = 20.0
    sigma: float = SIGMA_THZ
    grid_step: float = GRID_STEP_THZ
    patches: bool = True
    max_host_imaginary: float | None = 0.02

    @property
    def cutoff_text(self) -> str:
        """How far patches reach, in words."""
        if self.cutoff is None:
            return "rows of every atom of the patch cell,"
        return f"rows within {self.cutoff} A,"

    @property
    def cutoff_tag(self) -> str:
        """The cutoff as it appears in patch cache names."""
        return "cell" if self.cutoff is None else f"{self.cutoff:g}"

    def phonon_settings(self) -> PhononSettings:
        """Return the settings as recorded in documents."""
        mesh = (
            f"q-mesh of phonopy length {self.mesh_length} A on the supercell (Gamma only for "
            "cells longer than that), as in the direct engine"
        )
        if self.patches:
            engine = "embedding"
            approximations = [
                f"host force constants + single-dopant patches ({self.cutoff_text} "
                f"computed in a {self.patch_atoms}+ atom host cell)",
                f"dopants at least {self.min_separation} A apart; patches add independently",
                (
                    "additivity unchecked"
                    if self.max_extra_relaxation is None
                    else "configurations whose added-up dopant relaxations would still move an "
                    f"atom by more than {self.max_extra_relaxation} A are refused"
                ),
                "host lattice kept; positions relaxed only inside each patch cell",
                mesh,
            ]
        else:
            engine = "mass-defect"
            approximations = [
                "mass-defect model: the host's force constants everywhere, dopant masses on "
                "their sites (no change of bonding around a dopant)",
                "host lattice and positions kept (no relaxation around dopants)",
                f"host force constants from a {self.patch_atoms}+ atom host cell",
                mesh,
            ]
        if self.max_host_imaginary is not None:
            approximations.append(
                "hosts whose own spectrum has more than "
                f"{100 * self.max_host_imaginary:g} % of its modes imaginary are refused"
            )
        approximations.append(
            f"cells above {self.max_dense_atoms} atoms: Gamma only, host force constants "
            "within half the host cell's width as a sparse matrix, DOS by stochastic Lanczos "
            f"quadrature ({self.lanczos_vectors} vectors per element, {self.lanczos_steps} "
            f"steps, seed {self.lanczos_seed}; the cell reference with the same vectors)"
        )
        return PhononSettings(
            engine=engine,
            displacement=self.displacement,
            plus_minus=True,
            symmetrize_force_constants=True,
            relax_cell=False,
            fmax=self.fmax,
            mesh_length=self.mesh_length,
            sigma=self.sigma,
            grid_step=self.grid_step,
            approximations=approximations,
        )


@dataclass
class DopantPatch(MSONable):
    """Change of the force constants around one dopant, by position relative to it.

    Attributes
    ----------
    element, host_element
        Dopant and the host element it replaces.
    basis_index
        Index of the replaced atom in the host's primitive cell.
    vec_i, vec_j
        ``(M, 3)`` Cartesian vectors (Angstrom) from the dopant to atoms i and j of each entry.
    blocks
        ``(M, 3, 3)`` changes of Phi_ij, eV/Angstrom^2.
    n_force_calls
        Force evaluations spent on the patch.
    relax_vec, relax_disp
        Vectors from the dopant to atoms that moved in the relaxation, and their
        displacements (Angstrom); the embedded cell moves its atoms alike.
    """

    element: str
    host_element: str
    basis_index: int
    vec_i: list
    vec_j: list
    blocks: list
    cutoff: float | None
    n_force_calls: int = 0
    seconds: float = 0.0
    relax_vec: list = field(default_factory=list)
    relax_disp: list = field(default_factory=list)


def _min_image(delta_frac: NDArray, lattice: NDArray) -> NDArray:
    return (delta_frac - np.round(delta_frac)) @ lattice


@dataclass
class EmbeddingEngine(PotentialMixin):
    """Phonon DOS of large dilute doped cells from cached host and dopant-patch force constants.

    Parameters
    ----------
    force_field
        atomate2 force-field name.
    settings
        :class:`EmbeddingSettings`.
    cache_dir
        Folder where host force constants and patches are kept between runs (``None``:
        in memory only). Patches are never recomputed once cached.
    """

    force_field: str = "CHGNet"
    settings: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    cache_dir: str | None = None
    calculator_kwargs: dict = field(default_factory=dict)
    _hosts: dict = field(default_factory=dict, repr=False)
    _patches: dict = field(default_factory=dict, repr=False)
    _relaxations: dict = field(default_factory=dict, repr=False)
    _single: dict = field(default_factory=dict, repr=False)
    _relaxed_hosts: dict = field(default_factory=dict, repr=False)
    stats: dict = field(
        default_factory=lambda: {
            "patches_computed": 0,
            "patches_reused": 0,
            "relaxations_computed": 0,
        }
    )

    # ------------------------------------------------------------------ host

    def _host_key(self, host: Structure) -> str:
        # "+ 0.0" turns -0.0 into 0.0: a relaxation leaves zeros as +-1e-9 at random, and
        # json writes "-0.0", which changed the key of the same host between runs (before 0.25)
        payload = json.dumps(
            {
                "species": [s.specie.symbol for s in host],
                "lattice": (np.round(host.lattice.matrix, 3) + 0.0).tolist(),
                "frac": (np.round(host.frac_coords, 3) + 0.0).tolist(),
                "ff": [self.force_field, self.calculator_info.weights_hash],
                "settings": [self.settings.patch_atoms, self.settings.displacement],
            }
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def host_data(self, host: Structure) -> dict[str, Any]:
        """Host force constants in the patch supercell (computed once, cached)."""
        from defectnet_atomate.doping import _near_cubic_supercell
        from defectnet_atomate.phonons.direct import compute_force_constants

        key = self._host_key(host)
        if key in self._hosts:
            return self._hosts[key]
        cached = self._cache_file(f"host-{key}.npz")
        stored = dict(np.load(cached)) if cached is not None and cached.is_file() else {}
        lattice = tuple(np.round(host.lattice.matrix, 4).ravel())
        if "matrix" in stored:
            matrix = stored["matrix"].astype(int).tolist()
        elif "fc" in stored:  # cache files before 0.2: the size tells which shape was chosen
            matrix = _near_cubic_supercell(lattice, stored["fc"].shape[1] // len(host))[0]
        else:  # the shape search is slow: cache files since 0.2 keep its result
            n_min = int(np.ceil(self.settings.patch_atoms / len(host)))
            shapes = [
                (_near_cubic_supercell(lattice, n), n) for n in range(n_min, n_min + n_min // 2 + 1)
            ]
            good = [(n, m) for (m, dev), n in shapes if dev <= 0.15]
            matrix = good[0][1] if good else min(shapes, key=lambda x: x[0][1])[0][0]
        if "fc" in stored:
            fc = stored["fc"]
        else:
            fc = compute_force_constants(
                host,
                matrix,
                self.calculator,
                self.settings.displacement,
                True,
                self.settings.symprec,
            )
        if cached is not None and "matrix" not in stored:
            # written to a temporary file and moved, so that parallel readers never see half
            partial = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.npz")
            np.savez_compressed(partial, fc=fc, matrix=np.asarray(matrix, dtype=int))
            partial.replace(cached)
        phonon = make_phonopy(host, matrix, fc)
        self._hosts[key] = {"key": key, "matrix": matrix, "fc": fc, "phonon": phonon}
        return self._hosts[key]

    def _cache_file(self, name: str) -> Path | None:
        if self.cache_dir is None:
            return None
        folder = Path(self.cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def host_force_constants(self, host: Structure, supercell_matrix: Any) -> tuple[Any, NDArray]:
        """Host force constants carried to ``supercell_matrix`` (phonopy supercell order)."""
        from phonopy.harmonic.dynmat_to_fc import DynmatToForceConstants

        data = self.host_data(host)
        target = make_phonopy(host, supercell_matrix, is_symmetry=False)
        if np.array_equal(np.asarray(supercell_matrix, int), data["matrix"]):
            return target.supercell, data["fc"]
        d2f = DynmatToForceConstants(target.primitive, target.supercell)
        dynmat = data["phonon"].dynamical_matrix
        matrices = []
        for q in d2f.commensurate_points:
            dynmat.run(q)
            matrices.append(dynmat.dynamical_matrix)
        d2f.dynamical_matrices = np.asarray(matrices)
        d2f.run()
        return target.supercell, np.asarray(d2f.force_constants)

    # ------------------------------------------------------------------ patches

    def patch(self, host: Structure, basis_index: int, element: str) -> DopantPatch:
        """Return the patch of ``element`` on host site ``basis_index`` (computed once, cached)."""
        from monty.serialization import dumpfn, loadfn

        data = self.host_data(host)
        key = (data["key"], basis_index, element, self.settings.cutoff)
        if key in self._patches:
            self.stats["patches_reused"] += 1
            return self._patches[key]
        cached = self._cache_file(
            f"patch-{data['key']}-{basis_index}-{element}-{self.settings.cutoff_tag}.json.gz"
        )
        patch = None
        if cached is not None and cached.is_file():
            try:
                patch = loadfn(cached)
                self.stats["patches_reused"] += 1
            except (ValueError, OSError, EOFError) as exc:  # cut short by a killed writer
                logger.warning("Patch cache file %s is unreadable (%s); recomputing.", cached, exc)
        if patch is None:
            patch = self._compute_patch(host, data, basis_index, element)
            self.stats["patches_computed"] += 1
            if cached is not None:
                # written to a temporary file and moved: a killed run leaves no half file
                partial = cached.with_name(f".tmp-{os.getpid()}-{cached.name}")
                dumpfn(patch, partial)
                partial.replace(cached)
        self._patches[key] = patch
        return patch

    def _compute_patch(
        self, host: Structure, data: dict, basis_index: int, element: str
    ) -> DopantPatch:
        from pymatgen.core import Structure
        from pymatgen.io.phonopy import get_pmg_structure

        t0 = time.perf_counter()
        s = self.settings
        phonon = data["phonon"]
        supercell = get_pmg_structure(phonon.supercell)
        centre = int(phonon.primitive.p2s_map[basis_index])
        host_element = supercell[centre].specie.symbol
        doped = supercell.copy()
        doped.replace(centre, element)
        moved = self.relaxation(host, basis_index, element)
        relaxed = Structure(
            doped.lattice, doped.species, doped.cart_coords + moved, coords_are_cartesian=True
        )
        lattice = supercell.lattice.matrix
        ideal = supercell.frac_coords
        rel = _min_image(ideal - ideal[centre], lattice)
        reach = np.inf if s.cutoff is None else s.cutoff + 1e-6
        inside = np.nonzero(np.linalg.norm(rel, axis=1) <= reach)[0]
        n = len(supercell)
        # phonopy's symmetry-reduced displacements of the doped cell (the dopant's site
        # symmetry cuts them); atoms inside the sphere get real forces, atoms outside the
        # harmonic host response, so phonopy solves the same rows as in the direct engine
        phonon = make_phonopy(relaxed, np.eye(3, dtype=int), symprec=s.symprec)
        phonon.generate_displacements(distance=s.displacement, is_plusminus=True)
        in_sphere = np.zeros(n, bool)
        in_sphere[inside] = True
        forces, calls = [], 0
        with fixed_neighbours(self.calculator, _ase_atoms(phonon.supercell)) as calc:
            for entry, cell in zip(
                phonon.dataset["first_atoms"], phonon.supercells_with_displacements, strict=True
            ):
                atom, u = entry["number"], np.asarray(entry["displacement"])
                if in_sphere[atom]:
                    forces.append(_forces(cell, calc))
                    calls += 1
                else:
                    forces.append(-np.einsum("jab,a->jb", data["fc"][atom], u))
        phonon.forces = np.asarray(forces)
        phonon.produce_force_constants()
        rows = np.asarray(phonon.force_constants)
        # full doped force constants: solved rows inside the sphere, their transposes as
        # columns, host values elsewhere; then phonopy's symmetrisation, as the direct engine
        out = ~in_sphere
        full = np.array(data["fc"], dtype=float, order="C", copy=True)
        full[inside] = rows[inside]
        full[np.ix_(out, in_sphere)] = rows[np.ix_(in_sphere, out)].transpose(1, 0, 3, 2)
        symmetrize_force_constants(full)
        delta = full - data["fc"]
        relax_vec, relax_disp = _relaxation_field(rel, moved)
        keep = np.argwhere(np.abs(delta).max(axis=(2, 3)) > 1e-4)
        return DopantPatch(
            element=element,
            host_element=host_element,
            basis_index=basis_index,
            vec_i=rel[keep[:, 0]].round(5).tolist(),
            vec_j=rel[keep[:, 1]].round(5).tolist(),
            blocks=delta[keep[:, 0], keep[:, 1]].round(7).tolist(),
            cutoff=s.cutoff,
            n_force_calls=calls,
            seconds=time.perf_counter() - t0,
            relax_vec=relax_vec.tolist(),
            relax_disp=relax_disp.tolist(),
        )

    def relaxation(self, host: Structure, basis_index: int, element: str) -> NDArray:
        """Relaxation around ``element`` on host site ``basis_index`` in the patch cell.

        Positions relaxed at the host lattice (``fmax``, ``max_steps``), computed once and
        cached (memory and ``cache_dir``); a patch starts from it, and the additivity check
        (:meth:`extra_relaxation`) needs only it.

        Returns
        -------
        numpy.ndarray
            ``(N, 3)`` displacements (Angstrom) of the patch cell's atoms, in phonopy order.
        """
        from pymatgen.io.phonopy import get_pmg_structure

        data = self.host_data(host)
        key = (data["key"], basis_index, element)
        if key in self._relaxations:
            return self._relaxations[key]
        cached = self._cache_file(f"relax-{data['key']}-{basis_index}-{element}.npy")
        moved = None
        if cached is not None and cached.is_file():
            try:
                moved = np.load(cached)
            except (ValueError, OSError, EOFError) as exc:  # cut short by a killed writer
                logger.warning("Relaxation cache %s is unreadable (%s); recomputing.", cached, exc)
        if moved is None:
            s = self.settings
            supercell = get_pmg_structure(data["phonon"].supercell)
            doped = supercell.copy()
            doped.replace(int(data["phonon"].primitive.p2s_map[basis_index]), element)
            # BFGS starts from the host's force constants of this very cell (several times
            # fewer steps than from a uniform curvature, same minimum)
            relaxed, _ = relax_structure(
                doped, self.calculator, False, s.fmax, s.max_steps, force_constants=data["fc"]
            )
            moved = _min_image(relaxed.frac_coords - doped.frac_coords, supercell.lattice.matrix)
            self.stats["relaxations_computed"] += 1
            if cached is not None:
                partial = cached.with_name(f".tmp-{os.getpid()}-{cached.name}")
                with open(partial, "wb") as handle:
                    np.save(handle, moved)
                partial.replace(cached)
        self._relaxations[key] = moved
        return moved

    def _relaxation_of(self, host: Structure, basis_index: int, element: str) -> tuple:
        """Return the relaxation as vectors from the dopant and moves (as patches keep it).

        A patch already at hand (in memory or in ``cache_dir``, e.g. from before 0.12, when
        relaxations were not cached on their own) gives it without relaxing again.
        """
        from monty.serialization import loadfn
        from pymatgen.io.phonopy import get_pmg_structure

        data = self.host_data(host)
        key = (data["key"], basis_index, element, self.settings.cutoff)
        cached = self._cache_file(
            f"patch-{data['key']}-{basis_index}-{element}-{self.settings.cutoff_tag}.json.gz"
        )
        known = key in self._patches or key[:3] in self._relaxations
        if not known and cached is not None and cached.is_file():
            # unreadable: the relaxation is computed here, the patch when it is needed
            with contextlib.suppress(ValueError, OSError, EOFError):
                self._patches[key] = loadfn(cached)
        if key in self._patches:
            patch = self._patches[key]
            return np.asarray(patch.relax_vec), np.asarray(patch.relax_disp)
        supercell = get_pmg_structure(data["phonon"].supercell)
        ideal = supercell.frac_coords
        centre = int(data["phonon"].primitive.p2s_map[basis_index])
        rel = _min_image(ideal - ideal[centre], supercell.lattice.matrix)
        return _relaxation_field(rel, self.relaxation(host, basis_index, element))

    # ------------------------------------------------------------------ configurations

    def _embed(
        self, doped: DopedSupercell, structure: Structure, patches: bool, blocks: bool = True
    ) -> tuple[list[tuple[NDArray, NDArray, NDArray]], list[tuple[int, int, str]]]:
        """Put the dopants into ``structure`` (the host supercell in phonopy order).

        Replaces the dopant sites' species and moves atoms by each patch's relaxation, in
        place; returns the patches' force-constant blocks as ``(rows, cols, blocks)``
        (``blocks=False``: the relaxations only, no force-constant patch is computed) and
        the dopants placed, as ``(site, basis index, element)``.
        """
        host = doped.host
        lattice = structure.lattice.matrix
        tree = cKDTree(np.mod(structure.frac_coords, 1.0) % 1.0, boxsize=1.0)
        # map the dopant sites of the pymatgen supercell onto phonopy's ordering
        sites = [i for group in doped.dopant_sites for i in group]
        elements = [
            d.element
            for d, group in zip(doped.dopants, doped.dopant_sites, strict=True)
            for _ in group
        ]
        positions = doped.structure.cart_coords[sites]
        mapped = site_images(tree, lattice, positions)
        if (mapped < 0).any():
            raise RuntimeError("Could not map dopant sites onto the host supercell.")
        if patches:
            self._check_separation(structure, mapped)
            patch_cell = len(self.host_data(host)["phonon"].supercell)
            if self.settings.cutoff is None and len(structure) < patch_cell:
                # a whole-cell patch cannot fit: refuse before computing any patch
                raise PatchRangeError(
                    f"Whole-cell patches come from a {patch_cell}-atom cell and do not fit this "
                    f"supercell of {len(structure)} atoms without wrapping onto themselves; use "
                    "a supercell at least as large as the patch cell (a lower concentration), a "
                    "patch cutoff (EmbeddingSettings(cutoff=...)), or the direct engine "
                    "(engine='auto' hands the configuration over)."
                )
        primitive = make_phonopy(host, doped.supercell_matrix, is_symmetry=False).primitive
        s2p = np.asarray(primitive.s2p_map)
        basis_of = {int(s): i for i, s in enumerate(primitive.p2s_map)}
        edits, shifts, placed = [], [], []
        for site, element in zip(mapped, elements, strict=True):
            centre = structure.cart_coords[site]
            placed.append((int(site), basis_of[int(s2p[site])], element))
            if patches and blocks:
                patch = self.patch(host, basis_of[int(s2p[site])], element)
                i = site_images(tree, lattice, centre + np.asarray(patch.vec_i))
                j = site_images(tree, lattice, centre + np.asarray(patch.vec_j))
                _check_reach(patch, i, len(structure))
                ok = (i >= 0) & (j >= 0)
                edits.append((i[ok], j[ok], np.asarray(patch.blocks)[ok]))
                vec, disp = np.asarray(patch.relax_vec), np.asarray(patch.relax_disp)
            elif patches:
                vec, disp = self._relaxation_of(host, basis_of[int(s2p[site])], element)
            if patches:
                shifts.append((centre, vec, disp))
            structure.replace(int(site), element)
        for centre, vec, disp in shifts:  # the relaxation around each dopant, added up
            _move_around(structure, tree, centre, vec, disp)
        return edits, placed

    def force_constants(
        self, doped: DopedSupercell, patches: bool | None = None
    ) -> tuple[Structure, NDArray, NDArray]:
        """Embedded force constants of a doped supercell.

        ``patches=False`` gives the mass-defect approximation (host force constants,
        dopant masses), which has no minimum dopant separation; ``None`` follows
        ``settings.patches``.

        Returns
        -------
        tuple
            The doped supercell in phonopy order, its force constants (eV/Angstrom^2) and
            the masses (amu).
        """
        from pymatgen.io.phonopy import get_pmg_structure

        cell, host_fc = self.host_force_constants(doped.host, doped.supercell_matrix)
        structure = get_pmg_structure(cell)
        fc = np.array(host_fc)
        patches = self.settings.patches if patches is None else patches
        if patches and self.settings.max_extra_relaxation is not None:
            # relaxations only: a refused configuration costs no force-constant patch
            self._check_additivity(doped, _dense_matrix(host_fc))
        edits, _ = self._embed(doped, structure, patches)
        for i, j, blocks in edits:
            np.add.at(fc, (i, j), blocks)
        fc = np.ascontiguousarray(fc, dtype=float)
        symmetrize_force_constants(fc)
        masses = np.array([site.specie.atomic_mass for site in structure], dtype=float)
        return structure, fc, masses

    def sparse_force_constants(
        self,
        doped: DopedSupercell | None,
        patches: bool | None = None,
        host: Structure | None = None,
        supercell_matrix: Any = None,
    ) -> tuple[Structure, Any, NDArray]:
        """Sparse embedded force constants, for cells beyond ``max_dense_atoms``.

        The host's force constants enter with the range of its host supercell
        (:func:`~defectnet_atomate.phonons.lanczos.sparse_force_constants`); patches and
        dopant masses as in :meth:`force_constants`. ``doped=None`` gives the undoped
        ``supercell_matrix @ host``.

        Returns
        -------
        tuple
            The supercell in phonopy order, a ``3N x 3N`` scipy sparse matrix
            (eV/Angstrom^2) and the masses (amu).
        """
        from pymatgen.io.phonopy import get_pmg_structure

        from defectnet_atomate.phonons.lanczos import sparse_force_constants

        host = doped.host if doped is not None else host
        matrix = doped.supercell_matrix if doped is not None else supercell_matrix
        target = make_phonopy(host, matrix, is_symmetry=False)
        structure = get_pmg_structure(target.supercell)
        patches = self.settings.patches if patches is None else patches
        host_phonon = self.host_data(host)["phonon"]
        if doped is not None and patches and self.settings.max_extra_relaxation is not None:
            self._check_additivity(doped, sparse_force_constants(host_phonon, target))
        edits = self._embed(doped, structure, patches)[0] if doped is not None else []
        fc = sparse_force_constants(host_phonon, target, extra=edits)
        masses = np.array([site.specie.atomic_mass for site in structure], dtype=float)
        return structure, fc, masses

    def extra_relaxation(self, doped: DopedSupercell) -> float:
        """How far the dopants' relaxations fail to add up in this cell (Angstrom).

        The embedding adds up the dopants' relaxations (each from its patch cell,
        :meth:`relaxation`). The potential's forces at that geometry, less the forces each
        dopant leaves alone in the same cell (what one patch's relaxation misses there,
        e.g. beyond the patch cell), are solved through the host's force constants: the
        further displacement that the interaction of the dopants would cause. Where it is
        large their relaxation fields interact, and their force-constant patches do not add
        either (``benchmarks/engine_fidelity.py``). Needs the relaxations only, not the
        force-constant patches; one force evaluation of the cell, and one per dopant
        element and site not seen before in a cell of this shape.

        Returns
        -------
        float
            Largest estimated further displacement of an atom, Angstrom (0 for one dopant).
        """
        from defectnet_atomate.phonons.lanczos import sparse_force_constants

        if self.is_sparse(doped):
            target = make_phonopy(doped.host, doped.supercell_matrix, is_symmetry=False)
            matrix = sparse_force_constants(self.host_data(doped.host)["phonon"], target)
        else:
            host_fc = self.host_force_constants(doped.host, doped.supercell_matrix)[1]
            matrix = _dense_matrix(host_fc)
        return self._extra_relaxation(doped, matrix)

    def _single_forces(self, doped: DopedSupercell, basis_index: int, element: str) -> tuple:
        """Return the forces in this cell shape with one dopant (relaxed as in its patch).

        Cached per host, cell shape, site and element; returns ``(forces, dopant site)``.
        """
        from pymatgen.io.phonopy import get_pmg_structure

        key = (
            self.host_data(doped.host)["key"],
            tuple(np.asarray(doped.supercell_matrix, int).ravel()),
            basis_index,
            element,
        )
        if key not in self._single:
            target = make_phonopy(doped.host, doped.supercell_matrix, is_symmetry=False)
            origin = int(target.primitive.p2s_map[basis_index])
            structure = get_pmg_structure(target.supercell)
            tree = cKDTree(np.mod(structure.frac_coords, 1.0) % 1.0, boxsize=1.0)
            vec, disp = self._relaxation_of(doped.host, basis_index, element)
            centre = structure.cart_coords[origin]
            structure.replace(origin, element)
            _move_around(structure, tree, centre, vec, disp)
            self._single[key] = (_structure_forces(structure, self.calculator), origin)
        return self._single[key]

    def _extra_relaxation(self, doped: DopedSupercell, matrix: Any) -> float:
        from pymatgen.io.phonopy import get_pmg_structure
        from scipy.sparse.linalg import minres

        ideal = get_pmg_structure(
            make_phonopy(doped.host, doped.supercell_matrix, is_symmetry=False).supercell
        )
        structure = ideal.copy()
        _, placed = self._embed(doped, structure, True, blocks=False)
        if len(placed) < 2:
            return 0.0
        forces = _structure_forces(structure, self.calculator)
        tree = cKDTree(np.mod(ideal.frac_coords, 1.0) % 1.0, boxsize=1.0)
        for site, basis_index, element in placed:  # less each dopant's forces on its own
            single, origin = self._single_forces(doped, basis_index, element)
            shift = ideal.cart_coords[site] - ideal.cart_coords[origin]
            atoms = site_images(tree, ideal.lattice.matrix, ideal.cart_coords + shift)
            if (atoms < 0).any():
                raise RuntimeError("Could not map a dopant's forces onto the supercell.")
            forces[atoms] -= single
        forces -= forces.mean(axis=0)  # no net force: the translations stay out
        step, _ = minres(matrix, forces.ravel(), rtol=1e-8, maxiter=2000)
        step = step.reshape(-1, 3)
        step -= step.mean(axis=0)
        return float(np.linalg.norm(step, axis=1).max())

    def _check_additivity(self, doped: DopedSupercell, matrix: Any) -> None:
        limit = self.settings.max_extra_relaxation
        if limit is None:
            return
        extra = self._extra_relaxation(doped, matrix)
        if extra > limit:
            raise AdditivityError(
                f"The dopants' relaxations do not add up in this cell: it would still relax by "
                f"{extra:.4f} A beyond them (the embedding engine is validated up to "
                f"{limit} A, EmbeddingSettings.max_extra_relaxation), and their force-constant "
                "patches would not add either; use the direct engine for this configuration "
                "(engine='auto' hands it over) or a larger cell (lower concentration)."
            )

    def _check_separation(self, structure: Structure, sites: NDArray) -> None:
        if len(sites) < 2:
            return
        frac = structure.frac_coords[sites]
        lattice = structure.lattice.matrix
        for a in range(len(sites)):
            d = np.linalg.norm(_min_image(frac[a + 1 :] - frac[a], lattice), axis=1)
            if d.size and d.min() < self.settings.min_separation:
                raise SeparationError(
                    f"Two dopants are {d.min():.2f} A apart, closer than the embedding engine's "
                    f"validated separation ({self.settings.min_separation} A); use the direct "
                    "engine for this configuration (engine='auto' hands it over)."
                )

    def modes(self, doped: DopedSupercell, patches: bool | None = None) -> tuple[Structure, Any]:
        """Element-resolved modes of the embedded supercell.

        The same q-point density as the direct engine (phonopy length ``mesh_length``;
        Gamma only for cells longer than it), so both engines are comparable.
        """
        if self.is_sparse(doped):
            structure, fc, masses = self.sparse_force_constants(doped, patches)
            return structure, self._lanczos(structure, fc, masses)
        structure, fc, _ = self.force_constants(doped, patches)
        modes = modes_from_force_constants(
            structure, fc, np.eye(3, dtype=int), self.settings.mesh_length
        )
        return structure, modes

    def is_sparse(self, doped: DopedSupercell) -> bool:
        """Whether the cell is beyond ``max_dense_atoms`` (sparse force constants, Lanczos)."""
        return doped.num_sites > self.settings.max_dense_atoms

    def _lanczos(self, structure: Structure, fc: Any, masses: NDArray) -> Any:
        from defectnet_atomate.phonons.lanczos import dynamical_matrix, lanczos_modes

        return lanczos_modes(
            dynamical_matrix(fc, masses),
            [site.specie.symbol for site in structure],
            self.settings.lanczos_vectors,
            self.settings.lanczos_steps,
            self.settings.lanczos_seed,
        )

    def run_supercell(
        self, doped: DopedSupercell, host_id: str | None = None, **doc_kwargs: Any
    ) -> DefectPhononDoc:
        """Document of a doped supercell (``doped.host`` relaxed with this potential)."""
        t0 = time.perf_counter()
        computed = self.stats["patches_computed"]
        structure, modes = self.modes(doped)
        seconds = time.perf_counter() - t0
        pristine = self.pristine_modes(doped.host)
        if self.is_sparse(doped):  # the same estimator and random vectors as the doped cell
            undoped, fc, masses = self.sparse_force_constants(
                None, host=doped.host, supercell_matrix=doped.supercell_matrix
            )
            cell_reference = self._lanczos(undoped, fc, masses)
        else:
            cell_reference = self.cell_reference(doped.host, doped.supercell_matrix, modes.qpoints)
        return DefectPhononDoc.from_results(
            doped,
            structure,
            modes,
            self.calculator_info,
            self.settings.phonon_settings(),
            pristine_modes=pristine,
            cell_pristine_modes=cell_reference,
            host_id=host_id,
            timings={
                "total": seconds,
                "patches_computed": float(self.stats["patches_computed"] - computed),
            },
            **doc_kwargs,
        )

    def cell_reference(self, host: Structure, supercell_matrix: Any, qpoints: Any = None) -> Any:
        """Modes of the undoped ``supercell_matrix @ host`` at the doped cell's q-points.

        Exactly the doped cell's sampling (:func:`cell_reference_modes`): with Gamma only
        the host's own force constants give it; with a mesh, the force constants carried
        to the supercell (as the doped cell's are).
        """
        host_info = self.host_data(host)
        if qpoints is None or not np.any(np.asarray(qpoints, float)):
            return cell_reference_modes(
                host,
                host_info["fc"],
                host_info["matrix"],
                supercell_matrix,
                qpoints,
                phonon=host_info["phonon"],
            )
        fc = self.host_force_constants(host, supercell_matrix)[1]
        return cell_reference_modes(host, fc, supercell_matrix, supercell_matrix, qpoints)

    def pristine_modes(self, host: Structure) -> Any:
        """Modes of the pristine host from its force constants (cached with them)."""
        info = self.host_data(host)
        if "pristine_modes" not in info:
            info["pristine_modes"] = modes_from_force_constants(
                host, info["fc"], info["matrix"], self.settings.mesh_length
            )
        return info["pristine_modes"]

    def host_imaginary_fraction(self, host: Structure) -> float:
        """Share of the pristine host's modes below ``-IMAGINARY_TOLERANCE_THZ``."""
        return check_host_modes(self.pristine_modes(host), None, host, self.force_field, "")

    def check_host(self, host: Structure) -> None:
        """Raise :class:`UnstableHostError` for a host outside ``max_host_imaginary``.

        ``host`` is the host as the engine uses it (relaxed with this potential).
        """
        check_host_modes(
            self.pristine_modes(host),
            self.settings.max_host_imaginary,
            host,
            self.force_field,
            "Use another potential or the direct engine (which relaxes each doped cell), or "
            "pass EmbeddingSettings(max_host_imaginary=None) to embed anyway.",
        )

    def run(
        self,
        host: Structure,
        dopings: Any,
        seed: int = 0,
        host_id: str | None = None,
        max_tries: int = 50,
        **supercell_kwargs: Any,
    ) -> DefectPhononDoc:
        """Relax the host (cell and positions), dope a supercell of it, embed, document.

        Dopant sites are drawn with ``seed``; a draw that puts two dopants closer than
        ``min_separation``, or whose dopants' relaxations interact beyond
        ``max_extra_relaxation``, is redrawn (seed + 1000 k, at most ``max_tries`` times), so
        the configurations of this engine have no close or interacting dopant pairs
        (recorded in the document). In cells larger than the patch cell the placement
        decides how much the dopants interact (C and Sn at 0.2 at.% each in 456-atom Si: 3-16
        mA over ten placements); in the patch cell itself every placement interacts alike.
        A supercell too small for the whole-cell patches (``PatchRangeError``) is replaced by
        the next larger one that realises the same concentrations, within ``max_atoms``.
        """
        from defectnet_atomate.doping import DopingError, make_doped_supercell

        key = self._host_key(host)
        relaxed = self._relaxed_hosts.get(key)
        if relaxed is None:
            s = self.settings
            relaxed = relax_structure(host, self.calculator, True, s.fmax, s.max_steps)[0]
            self._relaxed_hosts[key] = relaxed
        self.check_host(relaxed)
        last: SeparationError | None = None
        kwargs = dict(supercell_kwargs)
        for k in range(max_tries):
            try:
                doped = make_doped_supercell(relaxed, dopings, seed=seed + 1000 * k, **kwargs)
            except DopingError as exc:
                if last is None or "min_atoms" not in kwargs:
                    raise
                raise PatchRangeError(
                    f"{last} No larger supercell within max_atoms realises this request ({exc})."
                ) from exc
            try:
                return self.run_supercell(doped, host_id=host_id)
            except PatchRangeError as exc:
                if "supercell_matrix" in supercell_kwargs:
                    raise  # the cell is fixed: no placement changes that
                # the next larger cell that realises the same concentrations (with more
                # dopant atoms) and may hold the patches
                kwargs["min_atoms"] = doped.num_sites + 1
                last = exc
            except SeparationError as exc:  # too close, or interacting: another placement
                last = exc
        error = (
            type(last) if isinstance(last, AdditivityError | PatchRangeError) else SeparationError
        )
        raise error(
            f"No placement of {len(dopings)} dopant species with every pair at least "
            f"{self.settings.min_separation} A apart and relaxations that add up in "
            f"{max_tries} draws: {last}"
        )

    def as_dict(self) -> dict:
        """Serialise the engine's settings."""
        return {
            "force_field": self.force_field,
            "settings": asdict(self.settings),
            "cache_dir": self.cache_dir,
        }


def _check_reach(patch: DopantPatch, rows: NDArray, n_sites: int) -> None:
    """Refuse a patch whose atoms fall onto fewer sites of the target cell than it has.

    A patch of cutoff R needs the sphere of radius R to fit the cell (its entries beyond R,
    small side effects of the symmetrisation, are not checked); a whole-cell patch needs
    all of its atoms to fit.
    """
    vectors = np.round(np.asarray(patch.vec_i, float), 3)
    inside = np.ones(len(vectors), bool)
    if patch.cutoff is not None:
        inside = np.linalg.norm(vectors, axis=1) <= patch.cutoff + 1e-3
    vectors = np.unique(vectors[inside], axis=0)
    mapped = np.unique(rows[inside & (rows >= 0)])
    if len(mapped) < len(vectors):
        reach = float(np.linalg.norm(vectors, axis=1).max())
        raise PatchRangeError(
            f"The {patch.element} patch reaches {reach:.1f} A from the dopant "
            f"({len(vectors)} atoms), farther than this supercell of {n_sites} atoms holds "
            "without wrapping onto itself; use a supercell at least as large as the patch "
            "cell (EmbeddingSettings.patch_atoms), a patch cutoff below half its width, or "
            "the direct engine (engine='auto' hands the configuration over)."
        )


def _relaxation_field(rel: NDArray, moved: NDArray) -> tuple[NDArray, NDArray]:
    """Vectors from the dopant to the atoms that moved (by more than 0.1 mA), their moves."""
    shifted = np.nonzero(np.linalg.norm(moved, axis=1) > 1e-4)[0]
    return rel[shifted].round(5), moved[shifted].round(5)


def _dense_matrix(fc: NDArray) -> NDArray:
    """``(N, N, 3, 3)`` force constants as a ``3N x 3N`` matrix."""
    n = fc.shape[0]
    return np.asarray(fc).transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)


def _structure_forces(structure: Structure, calculator: Calculator) -> NDArray:
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = forces_calculator(calculator)
    return np.asarray(atoms.get_forces(), dtype=float)


def _move_around(
    structure: Structure, tree: cKDTree, centre: NDArray, vec: NDArray, disp: NDArray
) -> None:
    """Move the atoms at ``centre + vec`` by ``disp`` (a dopant's relaxation), in place."""
    atoms = site_images(tree, structure.lattice.matrix, centre + np.asarray(vec).reshape(-1, 3))
    for atom, u in zip(atoms, np.asarray(disp).reshape(-1, 3), strict=True):
        if atom >= 0:
            structure.translate_sites([int(atom)], u, frac_coords=False)
