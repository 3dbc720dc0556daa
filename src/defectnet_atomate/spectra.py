"""Phonon densities of states: the one definition of grid, broadening and normalisation.

Every spectrum the package writes uses the same conventions:

- frequencies in THz on a uniform grid of step :data:`GRID_STEP_THZ` that starts at or
  below zero (imaginary modes appear as negative frequencies);
- Gaussian broadening of standard deviation :data:`SIGMA_THZ` (unless set otherwise);
- densities in states per THz **per atom of the cell**: the total DOS integrates to 3,
  and the element-projected DOS of element X integrates to ``3 * n_X / n_atoms``, so that
  the projected DOS sum to the total.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GRID_STEP_THZ",
    "IMAGINARY_TOLERANCE_THZ",
    "SIGMA_THZ",
    "UNIT_TO_THZ",
    "broaden_modes",
    "frequency_grid",
    "spectral_overlap",
    "to_thz",
]

GRID_STEP_THZ = 0.05
"""Spacing of the frequency grid, THz."""
SIGMA_THZ = 0.1
"""Default Gaussian broadening (standard deviation), THz."""
IMAGINARY_TOLERANCE_THZ = 0.1
"""Modes below ``-IMAGINARY_TOLERANCE_THZ`` count as imaginary."""

UNIT_TO_THZ = {"THz": 1.0, "meV": 1 / 4.135667696, "cm-1": 1 / 33.35640951981521}
"""Factor that turns a frequency in the key's unit into THz."""


def to_thz(values: ArrayLike, unit: str) -> NDArray[np.float64]:
    """Convert frequencies from ``unit`` (``"THz"``, ``"meV"`` or ``"cm-1"``) to THz."""
    try:
        factor = UNIT_TO_THZ[unit]
    except KeyError:
        raise ValueError(
            f"Unknown frequency unit {unit!r}; use one of {sorted(UNIT_TO_THZ)}."
        ) from None
    return np.asarray(values, dtype=float) * factor


def frequency_grid(
    f_min: float, f_max: float, step: float = GRID_STEP_THZ, sigma: float = SIGMA_THZ
) -> NDArray[np.float64]:
    """Return the standard grid (THz) that holds modes from ``f_min`` to ``f_max``.

    The grid is a multiple of ``step``, starts at ``min(0, f_min - 5 sigma)`` and ends at
    ``f_max + 5 sigma``, so broadened modes lose no weight at the edges.
    """
    start = step * np.floor(min(0.0, f_min - 5 * sigma) / step)
    stop = step * np.ceil((f_max + 5 * sigma) / step)
    n = round((stop - start) / step) + 1
    return start + step * np.arange(n)


def broaden_modes(
    frequencies: ArrayLike,
    weights: ArrayLike,
    grid: NDArray[np.float64],
    sigma: float = SIGMA_THZ,
) -> NDArray[np.float64]:
    """Spread weighted modes on a uniform grid with a normalised Gaussian.

    Each mode's weight is split linearly between its two neighbouring grid points and the
    result is convolved with a Gaussian, which keeps the integral exact on the grid.

    Parameters
    ----------
    frequencies
        Mode frequencies, THz, shape ``(n_modes,)``.
    weights
        Weight of each mode in each channel, shape ``(n_modes, n_channels)`` or
        ``(n_modes,)``.
    grid
        Uniform frequency grid, THz.
    sigma
        Gaussian standard deviation, THz.

    Returns
    -------
    numpy.ndarray
        Densities (weight per THz) of shape ``(n_channels, len(grid))`` or ``(len(grid),)``.
    """
    freqs = np.asarray(frequencies, dtype=float).ravel()
    w = np.asarray(weights, dtype=float)
    squeeze = w.ndim == 1
    w = w.reshape(len(freqs), -1)
    step = grid[1] - grid[0]
    position = (freqs - grid[0]) / step
    if position.min() < 0 or position.max() > len(grid) - 1:
        raise ValueError("Modes fall outside the frequency grid; build it with frequency_grid().")
    lower = np.minimum(np.floor(position).astype(int), len(grid) - 2)
    frac = position - lower
    binned = np.zeros((w.shape[1], len(grid)))
    for c in range(w.shape[1]):
        binned[c] = np.bincount(lower, w[:, c] * (1 - frac), minlength=len(grid))[: len(grid)]
        binned[c] += np.bincount(lower + 1, w[:, c] * frac, minlength=len(grid))[: len(grid)]
    half = int(np.ceil(5 * sigma / step))
    x = step * np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum() * step
    out = np.stack([np.convolve(row, kernel, mode="same") for row in binned])
    return out[0] if squeeze else out


def spectral_overlap(
    grid_a: ArrayLike, dos_a: ArrayLike, grid_b: ArrayLike, dos_b: ArrayLike
) -> float:
    """Overlap of two spectra: 1 - half the L1 distance of their unit-area versions.

    Both are interpolated on a common uniform grid; 1 means identical shapes, 0 disjoint.
    """
    ga, gb = np.asarray(grid_a, float), np.asarray(grid_b, float)
    lo, hi = min(ga[0], gb[0]), max(ga[-1], gb[-1])
    step = min(np.diff(ga).min(), np.diff(gb).min())
    grid = np.arange(lo, hi + step / 2, step)
    a = np.interp(grid, ga, np.asarray(dos_a, float), left=0, right=0)
    b = np.interp(grid, gb, np.asarray(dos_b, float), left=0, right=0)
    a /= np.trapezoid(a, grid)
    b /= np.trapezoid(b, grid)
    return float(1 - 0.5 * np.trapezoid(np.abs(a - b), grid))
