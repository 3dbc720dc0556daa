"""Sampling doping requests over a host library, for training sets.

The rules (fixed by ``seed``, so a campaign can be rerun exactly):

- candidate dopants of a host: pymatgen's recommender (substitution probabilities,
  Shannon radii or periodic-table neighbours, see
  :func:`~defectnet_atomate.doping.recommend_dopants`) plus main-group periodic-table
  neighbours of its elements, so that the model does not merely learn the recommender;
- 1 to ``max_species`` dopant elements per supercell, uniformly;
- each concentration log-uniform in ``[min_percent, max_percent]`` at.% of all atoms,
  redrawn until the dopants of a sublattice fit in at most ``max_sublattice_fraction`` of it
  and the request fits in ``max_atoms``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from defectnet_atomate.batch import DopingTask
from defectnet_atomate.doping import (
    Doping,
    DopingError,
    _periodic_table_neighbours,
    make_doped_supercell,
    recommend_dopants,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from defectnet_atomate.hosts import HostEntry

__all__ = ["candidate_dopants", "sample_tasks"]


def candidate_dopants(entry: HostEntry, num_dopants: int = 5) -> list[tuple[str, str]]:
    """(dopant, replaced species) pairs for a host: recommender plus periodic-table neighbours."""
    pairs = [(s.element, s.replaces) for s in recommend_dopants(entry.structure, num_dopants)]
    pairs += [(s.element, s.replaces) for s in _periodic_table_neighbours(entry.structure)]
    return list(dict.fromkeys(pairs))


def sample_tasks(
    hosts: Iterable[HostEntry],
    per_host: int = 4,
    seed: int = 0,
    max_species: int = 6,
    min_percent: float = 2.0,
    max_percent: float = 25.0,
    max_atoms: int = 96,
    max_sublattice_fraction: float = 0.5,
    tries: int = 20,
) -> Iterator[DopingTask]:
    """Yield reproducible random doping requests for each host.

    Parameters
    ----------
    hosts
        Host library entries.
    per_host
        Requests per host.
    seed
        Seed of the whole campaign (each host and request derive their own).
    max_species
        Most dopant elements per supercell.
    min_percent, max_percent
        Range of the log-uniform concentration draw, at.% of all atoms.
    max_atoms
        Largest supercell; requests that need more are redrawn.
    max_sublattice_fraction
        Largest fraction of a sublattice that dopants may occupy.
    tries
        Redraws per request before giving up on it.
    """
    for h, entry in enumerate(hosts):
        rng = np.random.default_rng([seed, h])
        try:
            pool = candidate_dopants(entry)
        except (ValueError, KeyError, TypeError):
            continue
        if not pool:
            continue
        counts = entry.structure.composition.get_el_amt_dict()
        n_host = len(entry.structure)
        for r in range(per_host):
            for _ in range(tries):
                k = int(rng.integers(1, min(max_species, len(pool)) + 1))
                chosen = [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]
                if len({el for el, _ in chosen}) < k:
                    continue
                log_c = rng.uniform(math.log(min_percent), math.log(max_percent), size=k)
                dopings = [
                    Doping(el, rep, float(np.round(np.exp(c), 3)))
                    for (el, rep), c in zip(chosen, log_c, strict=True)
                ]
                fits = all(
                    sum(d.atomic_percent for d in dopings if d.replaces == sp)
                    <= max_sublattice_fraction * 100 * counts[sp] / n_host
                    for sp in {d.replaces for d in dopings}
                )
                if not fits:
                    continue
                try:
                    make_doped_supercell(entry.structure, dopings, max_atoms=max_atoms)
                except DopingError:
                    continue
                yield DopingTask(entry.structure, dopings, seed=1000 * h + r, host_id=entry.host_id)
                break
