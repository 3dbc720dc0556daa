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

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GRID_STEP_THZ",
    "IMAGINARY_TOLERANCE_THZ",
    "SIGMA_THZ",
    "UNIT_ALIASES",
    "UNIT_TO_THZ",
    "Spectrum",
    "SpectrumError",
    "as_spectrum",
    "broaden_modes",
    "check_against_host",
    "frequency_grid",
    "projected_spectra",
    "read_spectrum_file",
    "sampling_corrected",
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


def projected_spectra(pdos: Mapping[str, Any]) -> dict[str, Spectrum] | None:
    """Element -> :class:`Spectrum` of a DOS dict's ``projected`` part (``None`` if absent).

    ``pdos`` is a stored DOS (``frequencies`` in THz, ``projected``: element -> densities),
    e.g. a document's ``pristine_pdos``.
    """
    if not pdos.get("projected"):
        return None
    return {
        el: Spectrum(pdos["frequencies"], values, "THz", source=f"{el}-projected DOS")
        for el, values in pdos["projected"].items()
    }


def sampling_corrected(doped: Any, cell_reference: Any, reference: Any) -> dict[str, Any]:
    """Remove the q-sampling difference between a doped supercell and its reference.

    A supercell's spectrum samples the host's phonons at the q-points that fold onto the
    cell's q-points; a converged pristine reference samples them on a fine mesh. For a
    dilute dopant the sampling difference is far larger than the dopant's effect (for
    0.2 at.% Ge in a 456-atom Si cell, 0.20 against 0.004 in half the L1 distance of
    unit-area spectra; ``docs/concepts.md``). The corrected spectrum is

        ``reference + (doped - cell_reference)``,

    the converged reference plus the dopants' effect at fixed sampling: what a bulk sample
    with these dopants would show, to first order. Where it comes out negative (a mode the
    dopants moved away from a frequency the reference hardly samples) it is set to zero.

    Parameters
    ----------
    doped, cell_reference, reference
        DOS (``PhononDosData`` or dicts with ``frequencies``, ``total`` and optionally
        ``projected``) of the doped cell, the undoped cell at the same q-points
        (``DefectPhononDoc.cell_pristine_pdos``) and the converged pristine host.

    Returns
    -------
    dict
        ``frequencies``, ``total`` and, where all three have them, ``projected``, on the
        doped spectrum's grid extended to cover the reference.
    """

    def get(dos: Any, key: str) -> Any:
        return dos.get(key) if isinstance(dos, dict) else getattr(dos, key, None)

    f_doped = np.asarray(get(doped, "frequencies"), float)
    f_cell = np.asarray(get(cell_reference, "frequencies"), float)
    f_ref = np.asarray(get(reference, "frequencies"), float)
    step = float(np.median(np.diff(f_doped)))
    lo, hi = min(f_doped[0], f_ref[0], f_cell[0]), max(f_doped[-1], f_ref[-1], f_cell[-1])
    grid = f_doped[0] + step * np.arange(
        np.floor((lo - f_doped[0]) / step), np.ceil((hi - f_doped[0]) / step) + 1
    )

    def on_grid(f: NDArray, y: Any) -> NDArray:
        return np.interp(grid, f, np.asarray(y, float), left=0.0, right=0.0)

    def corrected(a: Any, b: Any, c: Any) -> list[float]:
        return np.clip(
            on_grid(f_doped, a) + on_grid(f_ref, c) - on_grid(f_cell, b), 0, None
        ).tolist()

    out: dict[str, Any] = {
        "frequencies": np.round(grid, 6).tolist(),
        "total": corrected(
            get(doped, "total"), get(cell_reference, "total"), get(reference, "total")
        ),
    }
    projections = [get(x, "projected") or {} for x in (doped, cell_reference, reference)]
    if all(projections):
        out["projected"] = {
            el: corrected(
                projections[0][el],
                projections[1].get(el, np.zeros_like(f_cell)),
                projections[2].get(el, np.zeros_like(f_ref)),
            )
            for el in projections[0]
        }
    return out


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
        Optional one-sigma error bars of the densities (same length, finite, >= 0), in the
        densities' units; kept as given.
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
        errs = None if errors is None else np.asarray(errors, dtype=float).ravel()
        if errs is not None:
            if errs.size != freqs.size:
                raise SpectrumError(
                    f"The {source} has {errs.size} error bars for {freqs.size} points; give one "
                    "error per density (or none)."
                )
            if not np.isfinite(errs).all():
                raise SpectrumError(
                    f"The {source}'s error bars contain NaN or infinite values; replace them "
                    "(e.g. by the largest finite error) or drop the error column."
                )
            if (errs < 0).any():
                raise SpectrumError(
                    f"The {source} has negative error bars (down to {errs.min():.3g}); errors "
                    "are one-sigma widths, >= 0: check the error column."
                )
        self.frequencies = to_thz(freqs, unit)
        self.densities = np.clip(dens, 0, None)
        self.errors = errs
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


UNIT_ALIASES: dict[str, tuple[str, float]] = {
    "thz": ("THz", 1.0),
    "terahertz": ("THz", 1.0),
    "mev": ("meV", 1.0),
    "uev": ("meV", 1e-3),
    "microev": ("meV", 1e-3),
    "micro-ev": ("meV", 1e-3),
    "ev": ("meV", 1e3),
    "cm-1": ("cm-1", 1.0),
    "cm^-1": ("cm-1", 1.0),
    "1/cm": ("cm-1", 1.0),
    "/cm": ("cm-1", 1.0),
    "invcm": ("cm-1", 1.0),
    "wavenumber": ("cm-1", 1.0),
    "wavenumbers": ("cm-1", 1.0),
}
"""Unit spellings :func:`read_spectrum_file` accepts (lower case, spaces removed).

Each maps to a unit of :data:`UNIT_TO_THZ` and the factor that turns values into it
(micro-eV and eV are rescaled to meV).
"""

_UNIT_TOKEN = re.compile(
    r"(?P<uev>(?<![a-z])(?:µ|μ|u|micro[\s-]?)ev(?![a-z]))"
    r"|(?P<mev>(?<![a-zµμ])mev(?![a-z]))"
    r"|(?P<ev>(?<![a-zµμ])ev(?![a-z]))"
    r"|(?P<thz>(?<![a-z])thz(?![a-z]))"
    r"|(?P<cm>cm\s*(?:\^|\*\*)?\s*\{?\s*[-−]\s*1\}?|cm⁻¹|(?<![\d.])1\s*/\s*cm(?![a-z])"
    r"|(?<![a-z])wave\s*numbers?(?![a-z]))",
    re.IGNORECASE,
)
_GROUP_UNIT = {"uev": "uev", "mev": "mev", "ev": "ev", "thz": "thz", "cm": "cm-1"}
_AXIS_BRACKET = re.compile(
    r"(?<![a-z])(?:energy(?:[\s_-]*transfer)?|frequency|freq|omega|ω|ħω|hw|deltae|e|x)"
    r"\s*[\(\[]([^()\[\]]*)[\)\]]",
    re.IGNORECASE,
)
_UNIT_STATEMENT = re.compile(
    r"(?:^|(?<![a-z])(?:x|energy|frequency|freq)[\s_-]*)units?\s*[:=]\s*([^,;\t]+?)\s*(?:[,;\t]|$)",
    re.IGNORECASE,
)
_MANTID_HEADER = re.compile(
    r"^X\s*[,;:\t ]\s*Y\s*[,;:\t ]\s*E(?:\s*[,;:\t ]\s*DX)?(?:\s+Distribution=\w+)?\s*$"
)
_ERROR_WORDS = ("err", "uncert", "sigma", "std", "dev", "±", "+/-", "σ")
_COMMENT = "#%!"
_MIN_POINTS = 5


def _unit_key(text: str) -> str | None:
    """Return the :data:`UNIT_ALIASES` key of a unit spelling, or None if unknown."""
    key = text.strip().lower().replace("µ", "u").replace("μ", "u").replace("−", "-")
    key = key.replace("⁻¹", "-1").replace("**", "^").replace("{", "").replace("}", "")
    key = re.sub(r"\s+", "", key)
    return key if key in UNIT_ALIASES else None


def _token_unit(text: str) -> str | None:
    """Return the key of the first unit spelled anywhere in ``text``."""
    match = _UNIT_TOKEN.search(text)
    return None if match is None else _GROUP_UNIT[match.lastgroup or ""]


def _split_labels(text: str, separator: str) -> list[str]:
    """Split a header at ``separator`` (a regex), never inside brackets."""
    masked, depth = [], 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        masked.append("_" if depth and char not in "([{" else char)
    parts, last = [], 0
    for match in re.finditer(separator, "".join(masked)):
        parts.append(text[last : match.start()])
        last = match.end()
    parts.append(text[last:])
    return [p.strip() for p in parts if p.strip()]


def _labels(text: str, n_columns: int) -> list[str] | None:
    """Column labels of a header line if it names exactly ``n_columns`` columns."""
    for separator in (r"[,;\t]", r"\s{2,}", r"\s+"):
        labels = _split_labels(text, separator)
        if len(labels) == n_columns:
            return labels
    return None


def _is_error_label(label: str) -> bool:
    text = label.lower().strip()
    return (
        text in {"e", "sd"}
        or bool(re.fullmatch(r"(d|delta[\s_]?)(dos|g|gdos|i|y|s|e|int|intensity|counts?)", text))
        or any(w in text for w in _ERROR_WORDS)
    )


def _to_float(token: str) -> float:
    return float(re.sub(r"(?<=\d)[dD](?=[-+]?\d)", "e", token))


def _is_number(token: str) -> bool:
    try:
        _to_float(token)
    except ValueError:
        return False
    return True


def _uses_decimal_comma(line: str) -> bool:
    """Whether a data line writes ``0,5`` for 0.5 (fields split by ``;``, tabs or spaces)."""
    if "." in line or "," not in line:
        return False
    fields = [f for f in re.split(r"[;\s]+", line.strip()) if f]
    return len(fields) >= 2 and all(
        re.fullmatch(r"[-+]?\d+(,\d+)?([eE][-+]?\d+)?", f) for f in fields
    )


def _numbers(line: str, decimal_comma: bool) -> list[float]:
    text = line.replace(",", ".") if decimal_comma else line
    tokens = [t for t in re.split(r"[;\s]+" if decimal_comma else r"[,;\s]+", text.strip()) if t]
    return [_to_float(t) for t in tokens]


class _Table:
    """Columns read from a text file, with what the file says about its unit."""

    def __init__(self) -> None:
        self.columns: NDArray[np.float64] = np.empty((0, 2))
        self.lines: list[int] = []
        self.error_column = False
        self.units: list[tuple[str | None, str, str]] = []  # (key or None, text, where)
        self.unit_hint = ""

    def state_unit(self, text: str, where: str, token: bool = False) -> None:
        key = _token_unit(text) if token else _unit_key(text)
        if key is not None or not token:
            self.units.append((key, text.strip(), where))


def _refuse_binary(raw: bytes, file: Path) -> None:
    head = raw[:8192]
    kinds = {
        b"\x89HDF\r\n\x1a\n": "an HDF5/NeXus file (.nxs, .h5)",
        b"\x1f\x8b": "a gzip-compressed file",
        b"PK\x03\x04": "a zip archive or Excel workbook (.xlsx)",
        b"\xd0\xcf\x11\xe0": "an old Excel/Office file (.xls)",
        b"%PDF": "a PDF",
        b"\x89PNG": "a PNG image",
    }
    kind = next((k for magic, k in kinds.items() if head.startswith(magic)), None)
    if kind is None:
        controls = sum(b < 32 and b not in (9, 10, 12, 13) for b in head)
        if b"\x00" not in head and controls <= 0.01 * len(head):
            return
        kind = "a binary file"
    raise SpectrumError(
        f"{file} is {kind}, not a text table; export the spectrum as text first (columns "
        "frequency, density[, error], e.g. Mantid SaveAscii, or 'Save as CSV')."
    )


def _read_dave_grp(lines: list[tuple[int, str]], file: Path) -> _Table:
    """Read a DAVE grouped ASCII file (DAVE, Mantid ``SaveDaveGrp``)."""
    table = _Table()
    position = 0

    def comment() -> str:
        nonlocal position
        if position >= len(lines) or not lines[position][1].startswith("#"):
            where = "its end" if position >= len(lines) else f"line {lines[position][0]}"
            raise SpectrumError(
                f"{file} starts like a DAVE grouped file but has no '#' section line at "
                f"{where}; the file looks truncated or edited."
            )
        position += 1
        return lines[position - 1][1].lstrip("#").strip()

    def numbers(count: int, width: int, what: str) -> list[list[float]]:
        nonlocal position
        out = []
        for _ in range(count):
            if position >= len(lines) or lines[position][1].startswith("#"):
                raise SpectrumError(
                    f"{file}: the DAVE section '{what}' ends after {len(out)} of the {count} "
                    "values announced in its header; the file looks truncated."
                )
            number, text = lines[position]
            try:
                values = _numbers(text, False)
            except ValueError:
                values = []
            if len(values) < width:
                raise SpectrumError(
                    f"{file}, line {number}: cannot read numbers from {text!r}; DAVE section "
                    f"'{what}' expects {width} number(s) a line."
                ) from None
            out.append(values[:width])
            table.lines.append(number)
            position += 1
        return out

    comment()
    n_x = int(numbers(1, 1, "number of x values")[0][0])
    comment()
    n_groups = int(numbers(1, 1, "number of groups")[0][0])
    table.lines.clear()
    if n_groups != 1:
        raise SpectrumError(
            f"{file} is a DAVE grouped file with {n_groups} groups (one spectrum per Q or "
            "angle bin); a DOS is a single spectrum: sum the groups (e.g. Mantid SumSpectra) "
            "and save again."
        )
    x_caption = comment()
    inside = re.search(r"\(([^()]*)\)\s*values", x_caption, re.IGNORECASE)
    if inside and inside.group(1).strip():
        table.state_unit(inside.group(1), f"its x-axis line '# {x_caption}'")
    else:
        table.state_unit(x_caption, f"its x-axis line '# {x_caption}'", token=True)
    table.unit_hint = (
        " DAVE grouped files hold energy transfer, usually in meV (micro-eV with ToMicroEV): "
        "pass unit='meV' if so."
    )
    x = [v[0] for v in numbers(n_x, 1, x_caption)]
    table.lines.clear()
    comment()
    numbers(n_groups, 1, "group axis")
    table.lines.clear()
    comment()
    data = numbers(n_x, 2, "group 0")
    table.columns = np.column_stack([x, np.asarray(data)])
    table.error_column = True
    return table


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

_MANTID_UNITS = {
    "DeltaE": ("meV", 1.0),
    "Energy": ("meV", 1.0),
    "DeltaE_inWavenumber": ("cm-1", 1.0),
    "Energy_inWavenumber": ("cm-1", 1.0),
    "DeltaE_inFrequency": ("THz", 1e-3),  # GHz
}
"""Mantid unit IDs of an energy axis: the unit this reader states, the factor to it."""


def _text_attribute(dataset: Any, name: str) -> str:
    value = dataset.attrs.get(name, "")
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else ""
    if isinstance(value, bytes | np.bytes_):
        value = value.decode("utf-8", "replace")
    return str(value).strip().strip("\x00")


def _read_mantid_nexus(file: Path) -> _Table:
    """Read the workspace of a Mantid processed NeXus file (``SaveNexusProcessed``).

    The layout Mantid writes for a ``Workspace2D``: groups ``mantid_workspace_<n>`` (the
    highest ``n`` is read, as ``LoadNexusProcessed`` does), each with an NXdata group
    ``workspace`` holding ``values`` and ``errors`` (spectra x bins) and ``axis1`` (bin
    centres, or bin edges for a histogram; one row per spectrum if ragged) whose ``units``
    attribute is the unit ID (``DeltaE``, ``DeltaE_inWavenumber``, ``Label`` with a
    ``label`` attribute, ...).
    """
    import h5py

    table = _Table()
    try:
        handle = h5py.File(file, "r")
    except OSError as exc:
        raise SpectrumError(
            f"{file} looks like HDF5 but cannot be opened ({exc}); it may be cut short: save "
            "it again (SaveNexusProcessed) or export the spectrum as text (SaveAscii)."
        ) from exc
    with handle:
        entries = sorted(
            (k for k in handle if re.fullmatch(r"mantid_workspace_\d+", k)),
            key=lambda k: int(k.rsplit("_", 1)[1]),
        )
        if not entries:
            raise SpectrumError(
                f"{file} is an HDF5/NeXus file but not a Mantid processed workspace (no "
                "'mantid_workspace_<n>' group, as SaveNexusProcessed writes); save the DOS "
                "workspace with SaveNexusProcessed or export it as text (SaveAscii)."
            )
        entry = entries[-1]
        group = handle[entry].get("workspace")
        if not isinstance(group, h5py.Group) or not {"values", "axis1"} <= set(group):
            raise SpectrumError(
                f"{file}: '{entry}' holds no histogram workspace ('workspace/values' and "
                "'axis1'; an event or table workspace?); convert it to a Workspace2D "
                "(e.g. Rebin, ConvertToMatrixWorkspace) before saving."
            )
        values = np.atleast_2d(np.asarray(group["values"], dtype=float))
        errors = np.asarray(group["errors"], dtype=float) if "errors" in group else None
        x_axis = group["axis1"]
        x = np.asarray(x_axis, dtype=float)
        unit_id = _text_attribute(x_axis, "units")
        label = _text_attribute(x_axis, "label")
    where = f"{entry}/workspace/axis1 units"
    if values.shape[0] != 1:
        raise SpectrumError(
            f"{file} holds {values.shape[0]} spectra in '{entry}' (one per detector group or "
            "momentum bin); a DOS is one spectrum: sum them (SumSpectra) or keep one "
            "(ExtractSingleSpectrum) before saving."
        )
    x = x[0] if x.ndim == 2 else x
    n = values.shape[1]
    if len(x) == n + 1:  # histogram: bin edges
        x = 0.5 * (x[1:] + x[:-1])
    elif len(x) != n:
        raise SpectrumError(
            f"{file}: '{entry}' has {len(x)} axis values for {n} data values; the file is "
            "damaged or not written by Mantid's SaveNexusProcessed."
        )
    if unit_id in _MANTID_UNITS:
        name, factor = _MANTID_UNITS[unit_id]
        x = x * factor
        table.state_unit(name, f"{where} {unit_id!r}")
    elif unit_id == "Label" and label:
        table.state_unit(label, f"{where} 'Label', label {label!r}")
    else:
        raise SpectrumError(
            f"{file}: the x axis of '{entry}' is in Mantid unit {unit_id or 'none'!r}, not an "
            "energy; convert it first (ConvertUnits(Target='DeltaE'), or "
            "'DeltaE_inWavenumber') and save again."
        )
    columns = [x, values[0]]
    if errors is not None and errors.shape == values.shape:
        columns.append(np.atleast_2d(errors)[0])
        table.error_column = True
    table.columns = np.column_stack(columns)
    return table


def _read_columns(lines: list[tuple[int, str]], file: Path) -> _Table:
    """Read a delimited table (plain columns, Mantid ``SaveAscii``, headered CSV/TXT)."""
    header: list[tuple[int, str]] = []
    rows: list[list[float]] = []
    row_lines: list[int] = []
    mantid_blocks: list[int] = []
    mantid = False
    decimal_comma: bool | None = None
    for number, text in lines:
        if text[0] in _COMMENT:
            body = text.lstrip(_COMMENT).strip()
            if not rows and body:
                header.append((number, body))
                mantid = mantid or bool(_MANTID_HEADER.match(body))
            continue
        first = re.split(r"[\s,;]+", text, maxsplit=1)[0]
        if not _is_number(first):
            if rows:
                raise SpectrumError(
                    f"{file}, line {number}: text {text!r} in the middle of the data; only "
                    "comment lines (starting with #, % or !) may follow the first data row."
                )
            header.append((number, text))
            continue
        if decimal_comma is None:
            decimal_comma = _uses_decimal_comma(text)
        try:
            values = _numbers(text, decimal_comma)
        except ValueError:
            raise SpectrumError(
                f"{file}, line {number}: cannot read numbers from {text!r}; expected columns "
                "frequency, density[, error]."
            ) from None
        if mantid and (len(values) < 3 or " , " in text):  # spectrum number (and Q, angle)
            mantid_blocks.append(number)
            continue
        rows.append(values)
        row_lines.append(number)
    if not rows:
        raise SpectrumError(
            f"{file} holds no numeric rows; expected columns frequency, density[, error]."
        )
    n_columns = len(rows[0])
    for values, number in zip(rows, row_lines, strict=True):
        if len(values) != n_columns:
            raise SpectrumError(
                f"{file}, line {number}: {len(values)} columns, but line {row_lines[0]} has "
                f"{n_columns}; every row must hold frequency, density[, error]."
            )
    if n_columns == 1:
        raise SpectrumError(
            f"{file} has a single column (line {row_lines[0]} onwards); a spectrum needs two: "
            "frequency and density[, error]. Add the frequency column."
        )
    table = _Table()
    table.lines = row_lines
    table.columns = np.asarray(rows)
    if mantid:
        if len(mantid_blocks) > 1:
            raise SpectrumError(
                f"{file} holds {len(mantid_blocks)} spectra (Mantid SaveAscii of a workspace "
                "with several histograms, blocks starting at lines "
                f"{', '.join(map(str, mantid_blocks))}); a DOS file holds one: sum them "
                "(SumSpectra) or save one (SaveAscii(..., SpectrumList=[index]))."
            )
        table.columns = table.columns[:, :3]  # X, Y, E (and DX, dropped)
        table.error_column = True
        table.unit_hint = (
            " Mantid's SaveAscii does not record the X unit (ComputeIncoherentDOS gives energy "
            "transfer in meV, Abins gives cm-1): pass the unit of the workspace's X axis, e.g. "
            "unit='meV'."
        )
    else:
        _columns_from_header(table, header, n_columns, file)
    for number, body in header:
        for match in _UNIT_STATEMENT.finditer(body):
            table.state_unit(match.group(1), f"line {number}")
    return table


def _columns_from_header(
    table: _Table, header: list[tuple[int, str]], n_columns: int, file: Path
) -> None:
    """Find the column header, its frequency unit and whether a third column is an error."""
    texts = [(n, t) for n, t in header if re.search(r"[^\W\d_]", t)]  # lines with letters
    line = (*texts[-1], _labels(texts[-1][1], n_columns)) if texts else None
    if n_columns > 3:
        names = f" ({', '.join(line[2])})" if line and line[2] else ""
        raise SpectrumError(
            f"{file} has {n_columns} columns{names}; this reader takes frequency, density[, "
            "error]: keep those three columns (density second, error third)."
        )
    if line is not None:
        number, text, labels = line
        where = f"line {number}"
        # the frequency column's label: the first label, else the first word
        first = labels[0] if labels else text.split()[0]
        bracket = (
            re.search(r"[\(\[]([^()\[\]]*)[\)\]]", first) if labels else _AXIS_BRACKET.search(text)
        )
        if _token_unit(first):
            table.state_unit(first, where, token=True)
        elif bracket and bracket.group(1).strip():
            table.state_unit(bracket.group(1), where)
    if n_columns == 3:
        if line is None:
            table.error_column = True  # documented convention: frequency, density, error
        else:
            number, text, labels = line
            third = labels[2] if labels else ""
            table.error_column = (
                _is_error_label(third)
                if labels
                else any(_is_error_label(w) for w in text.split()[1:])
            )
            if not table.error_column:
                raise SpectrumError(
                    f"{file} has 3 columns but its header (line {number}) does not name the "
                    f"third an error{f' (it is {third!r})' if third else ''}; keep frequency, "
                    "density and optionally an error column named 'error'."
                )


def read_spectrum_file(
    path: str | Path, unit: str | None = None, *, clip_negative: bool = False
) -> Spectrum:
    """Read a measured or simulated spectrum from a text table or a JSON file.

    Parameters
    ----------
    path
        The file.
    unit
        Frequency unit of the file's first column (``"THz"``, ``"meV"``, ``"cm-1"``; also
        ``"cm^-1"``, ``"1/cm"``, ``"wavenumber"``, ``"ueV"``, ``"eV"``). Needed when the file
        does not say; refused when it contradicts what the file says.
    clip_negative
        Set negative densities (noise left by background subtraction) to zero instead of
        refusing the file.

    Returns
    -------
    Spectrum
        Frequencies in THz; ``errors`` holds the error column when the file has one.

    Raises
    ------
    SpectrumError
        For a file that cannot be read as a spectrum; the message names the problem and the
        fix.

    Notes
    -----
    Recognised layouts (comment lines start with ``#``, ``%`` or ``!``; columns are split by
    whitespace, commas, semicolons or tabs; ``0,5;1,2`` decimal commas are read too):

    ============================ ======================================= ===================
    Layout                       Recognised by                           Unit from
    ============================ ======================================= ===================
    plain columns                numbers only: frequency, density[, err] ``unit=`` only
    headered table (CSV, TXT,    a header line naming the columns, e.g.  first column's
    DAVE/PAN-like exports,       ``# Energy (meV)  g(E)  error`` or      label, or a
    two-column CSV)              ``Frequency [THz],DOS``; a third        ``# unit: meV``
                                 column must be named like an error      line
    Mantid ``SaveAscii``         ``# X , Y , E`` line (``, DX``,         ``unit=`` (Mantid
    (e.g. of                     ``Distribution=``), spectrum-number     does not write it)
    ``ComputeIncoherentDOS``)    line; one spectrum only
    DAVE grouped ASCII           ``# Number of ... values`` / count      ``# Energy transfer
    (DAVE, Mantid                lines; one group only                   (meV) values``
    ``SaveDaveGrp``)
    JSON                         ``{"frequencies", "densities"[,         ``"unit"`` (default
                                 "errors"], "unit"}`` or a pymatgen      THz)
                                 ``PhononDos``
    ============================ ======================================= ===================

    The column header is the last text line before the data. A unit is never guessed: a
    table that does not state it needs ``unit=``. Units are read from the frequency column's
    label (``meV``, ``THz``, ``cm-1``, ``cm^-1``, ``1/cm``, ``wavenumber``, ``ueV``/``micro
    eV``, ``eV``) or a ``unit: ...`` comment; other unit text there is refused. Without a
    header a third column is the error; more than three columns are refused. Strictly
    decreasing frequencies are reversed. A Mantid processed NeXus file
    (``SaveNexusProcessed``, HDF5) is read from its workspace: one spectrum, its energy
    unit from the axis (``DeltaE`` meV, ``DeltaE_inWavenumber`` cm-1, ``DeltaE_inFrequency``
    GHz, or a ``Label`` unit), bin edges turned into centres, its errors as error bars.
    Other binary files (other HDF5, Excel, gzip) are refused.
    """
    file = Path(path)
    if not file.is_file():
        raise SpectrumError(f"Spectrum file {file} does not exist.")
    raw = file.read_bytes()
    if not raw.strip():
        raise SpectrumError(
            f"{file} is empty; write the spectrum as columns frequency, density[, error]."
        )
    if raw.startswith(_HDF5_MAGIC):
        return _table_spectrum(_read_mantid_nexus(file), file, unit, clip_negative)
    _refuse_binary(raw, file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return _read_json(text, file, unit, clip_negative)
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise SpectrumError(
            f"{file} is empty; write the spectrum as columns frequency, density[, error]."
        )
    dave = (
        len(lines) >= 4
        and lines[0][1].startswith("#")
        and lines[2][1].startswith("#")
        and all(re.fullmatch(r"\d+", lines[i][1]) for i in (1, 3))
    )
    table = _read_dave_grp(lines, file) if dave else _read_columns(lines, file)
    return _table_spectrum(table, file, unit, clip_negative)


def _resolve_unit(table: _Table, file: Path, unit: str | None) -> tuple[str, float]:
    """Return the table's frequency unit and scale: what the file says, checked with ``unit``."""
    stated = {key for key, _, _ in table.units if key is not None}
    said = "; ".join(f"{text!r} ({where})" for key, text, where in table.units if key)
    if unit is not None:
        key = _unit_key(unit)
        if key is None:
            raise SpectrumError(
                f"Unknown frequency unit {unit!r}; use 'THz', 'meV' or 'cm-1' (also accepted: "
                f"{', '.join(sorted(UNIT_ALIASES))})."
            )
        if stated and stated != {key}:
            raise SpectrumError(
                f"{file} states its frequency unit as {said}, but unit={unit!r} was passed; "
                "drop unit= or correct the file's header."
            )
        return UNIT_ALIASES[key]
    unknown = [(text, where) for key, text, where in table.units if key is None]
    if unknown:
        text, where = unknown[0]
        raise SpectrumError(
            f"{file} gives its frequency unit as {text!r} ({where}), which is not a unit this "
            "reader knows; convert the column to 'THz', 'meV' or 'cm-1' or, if the header is "
            "wrong, pass unit=..."
        )
    if len(stated) > 1:
        raise SpectrumError(
            f"{file} states conflicting frequency units: {said}; correct the header or pass "
            "unit=..."
        )
    if not stated:
        raise SpectrumError(
            f"{file} does not say its frequency unit; pass unit='THz', 'meV' or 'cm-1' (or add "
            f"a header such as '# Energy (meV)  DOS  error').{table.unit_hint}"
        )
    return UNIT_ALIASES[stated.pop()]


def _table_spectrum(table: _Table, file: Path, unit: str | None, clip_negative: bool) -> Spectrum:
    """Turn a table into a :class:`Spectrum`, with measured-data checks."""
    columns = table.columns
    if len(columns) < _MIN_POINTS:
        lines = f" (lines {table.lines[0]}-{table.lines[-1]})" if table.lines else ""
        raise SpectrumError(
            f"{file} holds only {len(columns)} data rows{lines}; a spectrum needs at least "
            f"{_MIN_POINTS} points. Check that the whole spectrum was saved."
        )
    name, factor = _resolve_unit(table, file, unit)
    freqs, dens = columns[:, 0] * factor, columns[:, 1].copy()
    errors = columns[:, 2] if table.error_column and columns.shape[1] > 2 else None
    if len(freqs) > 1 and (np.diff(freqs) < 0).all():  # written high to low
        freqs, dens = freqs[::-1], dens[::-1]
        errors = None if errors is None else errors[::-1]
        table.lines = table.lines[::-1]
    dens = _check_negative(dens, freqs, name, table.lines, file, clip_negative)
    return Spectrum(freqs, dens, name, source=str(file), errors=errors)


def _check_negative(
    dens: NDArray[np.float64],
    freqs: NDArray[np.float64],
    unit: str,
    lines: list[int],
    file: Path,
    clip_negative: bool,
) -> NDArray[np.float64]:
    """Refuse (or clip) negative densities beyond the tolerance of :class:`Spectrum`."""
    finite = np.isfinite(dens)
    if not finite.any():
        return dens
    scale = np.abs(dens[finite]).max()
    negative = finite & (dens < -1e-3 * scale)
    if clip_negative:
        return np.where(finite, np.clip(dens, 0, None), dens)
    if negative.any():
        worst = int(np.argmin(np.where(finite, dens, np.inf)))
        where = f", line {lines[worst]}" if len(lines) == len(dens) else ""
        raise SpectrumError(
            f"{file} has {int(negative.sum())} negative densities (down to {dens[worst]:.3g} at "
            f"{freqs[worst]:.4g} {unit}{where}), as background subtraction leaves in measured "
            "data; a DOS cannot be negative: check the background, or pass clip_negative=True "
            "to read_spectrum_file to set them to zero."
        )
    return dens


def _read_json(text: str, file: Path, unit: str | None, clip_negative: bool) -> Spectrum:
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpectrumError(f"{file} is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
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
    if clip_negative:
        dens = np.clip(np.asarray(dens, dtype=float), 0, None)
    return Spectrum(
        freqs, dens, unit or data.get("unit", "THz"), source=str(file), errors=data.get("errors")
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
