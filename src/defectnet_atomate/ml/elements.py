"""Chemistry-aware element descriptors (H to Pu), from pymatgen's element data.

Each element is described by its atomic mass, group, period, atomic radius, Pauling
electronegativity, average ionic radius and block, so that an element seen rarely (or
never) in training still gets a sensible embedding from its neighbours in the table.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
from pymatgen.core import Element

__all__ = [
    "MAX_Z",
    "N_FEATURES",
    "element_features",
    "element_index",
    "element_masses",
    "validate_element",
]

MAX_Z = 94
"""Elements H (1) to Pu (94) are supported: every element CHGNet was trained on."""

_BLOCKS = ("s", "p", "d", "f")
N_FEATURES = 6 + len(_BLOCKS)


def validate_element(symbol: object) -> str:
    """Return a supported element symbol, or raise a ``ValueError`` that names the fix."""
    if isinstance(symbol, Element):
        symbol = symbol.symbol
    if not isinstance(symbol, str):
        raise ValueError(f"Candidate elements must be symbols such as 'Ge', got {symbol!r}.")
    try:
        element = Element(symbol.strip())
    except ValueError:
        raise ValueError(
            f"Unknown element {symbol!r}; give candidates as symbols such as 'Ge' or 'Sn'."
        ) from None
    if element.Z > MAX_Z:
        raise ValueError(f"{element.symbol} (Z={element.Z}) is beyond Pu; the model covers H-Pu.")
    return element.symbol


def element_index(symbol: str) -> int:
    """Row of ``symbol`` in :func:`element_features` (Z - 1)."""
    return Element(symbol).Z - 1


@cache
def element_features() -> np.ndarray:
    """Standardised descriptors of H..Pu, shape ``(MAX_Z, N_FEATURES)`` (row Z-1)."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for z in range(1, MAX_Z + 1):
            el = Element.from_Z(z)
            radius = el.atomic_radius or el.atomic_radius_calculated or el.van_der_waals_radius
            chi = el.X if el.X == el.X else 0.0  # noble gases have no Pauling value
            ionic = float(el.average_ionic_radius) or float(radius)
            block = [float(el.block == b) for b in _BLOCKS]
            rows.append(
                [
                    np.log(float(el.atomic_mass)),
                    float(el.group),
                    float(el.row),
                    float(radius),
                    float(chi),
                    ionic,
                    *block,
                ]
            )
    table = np.asarray(rows, dtype=np.float32)
    continuous = table[:, :6]
    table[:, :6] = (continuous - continuous.mean(0)) / continuous.std(0)
    return table


@cache
def element_masses() -> np.ndarray:
    """Atomic masses (amu) of H..Pu, shape ``(MAX_Z,)`` (row Z-1)."""
    return np.array([float(Element.from_Z(z).atomic_mass) for z in range(1, MAX_Z + 1)])
