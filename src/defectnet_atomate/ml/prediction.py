"""The defect report returned by :meth:`DefectQuantifier.predict`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monty.json import MSONable

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["DefectPrediction", "DopantEstimate"]


@dataclass
class DopantEstimate(MSONable):
    """One candidate dopant.

    Attributes
    ----------
    element
        Element symbol.
    atomic_percent
        Estimated concentration if present, at.% of all atoms.
    probability
        Probability (0-1) that the element is present.
    uncertainty
        One-sigma uncertainty of ``atomic_percent``, at.% (calibrated on held-out spectra).
    """

    element: str
    atomic_percent: float
    probability: float
    uncertainty: float

    @property
    def present(self) -> bool:
        """Whether the probability reaches one half."""
        return self.probability >= 0.5


@dataclass
class DefectPrediction(MSONable):
    """Which candidate dopants a spectrum holds, and how much of each.

    Attributes
    ----------
    dopants
        Every candidate, most probable first.
    host_formula
        Reduced formula of the host, if known.
    model
        Name of the model that made the prediction.
    threshold
        Probability at which a candidate counts as present.
    warnings
        Anything the user should know about this prediction.
    explanation
        With ``predict(..., explain=True)``: what the model saw and where it looked,
        ``{"frequencies": [...], "doped": [...], "pristine": [...], "attention": {element:
        [...]}}`` on the model's frequency grid (THz; spectra in states/THz per unit area;
        attention of each candidate sums to 1 over the grid).
    gate
        Probability that the most probable candidate must reach before any candidate
        counts as present (the spectrum is then judged doped); ``None``: the threshold.
    """

    dopants: list[DopantEstimate]
    host_formula: str | None = None
    model: str | None = None
    threshold: float = 0.5
    warnings: list[str] = field(default_factory=list)
    explanation: dict[str, Any] | None = None
    gate: float | None = None

    def __post_init__(self) -> None:
        self.dopants = sorted(
            (d if isinstance(d, DopantEstimate) else DopantEstimate(**d) for d in self.dopants),
            key=lambda d: -d.probability,
        )

    def as_dict(self) -> dict[str, Any]:
        """Serialise (``{"dopants": [{"element", "atomic_percent", "probability", ...}]}``)."""
        return {
            "@module": type(self).__module__,
            "@class": type(self).__name__,
            "dopants": [
                {
                    "element": d.element,
                    "atomic_percent": round(d.atomic_percent, 4),
                    "probability": round(d.probability, 4),
                    "uncertainty": round(d.uncertainty, 4),
                }
                for d in self.dopants
            ],
            "host_formula": self.host_formula,
            "model": self.model,
            "threshold": self.threshold,
            "warnings": list(self.warnings),
            **({"gate": self.gate} if self.gate is not None else {}),
            **({"explanation": self.explanation} if self.explanation else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DefectPrediction:
        """Rebuild from :meth:`as_dict`."""
        d = {k: v for k, v in d.items() if not k.startswith("@")}
        return cls(**d)

    @property
    def doped(self) -> bool:
        """Whether the most probable candidate reaches the gate (and the threshold)."""
        top = max((d.probability for d in self.dopants), default=0.0)
        return top >= max(self.threshold, self.gate or 0.0)

    @property
    def present(self) -> list[DopantEstimate]:
        """Candidates whose probability reaches the threshold, in a spectrum judged doped."""
        if not self.doped:
            return []
        return [d for d in self.dopants if d.probability >= self.threshold]

    def __str__(self) -> str:
        title = f"Defect report{' for ' + self.host_formula if self.host_formula else ''}"
        lines = [title, f"{'element':<8}{'at.%':>9}{'+/-':>8}{'prob.':>8}  verdict"]
        present = {d.element for d in self.present}
        for d in self.dopants:
            verdict = "present" if d.element in present else "absent"
            lines.append(
                f"{d.element:<8}{d.atomic_percent:>9.3f}{d.uncertainty:>8.3f}"
                f"{d.probability:>8.3f}  {verdict}"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        if self.model:
            lines.append(f"model: {self.model}")
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Bar chart of the estimated concentrations with one-sigma error bars."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(max(3, 0.8 * len(self.dopants) + 1), 3))
        names = [d.element for d in self.dopants]
        present = {d.element for d in self.present}
        values = [d.atomic_percent if d.element in present else 0 for d in self.dopants]
        errors = [d.uncertainty if d.element in present else 0 for d in self.dopants]
        colours = [plt.cm.viridis(d.probability) for d in self.dopants]
        ax.bar(names, values, yerr=errors, color=colours, capsize=3)
        for i, d in enumerate(self.dopants):
            ax.text(i, 0, f"p={d.probability:.2f}", ha="center", va="bottom", fontsize=7)
        ax.set_ylabel("concentration (at.%)")
        ax.set_title(self.host_formula or "prediction")
        return ax

    def plot_attention(self, ax: Axes | None = None, top: int = 2) -> Axes:
        """Doped vs pristine spectrum as the model saw it, shaded where candidates looked.

        Needs ``predict(..., explain=True)``. The ``top`` most probable candidates are
        shaded (darker: more attention of that candidate's query in the last layer).
        """
        import matplotlib.pyplot as plt
        import numpy as np

        if not self.explanation:
            raise ValueError("No explanation stored; predict with explain=True to plot it.")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        e = self.explanation
        f = np.asarray(e["frequencies"])
        ax.plot(f, e["pristine"], color="0.5", lw=1, label="pristine host")
        ax.plot(f, e["doped"], color="C0", lw=1.2, label="spectrum")
        peak = max(max(e["doped"]), max(e["pristine"]))
        for i, d in enumerate(self.dopants[:top]):
            weights = np.asarray(e["attention"][d.element])
            ax.fill_between(
                f,
                0,
                peak * weights / max(weights.max(), 1e-12),
                color=f"C{i + 1}",
                alpha=0.25,
                step="mid",
                label=f"{d.element} attention (p={d.probability:.2f})",
            )
        ax.set_xlabel("frequency (THz)")
        ax.set_ylabel("DOS (unit area)")
        ax.set_xlim(left=0)
        ax.legend(fontsize=7)
        return ax
