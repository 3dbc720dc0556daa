"""Figures: spectra, predictions and parity plots (matplotlib, imported lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from defectnet_atomate.ml.prediction import DefectPrediction

__all__ = ["plot_parity", "plot_report", "plot_spectra"]


def plot_spectra(doc: dict | Any, ax: Axes | None = None) -> Axes:
    """Doped vs pristine total DOS of a document, with the element projections of the dopants."""
    import matplotlib.pyplot as plt

    doc = doc if isinstance(doc, dict) else doc.model_dump()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    p = doc["pristine_pdos"]
    ax.plot(p["frequencies"], p["total"], color="0.5", lw=1, label="pristine host")
    d = doc["pdos"]
    ax.plot(d["frequencies"], d["total"], color="C0", lw=1.2, label="doped")
    for el in doc.get("dopant_elements", []):
        projected = d.get("projected", {}).get(el)
        if projected is not None:
            ax.fill_between(
                d["frequencies"], np.asarray(projected) * 10, alpha=0.4, label=f"{el} x10"
            )
    ax.set_xlabel("frequency (THz)")
    ax.set_ylabel("DOS (states/THz/atom)")
    ax.set_xlim(left=0)
    ax.legend(fontsize=7)
    return ax


def plot_parity(true: Sequence[float], predicted: Sequence[float], ax: Axes | None = None) -> Axes:
    """Predicted vs true concentration (at.%, log-log) with the identity line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(3.5, 3.5))
    t, p = np.asarray(true, float), np.asarray(predicted, float)
    ax.loglog(t, p, "o", ms=3, alpha=0.7)
    lo, hi = min(t.min(), p.min(), 0.2), max(t.max(), p.max(), 25)
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel("true (at.%)")
    ax.set_ylabel("predicted (at.%)")
    return ax


def plot_report(doc: dict | Any | None, prediction: DefectPrediction) -> Figure:
    """Spectra and the predicted concentrations side by side.

    With a prediction made with ``explain=True`` the left panel shows the spectra as the
    model saw them, shaded where the most probable candidates attended; otherwise the
    document's doped and pristine DOS (``doc`` is then required).
    """
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5), width_ratios=[2, 1])
    if prediction.explanation:
        prediction.plot_attention(left)
    elif doc is not None:
        plot_spectra(doc, left)
    else:
        raise ValueError("Give the document, or a prediction made with explain=True.")
    prediction.plot(right)
    fig.tight_layout()
    return fig
