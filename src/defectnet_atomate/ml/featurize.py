"""Spectra, hosts and candidates -> model inputs (the one place the model's input is defined).

- Frequencies are measured relative to the host's highest phonon frequency ``f_host``
  (99.9 % area quantile of its pristine DOS): the grid covers ``0 <= f / f_host <= X_MAX``
  in ``N_BINS`` bins, so hosts from CsI to diamond share one representation; ``log f_host``
  is a separate input, so that absolute frequency scale is not lost.
- Each spectrum is integrated into the bins (any input grid works) and scaled to unit area.
- Channels: doped DOS, pristine DOS, their difference, and the difference on a
  logarithmic scale (``asinh(difference / DIFFERENCE_SCALE)``), so that the change made by
  0.2 at.% and by 25 at.% of dopants both reach the network at a usable size.
- The host is its composition (element -> atomic fraction); candidates are element symbols.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from defectnet_atomate.ml.elements import element_index, validate_element

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from defectnet_atomate.spectra import Spectrum

__all__ = [
    "DIFFERENCE_SCALE",
    "MAX_CANDIDATES",
    "MAX_HOST_ELEMENTS",
    "N_BINS",
    "N_CHANNELS",
    "X_MAX",
    "Features",
    "bin_spectrum",
    "featurize",
    "featurize_spectra",
    "host_scale",
    "with_candidates",
]

N_BINS = 256
"""Bins of the relative frequency grid."""
X_MAX = 2.5
"""Upper end of the grid, in units of the host's highest frequency (room for light dopants)."""
MAX_HOST_ELEMENTS = 6
"""Most elements of a host composition."""
MAX_CANDIDATES = 12
"""Most candidate dopants of one prediction."""
DIFFERENCE_SCALE = 0.01
"""Scale of the logarithmic difference channel (densities are per unit relative frequency,
about 1 in the host band): a dilute local mode (~0.05) and an alloy's shift (~1) both
fall in the near-logarithmic part of ``asinh``."""
N_CHANNELS = 4
"""Input channels: doped, pristine, difference, logarithmic difference."""


def host_scale(pristine: Spectrum) -> float:
    """Return the host's highest phonon frequency in THz (99.9 % area quantile)."""
    return pristine.quantile_frequency(0.999)


def bin_spectrum(frequencies: np.ndarray, densities: np.ndarray, scale: float) -> np.ndarray:
    """Integrate a DOS into the ``N_BINS`` relative bins and scale it to unit area.

    Negative frequencies (imaginary modes) are dropped; weight above ``X_MAX * scale`` goes
    to the last bin.
    """
    f = np.asarray(frequencies, float) / scale
    d = np.clip(np.asarray(densities, float), 0, None) * (f >= 0)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(f))])
    edges = np.linspace(0.0, X_MAX, N_BINS + 1)
    binned = np.diff(np.interp(edges, f, cumulative))
    binned[-1] += cumulative[-1] - np.interp(X_MAX, f, cumulative)
    total = binned.sum()
    if total <= 0:
        raise ValueError("The spectrum has no weight at positive frequencies.")
    return (binned / total).astype(np.float32)


@dataclass
class Features:
    """Model inputs of one example (numpy; collated into tensors in batches)."""

    spectra: np.ndarray  # (N_CHANNELS, N_BINS): doped, pristine, difference, log difference
    log_scale: float  # log of the host's highest frequency in THz
    host_z: np.ndarray  # (MAX_HOST_ELEMENTS,) element rows (Z-1), -1 padded
    host_frac: np.ndarray  # (MAX_HOST_ELEMENTS,) atomic fractions, 0 padded
    cand_z: np.ndarray  # (MAX_CANDIDATES,) element rows, -1 padded
    candidates: list[str]


def featurize_spectra(
    doped: Spectrum, pristine: Spectrum, composition: Mapping[str, float]
) -> Features:
    """Return the inputs of one spectrum that do not depend on the candidates.

    Training reuses them for every candidate set it draws; :func:`featurize` adds the
    candidates.
    """
    host = {validate_element(k): float(v) for k, v in composition.items() if v > 0}
    if not host or len(host) > MAX_HOST_ELEMENTS:
        raise ValueError(
            f"The host composition must have 1 to {MAX_HOST_ELEMENTS} elements, got {len(host)}."
        )
    scale = host_scale(pristine)
    d = bin_spectrum(doped.frequencies, doped.densities, scale)
    p = bin_spectrum(pristine.frequencies, pristine.densities, scale)
    d, p = d * (N_BINS / X_MAX), p * (N_BINS / X_MAX)
    spectra = np.stack([d, p, d - p, np.arcsinh((d - p) / DIFFERENCE_SCALE)])
    total = sum(host.values())
    host_z = np.full(MAX_HOST_ELEMENTS, -1, dtype=np.int64)
    host_frac = np.zeros(MAX_HOST_ELEMENTS, dtype=np.float32)
    for i, (el, amount) in enumerate(sorted(host.items())):
        host_z[i] = element_index(el)
        host_frac[i] = amount / total
    return Features(
        spectra=spectra.astype(np.float32),
        log_scale=float(np.log(scale)),
        host_z=host_z,
        host_frac=host_frac,
        cand_z=np.full(MAX_CANDIDATES, -1, dtype=np.int64),
        candidates=[],
    )


def with_candidates(
    base: Features, composition: Mapping[str, float], candidates: Sequence[str]
) -> Features:
    """Return ``base`` (from :func:`featurize_spectra`) with its candidates filled in."""
    candidates = [validate_element(c) for c in candidates]
    if not candidates:
        raise ValueError("No candidate dopants; give at least one element, e.g. ['Ge'].")
    if len(candidates) > MAX_CANDIDATES:
        raise ValueError(
            f"{len(candidates)} candidates given; at most {MAX_CANDIDATES} at once (split them)."
        )
    if len(set(candidates)) != len(candidates):
        raise ValueError("A candidate element is listed twice; list each element once.")
    host = {validate_element(k) for k, v in composition.items() if v > 0}
    clash = sorted(set(candidates) & host)
    if clash:
        raise ValueError(
            f"Candidate(s) {clash} are host elements; substitutional dopants must be foreign."
        )
    cand_z = np.full(MAX_CANDIDATES, -1, dtype=np.int64)
    for i, el in enumerate(candidates):
        cand_z[i] = element_index(el)
    return Features(
        spectra=base.spectra,
        log_scale=base.log_scale,
        host_z=base.host_z,
        host_frac=base.host_frac,
        cand_z=cand_z,
        candidates=candidates,
    )


def featurize(
    doped: Spectrum,
    pristine: Spectrum,
    composition: Mapping[str, float],
    candidates: Sequence[str],
) -> Features:
    """Build the model inputs of one spectrum.

    Parameters
    ----------
    doped
        Spectrum of the (possibly) doped sample.
    pristine
        Pristine host's spectrum, same kind as ``doped``.
    composition
        Host composition, element -> atomic fraction.
    candidates
        Candidate dopant elements (1 to ``MAX_CANDIDATES``).
    """
    if not candidates:
        raise ValueError("No candidate dopants; give at least one element, e.g. ['Ge'].")
    for c in candidates:
        validate_element(c)
    return with_candidates(featurize_spectra(doped, pristine, composition), composition, candidates)
