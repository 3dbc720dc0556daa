"""The fast examples run as part of the suite (the atomate2 one is marked slow)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.mark.parametrize(
    "name", ["query_store.py", "train_and_finetune.py", "predict_from_file.py"]
)
def test_fast_examples_run(name, capsys):
    if name == "predict_from_file.py":
        from defectnet_atomate import DefectQuantifier

        if not DefectQuantifier.available():
            pytest.skip("no pretrained model shipped yet")
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert capsys.readouterr().out


@pytest.mark.slow
def test_atomate2_example_runs(capsys):
    runpy.run_path(str(EXAMPLES / "atomate2_workflow.py"), run_name="__main__")
    assert "atoms" in capsys.readouterr().out


@pytest.mark.slow
def test_signatures_example_runs(capsys):
    runpy.run_path(str(EXAMPLES / "signatures_dilute_si.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "bulk modulus" in out and "neutron-weighted DOS" in out
    assert "read as a measurement" in out and "energy scale of the spectrum" in out


@pytest.mark.slow
def test_sige_alloy_example_runs(capsys):
    runpy.run_path(str(EXAMPLES / "signatures_sige_alloy.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("with the concentration series, 3 meV") == 2
    assert "series 1.9 at.% (54 atoms), 6.2 at.% (16 atoms)" in out
