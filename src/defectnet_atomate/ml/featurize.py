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
- Candidate-site pairs: for each candidate and each host element it could replace, the
  Lifshitz mass-defect signature of that substitution at 1 at.%
  (:func:`~defectnet_atomate.phonons.dos.mass_defect_signature`, from the host's projected
  pristine DOS) beside the site's projected DOS, and scalars that compare the signature
  with the observed difference (projection amplitude, cosine, a joint non-negative fit
  of all pairs). These tell the network where each candidate's signature lies in this
  host; without the projected DOS (a measured reference alone) they are zero and masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from defectnet_atomate.ml.elements import element_index, element_masses, validate_element
from defectnet_atomate.phonons.dos import signature_from_green, site_green_function

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import torch

    from defectnet_atomate.spectra import Spectrum

__all__ = [
    "BIN_CENTRES",
    "DIFFERENCE_SCALE",
    "MAX_CANDIDATES",
    "MAX_HOST_ELEMENTS",
    "N_BINS",
    "N_CHANNELS",
    "N_PAIR_SCALARS",
    "X_MAX",
    "Features",
    "bin_spectrum",
    "collate",
    "featurize",
    "featurize_spectra",
    "host_scale",
    "unit_area_bins",
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
N_PAIR_SCALARS = 6
"""Scalars of a candidate-site pair: asinh of the mass change ``1 - M'/M``, the host
fraction of the site's element, asinh of the projection amplitude of the observed
difference on the pair's signature (at.%), their cosine, asinh of the pair's coefficient
in a joint non-negative fit of the difference by all pairs (at.%), and 1 (present)."""
SIGNATURE_PERCENT = 1.0
"""Concentration (at.%) at which pair signatures are shown to the network."""
BIN_CENTRES = (np.arange(N_BINS) + 0.5) * (X_MAX / N_BINS)
"""Centres of the bins, in units of the host's highest frequency."""


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
    return unit_area_bins(f, cumulative).astype(np.float32)


def unit_area_bins(points: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """Unit-area weights of the ``N_BINS`` relative bins from a cumulative area.

    ``cumulative`` is the area up to each of ``points`` (relative frequencies, increasing),
    linear between them; weight above ``X_MAX`` goes to the last bin.
    """
    edges = np.linspace(0.0, X_MAX, N_BINS + 1)
    binned = np.diff(np.interp(edges, points, cumulative))
    binned[-1] += cumulative[-1] - np.interp(X_MAX, points, cumulative)
    total = binned.sum()
    if total <= 0:
        raise ValueError("The spectrum has no weight at positive frequencies.")
    return binned / total


@dataclass
class Features:
    """Model inputs of one example (numpy; collated into tensors in batches)."""

    spectra: np.ndarray  # (N_CHANNELS, N_BINS): doped, pristine, difference, log difference
    log_scale: float  # log of the host's highest frequency in THz
    host_z: np.ndarray  # (MAX_HOST_ELEMENTS,) element rows (Z-1), -1 padded
    host_frac: np.ndarray  # (MAX_HOST_ELEMENTS,) atomic fractions, 0 padded
    cand_z: np.ndarray  # (MAX_CANDIDATES,) element rows, -1 padded
    candidates: list[str]
    # (MAX_HOST_ELEMENTS, N_BINS) unit-area projected pristine DOS per host element (rows
    # as host_z), None when unknown; and the site Green's functions made from them
    site_dos: np.ndarray | None = None
    site_green: np.ndarray | None = None
    # (MAX_CANDIDATES, MAX_HOST_ELEMENTS, 2, N_BINS): asinh(signature at 1 at.% / scale)
    # and the site's DOS; (K, H, N_PAIR_SCALARS); (K, H) which pairs are real
    pair_signals: np.ndarray | None = None
    pair_scalars: np.ndarray | None = None
    pair_mask: np.ndarray | None = None


def featurize_spectra(
    doped: Spectrum,
    pristine: Spectrum,
    composition: Mapping[str, float],
    projected: Mapping[str, Spectrum | Sequence[float]] | None = None,
) -> Features:
    """Return the inputs of one spectrum that do not depend on the candidates.

    Training reuses them for every candidate set it draws; :func:`featurize` adds the
    candidates. ``projected`` (element -> projected DOS of the pristine host, a
    :class:`~defectnet_atomate.spectra.Spectrum` or densities on the pristine spectrum's
    frequencies) gives the candidate-site signatures; a one-element host needs none.
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
    if projected is None and len(host) == 1:
        projected = {next(iter(host)): pristine.densities}
    host_z = np.full(MAX_HOST_ELEMENTS, -1, dtype=np.int64)
    host_frac = np.zeros(MAX_HOST_ELEMENTS, dtype=np.float32)
    for i, (el, amount) in enumerate(sorted(host.items())):
        host_z[i] = element_index(el)
        host_frac[i] = amount / total
    site_dos = site_green = None
    if projected is not None:
        projected = {validate_element(k): v for k, v in projected.items()}
        if set(host) <= set(projected):
            site_dos = np.zeros((MAX_HOST_ELEMENTS, N_BINS), dtype=np.float32)
            site_green = np.zeros((MAX_HOST_ELEMENTS, N_BINS), dtype=np.complex128)
            for i, el in enumerate(sorted(host)):
                part = projected[el]
                freqs, dens = (
                    (part.frequencies, part.densities)
                    if hasattr(part, "densities")
                    else (pristine.frequencies, part)
                )
                try:
                    binned = bin_spectrum(freqs, dens, scale)
                except ValueError:  # no weight: this site's pairs stay unknown
                    continue
                site_dos[i] = binned * (N_BINS / X_MAX)
                site_green[i] = site_green_function(BIN_CENTRES, site_dos[i])
    return Features(
        spectra=spectra.astype(np.float32),
        log_scale=float(np.log(scale)),
        host_z=host_z,
        host_frac=host_frac,
        cand_z=np.full(MAX_CANDIDATES, -1, dtype=np.int64),
        candidates=[],
        site_dos=site_dos,
        site_green=site_green,
    )


def _pairs(base: Features, cand_z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signals, scalars and mask of the candidate-site pairs (zeros when sites are unknown)."""
    from scipy.optimize import nnls

    signals = np.zeros((MAX_CANDIDATES, MAX_HOST_ELEMENTS, 2, N_BINS), dtype=np.float32)
    scalars = np.zeros((MAX_CANDIDATES, MAX_HOST_ELEMENTS, N_PAIR_SCALARS), dtype=np.float32)
    mask = np.zeros((MAX_CANDIDATES, MAX_HOST_ELEMENTS), dtype=bool)
    if base.site_dos is None or base.site_green is None:
        return signals, scalars, mask
    masses = element_masses()
    difference = base.spectra[2].astype(float)
    columns, where = [], []
    for h in np.flatnonzero((base.host_z >= 0) & (base.site_dos.sum(axis=1) > 0)):
        ks = np.flatnonzero(cand_z >= 0)
        if ks.size == 0:
            break
        eps = 1.0 - masses[cand_z[ks]] / masses[base.host_z[h]]
        rows = signature_from_green(BIN_CENTRES, base.site_green[h], eps) * (
            SIGNATURE_PERCENT / 100
        )
        for k, e, row in zip(ks, eps, rows, strict=True):
            norm = float(row @ row)
            amplitude = float(difference @ row) / norm if norm > 1e-10 else 0.0
            cosine = amplitude * np.sqrt(norm) / (np.linalg.norm(difference) + 1e-12)
            signals[k, h, 0] = np.arcsinh(row / DIFFERENCE_SCALE)
            signals[k, h, 1] = base.site_dos[h]
            scalars[k, h, :4] = [np.arcsinh(e), base.host_frac[h], np.arcsinh(amplitude), cosine]
            scalars[k, h, 5] = 1.0
            mask[k, h] = True
            columns.append(row)
            where.append((k, h))
    if columns:
        try:
            coefficients, _ = nnls(np.stack(columns, axis=1), difference, maxiter=200)
        except RuntimeError:  # no convergence (nearly equal columns): leave the fit out
            coefficients = np.zeros(len(columns))
        for (k, h), c in zip(where, coefficients, strict=True):
            scalars[k, h, 4] = np.arcsinh(c * SIGNATURE_PERCENT)
    return signals, scalars, mask


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
    signals, scalars, mask = _pairs(base, cand_z)
    return Features(
        spectra=base.spectra,
        log_scale=base.log_scale,
        host_z=base.host_z,
        host_frac=base.host_frac,
        cand_z=cand_z,
        candidates=candidates,
        site_dos=base.site_dos,
        site_green=base.site_green,
        pair_signals=signals,
        pair_scalars=scalars,
        pair_mask=mask,
    )


def collate(features: Sequence[Features]) -> dict[str, torch.Tensor]:
    """Stack the inputs of several examples into the network's keyword arguments."""
    import torch

    def stack(name: str) -> torch.Tensor:
        return torch.as_tensor(np.stack([getattr(f, name) for f in features]))

    return {
        "spectra": stack("spectra"),
        "log_scale": torch.as_tensor([f.log_scale for f in features], dtype=torch.float32),
        "host_z": stack("host_z"),
        "host_frac": stack("host_frac"),
        "cand_z": stack("cand_z"),
        "pair_signals": stack("pair_signals"),
        "pair_scalars": stack("pair_scalars"),
        "pair_mask": stack("pair_mask"),
    }


def featurize(
    doped: Spectrum,
    pristine: Spectrum,
    composition: Mapping[str, float],
    candidates: Sequence[str],
    projected: Mapping[str, Spectrum | Sequence[float]] | None = None,
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
    projected
        Element -> projected DOS of the pristine host on ``pristine``'s frequencies (for
        the candidate-site signatures; optional).
    """
    if not candidates:
        raise ValueError("No candidate dopants; give at least one element, e.g. ['Ge'].")
    for c in candidates:
        validate_element(c)
    base = featurize_spectra(doped, pristine, composition, projected)
    return with_candidates(base, composition, candidates)
