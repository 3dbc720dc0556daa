"""Measurement-like distortions of simulated spectra, for robust training and for tests.

A measured spectrum is not the simulated PDoS: it is broadened by the instrument, noisy,
sits on a background, carries a multiphonon tail, and its energy axis may be off by a few
percent. :class:`MeasurementAugmentation` draws those effects at random (seeded) and
applies them to a simulated pair (doped, pristine); training with it (``fit(...,
augment=...)``) makes the model robust to them, and ``benchmarks/measured_robustness.py``
measures how much that buys on measurement-like spectra of unseen hosts.

Each effect, in the order applied to the doped spectrum:

1. **energy-axis scale error**: frequencies times ``1 + e``, ``|e| <= scale_error``;
2. **multiphonon tail**: a fraction of the area moved into the two-phonon spectrum (the
   self-convolution of the DOS, which extends to twice the highest frequency);
3. **instrument resolution**: energy-dependent Gaussian, FWHM ``a + b f`` with ``a`` and
   ``b f_max`` drawn as fractions of the host's highest frequency ``f_max``
   (:func:`~defectnet_atomate.measurement.apply_resolution`);
4. **background**: a constant plus an elastic-line tail decaying from zero frequency;
5. **counting noise**: Gaussian with a variance proportional to the signal (Poisson-like).

The pristine reference is, with chance ``measured_reference``, the undoped host measured on
the same instrument (every effect of the same draw, noise of its own); otherwise it gets the
same resolution with probability ``pristine_same_instrument``, and is otherwise left as
simulated (a simulated reference with a measured sample, the usual case). A model that never
saw a noisy reference reads two measurements of one pristine sample as doped
(``benchmarks/measurement_effects.py``, rows "reference measured alike").

A measurement that was reduced with care (background subtracted, multiphonon tail
corrected) shows only some of these effects. With ``effect_probability`` below 1 the tail,
the background, the noise and the energy dependence of the resolution are each present
only with that chance, drawn on their own, so that a model also sees every such subset:
a model trained with all of them in every distorted spectrum reads a pristine
measurement without a tail as doped (``benchmarks/measurement_effects.py``).

With chance ``neutron``, and where the example has them (:attr:`Example.neutron`), the
pair is first replaced by its neutron-weighted forms (each element's partial DOS weighted
by its cross-section over its mass, as inelastic neutron scattering measures them): the
spectrum a neutron instrument gives, read by ``predict(kind="neutron")`` against a
neutron-weighted reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from monty.json import MSONable

from defectnet_atomate.measurement import apply_resolution
from defectnet_atomate.spectra import Spectrum

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from defectnet_atomate.ml.training import Example

__all__ = ["MeasurementAugmentation", "measured_like_examples"]


@dataclass
class MeasurementAugmentation(MSONable):
    """Random measurement-like distortions of a (doped, pristine) pair of spectra.

    Parameters
    ----------
    probability
        Fraction of training examples distorted (the others stay clean).
    resolution
        Range of the resolution FWHM at zero frequency, as a fraction of ``f_max``.
    resolution_slope
        Range of the FWHM growth up to ``f_max``, as a fraction of ``f_max``.
    noise
        Range of the relative noise level (standard deviation over the peak height at the
        peak).
    background
        Range of the background level, as a fraction of the peak height.
    multiphonon
        Range of the fraction of the area in the two-phonon tail.
    scale_error
        Largest relative error of the energy axis.
    pristine_same_instrument
        Probability that the pristine reference is broadened alike.
    neutron
        Probability that a distorted pair is the neutron-weighted one (where given).
    effect_probability
        Chance that each of the multiphonon tail, the background, the noise and the
        resolution's energy dependence is present in a distorted spectrum (each drawn on
        its own); 1 keeps all of them in every distorted spectrum (no random number is
        drawn for it then, so seeded draws stay those of earlier versions).
    measured_reference
        Chance that the reference is the undoped host measured on the same instrument:
        the same draw of every effect, noise of its own (0: no random number is drawn for
        it, so seeded draws stay those of earlier versions).
    """

    probability: float = 0.6
    resolution: tuple[float, float] = (0.005, 0.04)
    resolution_slope: tuple[float, float] = (0.0, 0.03)
    noise: tuple[float, float] = (0.0, 0.04)
    background: tuple[float, float] = (0.0, 0.03)
    multiphonon: tuple[float, float] = (0.0, 0.08)
    scale_error: float = 0.02
    pristine_same_instrument: float = 0.5
    neutron: float = 0.0
    effect_probability: float = 1.0
    measured_reference: float = 0.0

    def __call__(
        self,
        doped: Spectrum,
        pristine: Spectrum,
        rng: np.random.Generator,
        neutron: tuple[Spectrum, Spectrum] | None = None,
    ) -> tuple[Spectrum, Spectrum]:
        """Return a distorted copy of the pair (or the pair itself, with 1 - probability).

        ``neutron`` is the pair's neutron-weighted form, distorted instead with chance
        :attr:`neutron` (no random number is drawn for it when the chance is 0, so
        seeded draws stay those of earlier versions).
        """
        if rng.random() >= self.probability:
            return doped, pristine
        if neutron is not None and self.neutron > 0 and rng.random() < self.neutron:
            doped, pristine = neutron
        f_max = pristine.quantile_frequency(0.999)
        instrument = self.draw(f_max, rng)
        out = self.distort(doped, f_max, rng=rng, **instrument)
        if self.measured_reference > 0 and rng.random() < self.measured_reference:
            return out, self.distort(pristine, f_max, rng=rng, **instrument)
        if rng.random() < self.pristine_same_instrument:
            pristine = self.distort(pristine, f_max, fwhm=instrument["fwhm"])
        return out, pristine

    def draw(self, f_max: float, rng: np.random.Generator) -> dict:
        """Draw one instrument and sample: the keyword arguments of :meth:`distort`.

        ``f_max`` is the host's highest frequency (THz); the resolution is drawn as
        fractions of it.
        """
        a = rng.uniform(*self.resolution) * f_max
        b = rng.uniform(*self.resolution_slope)
        scale = 1 + rng.uniform(-self.scale_error, self.scale_error)
        effects = {
            "multiphonon": rng.uniform(*self.multiphonon),
            "background": rng.uniform(*self.background),
            "noise": rng.uniform(*self.noise),
        }
        if self.effect_probability < 1:
            for key in effects:
                if rng.random() >= self.effect_probability:
                    effects[key] = 0.0
            if rng.random() >= self.effect_probability:
                b = 0.0
        return {"fwhm": (a, b), "scale": scale, **effects}

    @staticmethod
    def distort(
        spectrum: Spectrum,
        f_max: float,
        fwhm: tuple[float, float] | None = None,
        scale: float = 1.0,
        multiphonon: float = 0.0,
        background: float = 0.0,
        noise: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> Spectrum:
        """Apply given distortions to one spectrum (deterministic except for the noise).

        Parameters
        ----------
        spectrum
            The spectrum (THz).
        f_max
            Highest frequency of the host, THz (sets the grid and the background decay).
        fwhm
            ``(a, b)``: FWHM ``a + b f`` in THz; ``None`` for no resolution.
        scale
            Factor of the energy axis.
        multiphonon
            Fraction of the area moved into the two-phonon tail.
        background
            Background level over the peak height.
        noise
            Noise level over the peak height, at the peak.
        rng
            Generator of the noise.
        """
        step = max(f_max / 200, 1e-3)
        top = 2.2 * f_max if multiphonon > 0 else max(spectrum.frequencies[-1], 1.1 * f_max)
        grid = np.arange(0.0, top + step, step)
        d = np.interp(grid, spectrum.frequencies * scale, spectrum.densities, left=0, right=0)
        area = np.trapezoid(d, grid)
        if multiphonon > 0:
            two = _self_convolution(d, step)[: grid.size]
            two *= area / max(np.trapezoid(two, grid), 1e-12)
            d = (1 - multiphonon) * d + multiphonon * two
        if fwhm is not None:
            a, b = fwhm
            d = apply_resolution(grid, d, [a, b], unit="THz")
        peak = d.max()
        if background > 0:
            d = d + background * peak * (0.5 + np.exp(-grid / (0.1 * f_max)))
        if noise > 0:
            gen = rng or np.random.default_rng()
            d = d + noise * np.sqrt(peak * np.clip(d, 0, None)) * gen.standard_normal(d.size)
        d = np.clip(d, 0, None)
        return Spectrum(grid, d, "THz", source=f"distorted {spectrum.source}")


def measured_like_examples(
    examples: Sequence[Example],
    seed: int = 7,
    neutron: float = 0.0,
    augmentation: MeasurementAugmentation | None = None,
    reference: str = "simulated",
) -> list[Example]:
    """Return copies of examples turned into measurement-like spectra (a seeded draw).

    Every doped spectrum is distorted by ``augmentation`` (its ``probability`` set to 1;
    default: every effect in every spectrum, the draws of earlier versions). With
    ``reference="simulated"`` (default) its reference is broadened alike half of the time,
    and a pristine example keeps its clean reference, so that it stands for a measured
    pristine sample against a simulated reference. With ``reference="measured"`` the
    reference is the undoped host measured on the same instrument: the same resolution,
    energy-scale error, multiphonon and background fractions, noise of the same level
    drawn on its own (for a pristine example, two measurements of the same sample). With
    chance ``neutron`` an example with a neutron-weighted form
    (:attr:`~defectnet_atomate.ml.training.Example.neutron`) becomes a neutron measurement
    against a neutron-weighted reference (``neutron=1.0`` on examples that all have one: a
    neutron test set), marked ``kind="neutron"``. Every copy is marked
    ``engine="measured"``: a network with a fidelity input (``NetworkConfig.fidelity``)
    reads it at level 0, as ``DefectQuantifier.predict`` reads a measurement. Used to
    measure robustness on held-out hosts.
    """
    from dataclasses import replace

    if reference not in ("simulated", "measured"):
        raise ValueError(f"reference must be 'simulated' or 'measured', got {reference!r}.")
    augment = replace(augmentation or MeasurementAugmentation(), probability=1.0)
    rng = np.random.default_rng(seed)
    out = []
    for e in examples:
        pair, kind = (e.doped, e.pristine), e.kind
        if e.neutron is not None and neutron > 0 and rng.random() < neutron:
            pair, kind = e.neutron, "neutron"
        if reference == "measured":
            f_max = pair[1].quantile_frequency(0.999)
            instrument = augment.draw(f_max, rng)
            doped, pristine = (augment.distort(s, f_max, rng=rng, **instrument) for s in pair)
        else:
            doped, pristine = augment(*pair, rng)
            if not e.truth:
                pristine = pair[1]
        # a measurement: read at fidelity level 0, as predict reads one (NetworkConfig.fidelity)
        copy = replace(e, doped=doped, pristine=pristine, kind=kind, engine="measured")
        out.append(replace(copy, _features=None))
    return out


def _self_convolution(d: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    return np.convolve(d, d) * step
