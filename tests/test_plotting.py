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


def test_attention_explanation_is_returned_serialised_and_plotted(si_docs, tmp_path):
    import numpy as np
    import pytest

    from defectnet_atomate import DefectQuantifier

    model = DefectQuantifier(network_config={"width": 16, "heads": 2, "layers": 2})
    plain = model.predict(si_docs[2], candidates=["Ge", "Sn", "C"])
    explained = model.predict(si_docs[2], candidates=["Ge", "Sn", "C"], explain=True)
    assert plain.explanation is None and "explanation" not in plain.as_dict()
    assert [d.probability for d in plain.dopants] == [d.probability for d in explained.dopants]
    e = explained.explanation
    assert set(e["attention"]) == {"Ge", "Sn", "C"}
    for weights in e["attention"].values():
        assert len(weights) == len(e["frequencies"]) and sum(weights) == pytest.approx(1, 1e-4)
    # the model's view of the spectrum keeps its unit area, in THz
    f = np.asarray(e["frequencies"])
    assert np.trapezoid(e["doped"], f) == pytest.approx(1.0, rel=0.05)
    assert f.max() > np.asarray(si_docs[2]["pdos"]["frequencies"]).max()
    again = DefectPrediction.from_dict(explained.as_dict())
    assert again.explanation == e
    fig = plot_report(None, explained)
    assert len(fig.axes[0].collections) == 2  # two candidates shaded
    with pytest.raises(ValueError, match="explain=True"):
        plain.plot_attention()
