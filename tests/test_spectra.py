from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.spectra import (
    broaden_modes,
    frequency_grid,
    spectral_overlap,
    to_thz,
)


def test_unit_conversion():
    assert to_thz([4.135667696], "meV")[0] == pytest.approx(1.0)
    assert to_thz([33.35640951981521], "cm-1")[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="Unknown frequency unit"):
        to_thz([1.0], "eV")


def test_grid_starts_at_or_below_zero_and_holds_the_modes():
    grid = frequency_grid(2.0, 15.3)
    assert grid[0] <= 0 and grid[-1] >= 15.3 + 0.5
    assert np.allclose(np.diff(grid), 0.05)
    grid = frequency_grid(-2.0, 5.0, sigma=0.1)
    assert grid[0] <= -2.5


def test_broadening_keeps_weight_and_position():
    rng = np.random.default_rng(0)
    freqs = rng.uniform(0.5, 10, size=300)
    weights = rng.uniform(0, 1, size=(300, 2))
    grid = frequency_grid(freqs.min(), freqs.max())
    dos = broaden_modes(freqs, weights, grid, sigma=0.1)
    assert np.trapezoid(dos, grid, axis=1) == pytest.approx(weights.sum(axis=0), rel=1e-6)
    single = broaden_modes([3.02], [1.0], grid, sigma=0.2)
    mean = np.trapezoid(grid * single, grid)
    width = np.sqrt(np.trapezoid((grid - mean) ** 2 * single, grid))
    assert mean == pytest.approx(3.02, abs=1e-6)
    assert width == pytest.approx(0.2, rel=0.03)


def test_broadening_refuses_modes_off_grid():
    with pytest.raises(ValueError, match="outside the frequency grid"):
        broaden_modes([20.0], [1.0], frequency_grid(0, 5))


def test_overlap():
    grid = frequency_grid(0, 10)
    a = broaden_modes([3.0, 6.0], [1.0, 1.0], grid, 0.2)
    assert spectral_overlap(grid, a, grid, 2 * a) == pytest.approx(1.0)
    b = broaden_modes([8.0], [1.0], grid, 0.2)
    assert spectral_overlap(grid, a, grid, b) == pytest.approx(0.0, abs=1e-6)
    c = broaden_modes([3.0, 8.0], [1.0, 1.0], grid, 0.2)
    assert spectral_overlap(grid, a, grid, c) == pytest.approx(0.5, abs=1e-6)
