from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from defectnet_atomate.ml.prediction import DefectPrediction, DopantEstimate
from defectnet_atomate.plotting import plot_parity, plot_report, plot_spectra


def test_figures(si_docs, tmp_path):
    ax = plot_spectra(si_docs[2])
    assert len(ax.lines) == 2
    prediction = DefectPrediction(
        [DopantEstimate("Ge", 6.0, 0.9, 0.4), DopantEstimate("C", 1.0, 0.1, 0.5)], "Si"
    )
    assert [d.element for d in prediction.present] == ["Ge"]
    fig = plot_report(si_docs[2], prediction)
    fig.savefig(tmp_path / "report.png")
    assert (tmp_path / "report.png").stat().st_size > 1000
    ax = plot_parity([1, 5, 10], [1.1, 4.5, 12])
    assert ax.get_xscale() == "log"
    text = str(prediction)
    assert "present" in text and "absent" in text
    again = DefectPrediction.from_dict(prediction.as_dict())
    assert again.as_dict() == prediction.as_dict()
