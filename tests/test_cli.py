from __future__ import annotations

import numpy as np
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


def test_predict_command(tmp_path, capsys, si_docs, mantid_nexus):
    import json

    from monty.serialization import dumpfn

    from defectnet_atomate import DefectQuantifier

    model = DefectQuantifier(network_config={"width": 16, "heads": 2, "layers": 1})
    model.metadata["name"] = "untrained-cli-test"
    folder = model.save_pretrained(tmp_path / "model")
    doc_file = tmp_path / "doc.json"
    dumpfn(si_docs[0], doc_file)
    code = main(
        [
            "predict",
            str(doc_file),
            "--model",
            str(folder),
            "--candidates",
            "Ge,Sn,C",
            "--json",
            "--plot",
            str(tmp_path / "bars.png"),
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert {d["element"] for d in report["dopants"]} == {"Ge", "Sn", "C"}
    assert (tmp_path / "bars.png").stat().st_size > 1000
    csv = tmp_path / "spectrum.csv"
    csv.write_text(
        "\n".join(
            f"{f},{d}"
            for f, d in zip(
                si_docs[0]["pdos"]["frequencies"], si_docs[0]["pdos"]["total"], strict=False
            )
        )
    )
    assert main(["predict", str(csv), "--model", str(folder), "--candidates", "Ge"]) == 1
    assert "does not say its frequency unit" in capsys.readouterr().err
    # a neutron measurement with an instrument resolution, from the document's projections
    common = ["--model", str(folder), "--candidates", "Ge", "--json"]
    code = main(["predict", str(doc_file), *common, "--kind", "neutron", "--resolution", "1.5"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["dopants"][0]["element"] == "Ge"

    # Mantid processed NeXus files (energy transfer in meV): the sample and its host
    def nexus(name, pdos):
        freqs = np.asarray(pdos["frequencies"])
        keep = freqs > 0
        return str(mantid_nexus(name, freqs[keep] * 4.135667696, np.asarray(pdos["total"])[keep]))

    doped = nexus("doped.nxs", si_docs[0]["pdos"])
    pristine = nexus("pristine.nxs", si_docs[0]["pristine_pdos"])
    code = main(["predict", doped, "--host", pristine, "--composition", "Si:1", *common])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["dopants"][0]["element"] == "Ge"
    assert main(["predict", str(doc_file), *common, "--kind", "xray"]) == 1
    assert "Unknown spectrum kind" in capsys.readouterr().err
    # background-subtracted measured files may dip below zero: refused unless clipped
    lines = csv.read_text().splitlines()
    lines[3] = lines[3].split(",")[0] + ",-0.05"
    csv.write_text("# frequency (THz), g\n" + "\n".join(lines))
    pristine = tmp_path / "pristine.csv"
    pdos = si_docs[0]["pristine_pdos"]
    pristine.write_text(
        "# frequency (THz), g\n"
        + "\n".join(f"{f},{d}" for f, d in zip(pdos["frequencies"], pdos["total"], strict=True))
    )
    host = ["--host", str(pristine), "--composition", "Si:1"]
    assert main(["predict", str(csv), *common, *host]) == 1
    assert "clip_negative" in capsys.readouterr().err
    assert main(["predict", str(csv), *common, *host, "--clip-negative"]) == 0
    capsys.readouterr()
    # an uncalibrated instrument: the reference is matched to it, and the report says how
    assert main(["predict", str(csv), *common, *host, "--clip-negative", "--align"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any("matched to the instrument" in w for w in warnings)


def test_dataset_stats_and_train(tmp_path, capsys, test_dir):
    assert main(["dataset", "stats", str(test_dir / "si_doped_docs.json.gz")]) == 0
    assert "Spectra: 3" in capsys.readouterr().out


def test_dataset_export_filters_by_engine(tmp_path, capsys, si_docs):
    from defectnet_atomate.dataset import load_dataset
    from defectnet_atomate.stores import default_store, insert_new

    store = default_store(tmp_path / "db")
    with store:
        insert_new(store, si_docs)
    out = tmp_path / "set.json.gz"
    args = ["dataset", "export", "--store", str(tmp_path / "db"), "--out", str(out)]
    assert main([*args, "--engine", "direct"]) == 0
    assert "3 spectra" in capsys.readouterr().out
    assert len(load_dataset(out)) == 3 and out.with_name("set.md").is_file()
    assert main([*args, "--engine", "mass-defect"]) == 1
    assert "No documents of engine 'mass-defect'" in capsys.readouterr().err


def test_dataset_build_writes_jobflow_flows(tmp_path, capsys, test_dir):
    from jobflow import Flow
    from monty.serialization import loadfn

    out = tmp_path / "flows.json"
    hosts = str(test_dir / "hosts-subset.jsonl.gz")
    args = ["dataset", "build", "--hosts-file", hosts, "--n-hosts", "2", "--per-host", "2"]
    assert main([*args, "--max-atoms", "64", "--flows", str(out)]) == 0
    assert "flows" in capsys.readouterr().out
    flows = loadfn(out)
    assert len(flows) == 2 and all(isinstance(f, Flow) for f in flows)
    assert sum(len(f.jobs) for f in flows) == 4


def test_evaluate_prints_metrics_and_saves_a_parity_plot(tmp_path, capsys, test_dir):
    import json

    plot = tmp_path / "parity.png"
    args = ["evaluate", str(test_dir / "md_docs.json.gz"), "--plot", str(plot)]
    assert main(args) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert {"f1", "auc", "by_concentration", "by_element"} <= set(metrics)
    assert plot.stat().st_size > 1000


def test_evaluate_unseen_hosts_leaves_out_the_hosts_the_model_saw(tmp_path, capsys, test_dir):
    """Held-out metrics: spectra of hosts in the model's seen_hosts are left out and counted."""
    import json

    from defectnet_atomate import DefectQuantifier
    from defectnet_atomate.dataset import load_dataset

    source = str(test_dir / "md_docs.json.gz")
    docs = load_dataset(source)
    model = DefectQuantifier.from_pretrained()
    seen = set(model.metadata["seen_hosts"])
    n_seen = sum(d["host"]["host_id"] in seen for d in docs)
    assert 0 < n_seen < len(docs)  # the test data mixes seen and unseen hosts

    assert main(["evaluate", source]) == 0
    captured = capsys.readouterr()
    everything = json.loads(captured.out)
    assert everything["n_spectra_of_seen_hosts"] == n_seen
    assert f"{n_seen} of {len(docs)} spectra" in captured.err and "--unseen-hosts" in captured.err

    assert main(["evaluate", source, "--unseen-hosts"]) == 0
    held_out = json.loads(capsys.readouterr().out)
    assert held_out["n_seen_host_spectra_left_out"] == n_seen
    assert held_out["n_spectra_of_seen_hosts"] == 0
    assert held_out["n_examples"] < everything["n_examples"]

    # a model that saw every host: nothing left, a clear error, nothing written
    model.metadata["seen_hosts"] = sorted(seen | {d["host"]["host_id"] for d in docs})
    model.save_pretrained(tmp_path / "all-seen")
    args = ["evaluate", source, "--unseen-hosts", "--model", str(tmp_path / "all-seen")]
    assert main(args) == 1
    assert "leaves none to evaluate" in capsys.readouterr().err


def test_job_errors_reach_the_user(tmp_path, capsys, si_structure, clean_dir):
    """A job's own error is printed, not jobflow's "Flow did not finish running successfully"."""
    cif = tmp_path / "Si.cif"
    si_structure.to(filename=str(cif))
    args = ["simulate", str(cif), "--dope", "Ge:Si:1", "--engine", "embedding"]
    assert main([*args, "--store", str(tmp_path / "db")]) == 1
    err = capsys.readouterr().err
    assert "do not fit this supercell" in err and "lower concentration" in err


def test_calibrate_writes_a_new_model_on_unseen_hosts(tmp_path, capsys, test_dir):
    """Rules set anew on hosts the model has not seen; seen hosts left out; nothing overwritten."""
    import json

    from defectnet_atomate import DefectQuantifier

    source = str(test_dir / "md_docs.json.gz")
    out = tmp_path / "recal"
    args = ["calibrate", source, "--out", str(out), "--measured-budget", "0.05"]
    assert main([*args, "--pristine-draws", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    shipped = DefectQuantifier.from_pretrained()
    assert 0 < report["n_hosts"] < 24 and report["left_out_seen_hosts"] > 0
    q = DefectQuantifier.from_pretrained(out)
    assert q.name == "recal" and "defectnet calibrate" in q.metadata["recalibration"]
    assert q.threshold_measured is not None and q.metadata["calibration_pristine_draws"] == 2
    for a, b in zip(q.network.parameters(), shipped.network.parameters(), strict=True):
        assert a.equal(b)  # the weights are the shipped model's
    # the folder is not overwritten
    assert main(args) == 1
    assert "is not empty" in capsys.readouterr().err
    # the new model has seen these hosts now: nothing is left to calibrate on
    again = ["calibrate", source, "--model", str(out), "--out", str(tmp_path / "again")]
    assert main(again) == 1
    assert "trained or was calibrated on" in capsys.readouterr().err


def test_signatures_build_and_fit(tmp_path, capsys, test_dir):
    import json

    import numpy as np
    from monty.serialization import loadfn

    hosts = str(test_dir / "hosts-subset.jsonl.gz")
    out = tmp_path / "si-signatures.json"
    build = ["signatures", "build", "mp-149", "--hosts-file", hosts, "--candidates", "Ge,C"]
    small = ["--force-field", "CHGNet", "--cutoff", "cell", "--patch-atoms", "16"]
    assert main([*build, *small, "--out", str(out)]) == 0
    assert "2 signatures of Ge, C" in capsys.readouterr().out
    assert main([*build, *small, "--out", str(out)]) == 1  # never overwrites silently
    assert "--overwrite" in capsys.readouterr().err
    # add a candidate to the library, its host step not repeated, Ge and C kept as they were
    before = loadfn(out)
    extend = ["signatures", "build", "--candidates", "Ge,Sn", "--extend", *small]
    assert main([*extend, "--out", str(out)]) == 0
    assert "3 signatures of Ge, C, Sn" in capsys.readouterr().out
    after = loadfn(out)
    assert after.bulk_modulus == before.bulk_modulus
    assert np.allclose(after.signatures[1]["per_percent"], before.signatures[1]["per_percent"])
    recommended = ["signatures", "build", "--recommend", "1", "--extend", *small]
    assert main([*recommended, "--out", str(out)]) == 0  # Si: As, Al, Ge (Ge already there)
    assert "5 signatures of Ge, C, Sn, As, Al" in capsys.readouterr().out
    series = ["signatures", "build", "--candidates", "Ge", "--extend", "--series", "1", *small]
    assert main([*series, "--out", str(out)]) == 0  # one dopant per two-atom cell: 50 at.%
    assert [e["n_atoms"] for e in loadfn(out).signatures[0]["series"]] == [2]
    capsys.readouterr()
    assert main([*extend, "--out", str(tmp_path / "none.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["signatures", "build", "mp-149", "--out", str(tmp_path / "x.json")]) == 1
    assert "--recommend" in capsys.readouterr().err
    # the library's own pristine host, as a measured file, comes back undoped
    library = loadfn(out)
    csv = tmp_path / "pristine.csv"
    np.savetxt(csv, np.c_[library.frequencies, library.pristine], delimiter=",")
    fit = ["signatures", "fit", str(csv), "--library", str(out), "--unit", "THz"]
    assert main([*fit, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["present"] == [] and max(result["concentrations"].values()) < 0.1
    assert main([*fit, "--resolution", "1.5", "--lattice", "fixed"]) == 0
    assert "share of the change explained" in capsys.readouterr().out
    assert main([*fit, "--series", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["present"] == []
    neutron_csv = tmp_path / "pristine-neutron.csv"
    np.savetxt(neutron_csv, np.c_[library.frequencies, library.pristine_neutron], delimiter=",")
    neutron = ["signatures", "fit", str(neutron_csv), "--library", str(out), "--unit", "THz"]
    assert main([*neutron, "--kind", "neutron", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["present"] == []
    assert main([*fit, "--kind", "partial:Si", "--json"]) == 0  # Si's partial DOS is its DOS
    assert json.loads(capsys.readouterr().out)["present"] == []
    assert main([*fit, "--kind", "partial:Ge"]) == 1
    assert "Ge is not an element of the host" in capsys.readouterr().err
    assert main(["signatures", "fit", str(csv), "--library", str(csv), "--unit", "THz"]) == 1
    assert "not a signature library" in capsys.readouterr().err
    assert main([*fit, "--candidates", "Pb"]) == 1
    assert "No signature of ['Pb']" in capsys.readouterr().err
    # measured on an instrument 2 % off in energy, on a background: undoped with --measured
    from defectnet_atomate.ml.augment import MeasurementAugmentation
    from defectnet_atomate.spectra import Spectrum

    blank = MeasurementAugmentation.distort(
        Spectrum(library.frequencies, library.pristine), library.scale, scale=1.02, background=0.02
    )
    measured_csv = tmp_path / "measured.csv"
    np.savetxt(measured_csv, np.c_[blank.frequencies, blank.densities], delimiter=",")
    measured = ["signatures", "fit", str(measured_csv), "--library", str(out), "--unit", "THz"]
    assert main([*measured, "--measured", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["present"] == [] and abs(result["scale"] - 1.02) < 0.003
    assert result["significance"] == 2.0 and result["nuisance"]["background:constant"] > 0
    figure = tmp_path / "fit.png"
    assert main([*measured, "--measured", "--plot", str(figure)]) == 0
    assert figure.stat().st_size > 1000
    capsys.readouterr()
    assert main([*measured, "--terms", "background", "--scale", "1.02", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["present"] == []
    assert main([*measured, "--scale", "fast"]) == 1
    assert "neither a number nor 'fit'" in capsys.readouterr().err
    assert main([*measured, "--terms", "dust"]) == 1
    assert "Unknown measurement term" in capsys.readouterr().err


def test_a_missing_source_is_refused_without_creating_a_store(tmp_path, capsys):
    missing = tmp_path / "no-such-part"
    assert main(["evaluate", str(missing)]) == 1
    assert "neither an export" in capsys.readouterr().err
    assert not missing.exists()
