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
    "Spectrum",
    "SpectrumError",
    "as_spectrum",
    "broaden_modes",
    "check_against_host",
    "frequency_grid",
    "read_spectrum_file",
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


# --------------------------------------------------------------------------- input spectra


class SpectrumError(ValueError):
    """A spectrum that cannot be used; the message names the problem and the fix."""


class Spectrum:
    """A validated vibrational spectrum: frequencies in THz (strictly increasing), densities >= 0.

    Parameters
    ----------
    frequencies
        Frequency grid in ``unit``.
    densities
        Densities (any normalisation; the model normalises area itself).
    unit
        ``"THz"``, ``"meV"`` or ``"cm-1"``; frequencies are stored in THz.
    source
        What the spectrum came from (used in error messages).
    errors
        Optional one-sigma error bars of the densities.
    """

    def __init__(
        self,
        frequencies: ArrayLike,
        densities: ArrayLike,
        unit: str = "THz",
        source: str = "spectrum",
        errors: ArrayLike | None = None,
    ) -> None:
        freqs = np.asarray(frequencies, dtype=float).ravel()
        dens = np.asarray(densities, dtype=float).ravel()
        if freqs.size == 0 or dens.size == 0:
            raise SpectrumError(f"The {source} is empty; give at least a few frequency points.")
        if freqs.size != dens.size:
            raise SpectrumError(
                f"The {source} has {freqs.size} frequencies but {dens.size} densities; give one "
                "density per frequency."
            )
        if freqs.size < 5:
            raise SpectrumError(f"The {source} has only {freqs.size} points; give at least 5.")
        if not np.isfinite(freqs).all() or not np.isfinite(dens).all():
            raise SpectrumError(
                f"The {source} contains NaN or infinite values; remove or interpolate them first."
            )
        steps = np.diff(freqs)
        if (steps == 0).any():
            raise SpectrumError(
                f"The {source} repeats frequency {freqs[1:][steps == 0][0]:g} {unit}; each "
                "frequency must appear once (average duplicates first)."
            )
        if (steps < 0).any():
            raise SpectrumError(
                f"The {source} frequencies are not sorted; sort both columns by frequency first."
            )
        scale = np.abs(dens).max()
        if scale == 0:
            raise SpectrumError(f"The {source} is zero everywhere; nothing to analyse.")
        if (dens < -1e-3 * scale).any():
            raise SpectrumError(
                f"The {source} has negative densities (down to {dens.min():.3g}); a DOS cannot be "
                "negative: subtract the background with care or clip noise at zero first."
            )
        self.frequencies = to_thz(freqs, unit)
        self.densities = np.clip(dens, 0, None)
        self.errors = None if errors is None else np.asarray(errors, dtype=float).ravel()
        self.source = source

    def quantile_frequency(self, q: float = 0.999) -> float:
        """Frequency (THz) below which a fraction ``q`` of the positive-frequency area lies."""
        f, d = self.frequencies, self.densities * (self.frequencies > 0)
        cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(f))])
        if cumulative[-1] <= 0:
            raise SpectrumError(f"The {self.source} has no weight at positive frequencies.")
        return float(np.interp(q * cumulative[-1], cumulative, f))

    def __repr__(self) -> str:
        return (
            f"Spectrum({self.source}: {self.frequencies.size} points, "
            f"{self.frequencies[0]:.3g}-{self.frequencies[-1]:.3g} THz)"
        )


def check_against_host(spectrum: Spectrum, host: Spectrum, unit: str = "THz") -> None:
    """Refuse a spectrum whose frequency range does not fit its host's.

    Compares the median frequency of the spectrum's area with the host's (dopants move the
    median little, even light ones whose local modes lie far above the host's bands). A
    spectrum whose median lies about 4.1 or 33 times higher was most likely given in meV or
    cm-1 but declared as THz (or the reverse); one far from the host's belongs to another
    material.
    """
    host_median = host.quantile_frequency(0.5)
    ratio = spectrum.quantile_frequency(0.5) / host_median
    if 1 / 3 <= ratio <= 3.0:  # heavy doping moves the median by up to about 2.5x
        return
    for name, factor in UNIT_TO_THZ.items():
        if name == unit:
            continue
        rescaled = ratio * factor / UNIT_TO_THZ[unit]
        if 0.75 <= rescaled <= 1.33:
            raise SpectrumError(
                f"The {spectrum.source}'s median frequency is {ratio:.2g} times its host's "
                f"({host_median:.3g} THz) when read as {unit}; its values look like {name}: "
                f"pass unit={name!r}."
            )
    raise SpectrumError(
        f"The {spectrum.source}'s median frequency is {ratio:.2g} times its host's "
        f"({host_median:.3g} THz); it does not look like a spectrum of this host. Check the "
        "host, the unit and the frequency column."
    )


def read_spectrum_file(path: str, unit: str | None = None) -> Spectrum:
    """Read a spectrum from a CSV/whitespace table or a JSON file.

    Tables: columns frequency, density[, error]; lines starting with ``#`` are comments; a
    header line may name the unit (``meV``, ``THz``, ``cm-1``). JSON: ``{"frequencies": [...],
    "densities": [...], "unit": "meV"}`` or a serialised pymatgen ``PhononDos``.
    """
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise SpectrumError(f"Spectrum file {file} does not exist.")
    text = file.read_text(errors="replace")
    if file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        import json

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpectrumError(
                f"{file} is not valid JSON ({exc.msg}, line {exc.lineno})."
            ) from None
        if "@class" in data:
            from monty.json import MontyDecoder

            return as_spectrum(MontyDecoder().process_decoded(data))
        try:
            freqs, dens = data["frequencies"], data["densities"]
        except KeyError as exc:
            raise SpectrumError(
                f"{file} lacks the key {exc.args[0]!r}; write {{'frequencies': [...], "
                "'densities': [...], 'unit': 'THz'}."
            ) from None
        return Spectrum(freqs, dens, unit or data.get("unit", "THz"), source=str(file))
    rows, header_unit = [], None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(("#", "%", "!")) or not (
            stripped[0].isdigit() or stripped[0] in "+-."
        ):
            lowered = stripped.lower()
            for name in ("mev", "thz", "cm-1", "cm^-1", "1/cm"):
                if name in lowered:
                    header_unit = {"mev": "meV", "thz": "THz"}.get(name, "cm-1")
                    break
            if rows:
                raise SpectrumError(
                    f"{file}, line {number}: text after the data starts: {stripped!r}."
                )
            continue
        try:
            values = [float(x) for x in stripped.replace(",", " ").replace(";", " ").split()]
        except ValueError:
            raise SpectrumError(
                f"{file}, line {number}: cannot read numbers from {stripped!r}; expected columns "
                "frequency, density[, error]."
            ) from None
        if len(values) < 2:
            raise SpectrumError(
                f"{file}, line {number}: needs at least two columns (frequency, density)."
            )
        rows.append(values[:3])
    if not rows:
        raise SpectrumError(
            f"{file} holds no numeric rows; expected columns frequency, density[, error]."
        )
    if len({len(r) for r in rows}) != 1:
        raise SpectrumError(f"{file}: rows have different numbers of columns.")
    table = np.asarray(rows)
    if unit is None and header_unit is None:
        raise SpectrumError(
            f"{file} does not say its frequency unit; pass unit='THz', 'meV' or 'cm-1'."
        )
    return Spectrum(
        table[:, 0],
        table[:, 1],
        unit or header_unit,
        source=str(file),
        errors=table[:, 2] if table.shape[1] > 2 else None,
    )


def as_spectrum(obj: object, unit: str | None = None) -> Spectrum:
    """Turn any supported spectrum object into a :class:`Spectrum` (THz).

    Accepts a pymatgen ``PhononDos``/``CompletePhononDos``, a ``DefectPhononDoc`` (or its
    dict), an atomate2 ``PhononBSDOSDoc`` (either schema), a ``(frequencies, densities)``
    pair with ``unit``, a :class:`Spectrum`, or a path to a CSV/JSON file.
    """
    from pathlib import Path

    if isinstance(obj, Spectrum):
        return obj
    if isinstance(obj, str | Path):
        return read_spectrum_file(str(obj), unit)
    if isinstance(obj, tuple | list) and len(obj) == 2:
        if unit is None:
            raise SpectrumError(
                "A (frequencies, densities) pair needs its unit: pass unit='THz', 'meV' or 'cm-1'."
            )
        return Spectrum(obj[0], obj[1], unit, source="(frequencies, densities) pair")
    name = type(obj).__name__
    if hasattr(obj, "frequencies") and hasattr(obj, "densities"):  # pymatgen PhononDos family
        return Spectrum(obj.frequencies, obj.densities, "THz", source=f"pymatgen {name}")
    if isinstance(obj, dict) and "pdos" in obj and "config_id" in obj:
        pdos = obj["pdos"]
        return Spectrum(pdos["frequencies"], pdos["total"], "THz", source="DefectPhononDoc")
    if hasattr(obj, "pdos") and hasattr(obj, "config_id"):
        return Spectrum(obj.pdos.frequencies, obj.pdos.total, "THz", source="DefectPhononDoc")
    dos = getattr(obj, "phonon_dos", None)
    if dos is None and isinstance(obj, dict):
        dos = obj.get("phonon_dos")
    if dos is not None:  # atomate2 / emmet PhononBSDOSDoc
        if isinstance(dos, dict):
            return Spectrum(dos["frequencies"], dos["densities"], "THz", source="PhononBSDOSDoc")
        return Spectrum(dos.frequencies, dos.densities, "THz", source="PhononBSDOSDoc")
    raise SpectrumError(
        f"Cannot read a spectrum from {name}; pass a pymatgen PhononDos, a DefectPhononDoc, an "
        "atomate2 PhononBSDOSDoc, a (frequencies, densities) pair with unit=..., or a file path."
    )
