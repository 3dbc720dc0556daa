"""From simulated partial DOS to what an instrument measures.

- :func:`neutron_weighted_dos`: the generalised (neutron-weighted) DOS of inelastic neutron
  scattering, each element's partial DOS weighted by its total bound scattering cross-section
  over its mass (cross-sections and masses from the ``periodictable`` package);
- :func:`partial_dos`: one element's partial DOS (nuclear resonant scattering sees one isotope);
- :func:`apply_resolution`: an energy-dependent Gaussian instrument resolution (constant,
  polynomial in energy, or the usual form for direct-geometry chopper spectrometers).

Spectra are :class:`~defectnet_atomate.schemas.PhononDosData` (THz) in, arrays out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import ArrayLike, NDArray

    from defectnet_atomate.schemas import PhononDosData

__all__ = [
    "apply_resolution",
    "chopper_resolution",
    "neutron_weight",
    "neutron_weighted_dos",
    "partial_dos",
]


def neutron_weight(element: str) -> float:
    """Total bound scattering cross-section over mass, barn/amu (``periodictable`` data)."""
    import periodictable

    try:
        atom = getattr(periodictable, element)
    except AttributeError:
        raise ValueError(f"Unknown element {element!r}.") from None
    sigma = atom.neutron.total
    if sigma is None:
        raise ValueError(f"periodictable has no neutron cross-section for {element}.")
    return float(sigma) / float(atom.mass)


def neutron_weighted_dos(pdos: PhononDosData, normalise: bool = True) -> NDArray[np.float64]:
    """Generalised (neutron-weighted) DOS: sum over elements of g_X(f) sigma_X / m_X.

    Parameters
    ----------
    pdos
        Element-projected DOS (``projected`` must be filled).
    normalise
        Scale to the area of the total DOS (3 per atom), so it compares with the PDoS;
        otherwise keep barn/amu units.
    """
    if not pdos.projected:
        raise ValueError("The DOS has no element projections; the neutron weighting needs them.")
    f = np.asarray(pdos.frequencies)
    out = sum(neutron_weight(el) * np.asarray(d) for el, d in pdos.projected.items())
    if normalise:
        out = out * np.trapezoid(pdos.total, f) / np.trapezoid(out, f)
    return np.asarray(out)


def partial_dos(pdos: PhononDosData, element: str) -> NDArray[np.float64]:
    """One element's partial DOS (what nuclear resonant scattering measures for its isotope)."""
    try:
        return np.asarray(pdos.projected[element])
    except KeyError:
        raise ValueError(f"No {element} in this DOS; it has {sorted(pdos.projected)}.") from None


def chopper_resolution(
    incident_mev: float, coefficients: Sequence[float] = (0.04, 0.01, -0.01)
) -> Callable:
    """FWHM (meV) of a direct-geometry chopper spectrometer as a function of energy transfer.

    The usual parametrisation: a quadratic in energy transfer scaled by the incident energy,
    ``FWHM(E) = Ei * (c0 + c1 * E / Ei + c2 * (E / Ei) ** 2)``, about 3-4 % of Ei at the
    elastic line and narrowing towards Ei. Give your instrument's coefficients.
    """

    def fwhm(energy_mev: ArrayLike) -> NDArray[np.float64]:
        x = np.asarray(energy_mev, dtype=float) / incident_mev
        c0, c1, c2 = coefficients
        return np.clip(incident_mev * (c0 + c1 * x + c2 * x**2), 1e-6, None)

    return fwhm


def apply_resolution(
    frequencies_thz: ArrayLike,
    densities: ArrayLike,
    fwhm: float | Sequence[float] | Callable,
    unit: str = "meV",
) -> NDArray[np.float64]:
    """Convolve a spectrum with an energy-dependent Gaussian resolution, keeping its area.

    Parameters
    ----------
    frequencies_thz
        Uniform frequency grid, THz.
    densities
        Spectrum on that grid.
    fwhm
        Full width at half maximum in ``unit``: a number (constant), polynomial coefficients
        ``[a0, a1, ...]`` in energy (``a0 + a1 E + ...``), or a function of energy.
    unit
        Unit of ``fwhm`` and of the energies it is evaluated at: ``"meV"``, ``"THz"`` or ``"cm-1"``.
    """
    from defectnet_atomate.spectra import UNIT_TO_THZ

    f = np.asarray(frequencies_thz, dtype=float)
    d = np.asarray(densities, dtype=float)
    if unit not in UNIT_TO_THZ:
        raise ValueError(f"Unknown unit {unit!r}; use one of {sorted(UNIT_TO_THZ)}.")
    energy = f / UNIT_TO_THZ[unit]
    if callable(fwhm):
        width = np.asarray(fwhm(energy), dtype=float)
    elif np.ndim(fwhm) == 0:
        width = np.full_like(f, float(fwhm))
    else:
        width = np.polyval(list(fwhm)[::-1], energy)
    sigma = np.clip(width, 1e-9, None) * UNIT_TO_THZ[unit] / (2 * np.sqrt(2 * np.log(2)))
    step = f[1] - f[0]
    # each source point spreads its weight with its own width (area kept exactly on the grid)
    kernel = np.exp(-0.5 * ((f[None, :] - f[:, None]) / sigma[:, None]) ** 2)
    kernel /= kernel.sum(axis=1, keepdims=True) * step
    return (d * step) @ kernel
