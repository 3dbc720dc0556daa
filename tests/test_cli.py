from __future__ import annotations

import pytest

from defectnet_atomate.cli import main


def test_demo_fills_the_store(tmp_path, capsys, clean_dir):
    assert main(["demo", "--store", str(tmp_path / "db")]) == 0
    out = capsys.readouterr().out
    assert "Ge->Si 6.25" in out
    assert "2 document(s)" in out
    assert main(["store", "query", "--store", str(tmp_path / "db"), "--dopant", "C"]) == 0
    out = capsys.readouterr().out
    assert "C->Si" in out and "Ge->Si 6.25 " not in out


def test_clear_errors_and_exit_codes(tmp_path, capsys, test_dir):
    hosts = str(test_dir / "hosts-subset.jsonl.gz")
    code = main(
        ["simulate", "mp-149", "--hosts-file", hosts, "--dope", "Ge:O:5", "--store", str(tmp_path)]
    )
    assert code == 1
    assert "has no O" in capsys.readouterr().err
    assert main(["simulate", "nothing.cif", "--dope", "Ge:Si:5"]) == 1
    assert "neither a structure file" in capsys.readouterr().err
    assert main(["simulate", "mp-149", "--hosts-file", hosts, "--store", str(tmp_path)]) == 1
    assert "--dope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["simulate"])
    assert exc.value.code == 2
