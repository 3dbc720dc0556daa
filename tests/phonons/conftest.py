"""Fixtures of the phonon tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from pymatgen.core import Structure


def _nearest_neighbour_fc(structure: Structure, k: float = 5.0) -> np.ndarray:
    """A real, simple harmonic model: springs between nearest neighbours (eV/A^2)."""
    n = len(structure)
    fc = np.zeros((n, n, 3, 3))
    for i, neighbours in enumerate(structure.get_all_neighbors(2.5)):
        for nb in neighbours:
            d = nb.coords - structure[i].coords
            block = -k * np.outer(d, d) / d.dot(d)
            fc[i, nb.index] += block
            fc[i, i] -= block
    return fc


@pytest.fixture(scope="session")
def spring_fc() -> Callable[..., np.ndarray]:
    """Force constants of nearest-neighbour springs (within 2.5 A) for any structure."""
    return _nearest_neighbour_fc
