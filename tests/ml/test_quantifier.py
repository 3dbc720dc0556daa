from __future__ import annotations

import json
import time

import numpy as np
import pytest

from defectnet_atomate import DefectQuantifier
from defectnet_atomate.ml import DefectPrediction, split_by_host
from defectnet_atomate.schemas import DefectPhononDoc
from defectnet_atomate.spectra import SpectrumError

TINY = {"width": 64, "heads": 4, "layers": 2}


@pytest.fixture(scope="module")
def split(ml_docs):
    return split_by_host(ml_docs, (0.6, 0.15, 0.25), seed=3)


@pytest.fixture(scope="module")
def trained(split):
    train, val, _ = split
    q = DefectQuantifier(network_config=TINY, seed=0)
    start = time.perf_counter()
    history = q.fit(train, val, epochs=60, lr=1e-3, patience=60, progress=False, seed=0)
    return q, history, time.perf_counter() - start


def test_split_keeps_hosts_apart(split):
    hosts = [{d["host"]["host_id"] for d in s} for s in split]
    assert not (hosts[0] & hosts[1]) and not (hosts[0] & hosts[2]) and not (hosts[1] & hosts[2])
    assert all(hosts)


def test_tiny_model_trains_fast_and_learns(trained):
    _, history, seconds = trained
    assert seconds < 60
    losses = history["train_loss"]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])


def _probe(q, docs, pool):
    """Probabilities of true dopants and distractors, and log concentrations, on ``docs``."""
    present, absent, log_true, log_pred = [], [], [], []
    rng = np.random.default_rng(0)
    for doc in docs:
        host = set(doc["host"]["elements"])
        others = [
            e for e in rng.permutation(pool) if e not in host and e not in doc["dopant_elements"]
        ]
        prediction = q.predict(doc, candidates=doc["dopant_elements"] + others[:4])
        truth = {d["element"]: d["atomic_percent"] for d in doc["dopants"]}
        for est in prediction.dopants:
            if est.element in truth:
                present.append(est.probability)
                log_true.append(np.log(truth[est.element]))
                log_pred.append(np.log(est.atomic_percent))
            else:
                absent.append(est.probability)
    return np.array(present), np.array(absent), np.array(log_true), np.array(log_pred)


def test_concentration_beats_trivial_baseline_on_unseen_hosts(trained, split, ml_docs):
    q, _, _ = trained
    train, _, test = split
    pool = sorted({el for d in ml_docs for el in d["dopant_elements"]})
    _, _, log_true, log_pred = _probe(q, test, pool)
    median = np.median([np.log(d["atomic_percent"]) for doc in train for d in doc["dopants"]])
    model_error = np.mean(np.abs(log_true - log_pred))
    baseline_error = np.mean(np.abs(log_true - median))  # always the training median
    assert model_error < baseline_error
    metrics = q.evaluate(test)
    assert metrics["n_pristine"] >= 1
    for key in (
        "precision",
        "recall",
        "f1",
        "by_concentration",
        "by_n_dopants",
        "pristine_false_positive_rate",
        "sigma_coverage",
        "mae_at_percent",
    ):
        assert key in metrics
    # the single-dopant bins are the one-dopant spectra of the bins, no more
    single = metrics["by_concentration_single_dopant"]
    assert sum(b["n"] for b in single.values()) == metrics["by_n_dopants"]["1"]["n"]
    for name, b in single.items():
        assert b["n"] <= metrics["by_concentration"][name]["n"]
    # the detection rates of the fine bins weigh up to the overall recall
    fine = [b for b in metrics["detection_by_concentration"].values() if b["n"]]
    assert sum(b["n"] for b in fine) == metrics["n_dopants_total"]
    found = sum(b["n"] * b["recall"] for b in fine)
    assert found / metrics["n_dopants_total"] == pytest.approx(metrics["recall"])


@pytest.mark.xfail(
    strict=True,
    reason="84 direct spectra of 12 hosts are too few to identify dopants on unseen hosts (AUC "
    "~0.5 here); with 24 hosts of mass-defect spectra it works (next test). Remove this mark "
    "when it passes.",
)
def test_identification_beats_chance_on_unseen_hosts(trained, split, ml_docs):
    q, _, _ = trained
    _, _, test = split
    pool = sorted({el for d in ml_docs for el in d["dopant_elements"]})
    present, absent, _, _ = _probe(q, test, pool)
    auc = (present[:, None] > absent[None, :]).mean()
    assert auc > 0.7


@pytest.fixture(scope="module")
def md_split(test_dir):
    from defectnet_atomate.dataset import load_dataset

    docs = load_dataset(test_dir / "md_docs.json.gz")
    return split_by_host(docs, (0.7, 0.1, 0.2), seed=1)


def test_identification_beats_chance_on_unseen_hosts_given_many_hosts(md_split):
    """24 hosts of mass-defect spectra: a tiny model finds dopants in crystals it never saw."""
    train, val, test = md_split
    q = DefectQuantifier(network_config=TINY, seed=0)
    q.fit(train, val, epochs=15, patience=5, progress=False, seed=0)
    pool = sorted({el for d in train + val + test for el in d["dopant_elements"]})
    present, absent, _, _ = _probe(q, test, pool)
    auc = (present[:, None] > absent[None, :]).mean()
    assert len(present) > 50 and auc > 0.55  # chance: 0.5 (seeds 0-2 give 0.65-0.69)


def test_save_and_load_give_identical_predictions(trained, ml_docs, tmp_path):
    q, _, _ = trained
    q.metadata["name"] = "tiny-test"
    folder = q.save_pretrained(tmp_path / "tiny")
    assert {p.name for p in folder.iterdir()} >= {"config.json", "model.safetensors", "README.md"}
    config = json.loads((folder / "config.json").read_text())
    assert config["metadata"]["weights_sha256"] in (folder / "README.md").read_text()
    assert "## Decision rules" not in (folder / "README.md").read_text()
    q.metadata["recalibration"] = "Thresholds recalibrated on the grown exports."
    card = (q.save_pretrained(tmp_path / "recalibrated") / "README.md").read_text()
    assert "## Decision rules\n\nThresholds recalibrated on the grown exports." in card
    del q.metadata["recalibration"]
    again = DefectQuantifier.from_pretrained(folder)
    a, b = q.predict(ml_docs[0]), again.predict(ml_docs[0])
    assert a.as_dict() == b.as_dict()
    c = DefectQuantifier.from_dict(json.loads(json.dumps(q.as_dict()))).predict(ml_docs[0])
    assert c.as_dict() == a.as_dict()
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        DefectQuantifier.from_pretrained("no-such-model")


def _pdos(doc):
    return np.asarray(doc["pdos"]["frequencies"]), np.asarray(doc["pdos"]["total"])


def test_document_objects_predict(trained, si_docs):
    q, _, _ = trained
    doc = DefectPhononDoc.model_validate(si_docs[2])
    pred = q.predict(doc, candidates=["Ge", "Sn", "C"])
    assert {d.element for d in pred.dopants} == {"Ge", "Sn", "C"}
    assert pred.host_formula == "Si"


def test_every_accepted_input_predicts(trained, ml_docs, tmp_path):
    from pymatgen.core import Structure
    from pymatgen.phonon.dos import CompletePhononDos, PhononDos

    q, _, _ = trained
    doc = ml_docs[0]
    cands = doc["dopant_elements"]
    host = doc["host"]["structure"]
    host = host if isinstance(host, Structure) else Structure.from_dict(host)
    comp = doc["host"]["composition"]
    f, d = _pdos(doc)
    pf, pd = (
        np.asarray(doc["pristine_pdos"]["frequencies"]),
        np.asarray(doc["pristine_pdos"]["total"]),
    )
    pristine = PhononDos(pf, pd)
    # a reference given as a spectrum carries no projected DOS (no candidate-site inputs):
    # compare those forms with the document without its projections
    bare = {
        **doc,
        "pristine_pdos": {k: v for k, v in doc["pristine_pdos"].items() if k != "projected"},
    }
    reference = q.predict(bare, candidates=cands).as_dict()
    with_sites = q.predict(doc, candidates=cands).as_dict()
    assert with_sites != reference  # the projections do reach the model

    def same(pred):
        assert isinstance(pred, DefectPrediction)
        got = {x["element"]: x["probability"] for x in pred.as_dict()["dopants"]}
        want = {x["element"]: x["probability"] for x in reference["dopants"]}
        for el in cands:
            assert got[el] == pytest.approx(want[el], abs=0.02)

    recommended = q.predict(doc)  # candidates from the dopant recommender
    assert len(recommended.dopants) >= 3
    same(q.predict(PhononDos(f, d), host=pristine, composition=comp, candidates=cands))
    complete = CompletePhononDos(host, PhononDos(pf, pd), {})
    same(q.predict(PhononDos(f, d), host=complete, candidates=cands))
    same(
        q.predict(
            (f * 4.135667696, d), host=pristine, composition=comp, candidates=cands, unit="meV"
        )
    )
    same(
        q.predict(
            (f * 33.35640951981521, d),
            host=pristine,
            composition=comp,
            candidates=cands,
            unit="cm-1",
        )
    )
    csv = tmp_path / "spectrum.csv"
    csv.write_text(
        "# energy (meV), DOS\n"
        + "\n".join(f"{a * 4.135667696},{b}" for a, b in zip(f, d, strict=False))
    )
    same(q.predict(csv, host=pristine, composition=comp, candidates=cands))
    js = tmp_path / "spectrum.json"
    js.write_text(json.dumps({"frequencies": f.tolist(), "densities": d.tolist(), "unit": "THz"}))
    same(q.predict(str(js), host=pristine, composition=comp, candidates=cands))
    bsdos = {"phonon_dos": PhononDos(f, d).as_dict()}
    same(q.predict(bsdos, host=pristine, composition=comp, candidates=cands))
    batch = q.predict([doc, ml_docs[1]])
    assert len(batch) == 2 and all(isinstance(p, DefectPrediction) for p in batch)
    text = str(batch[0])
    assert "at.%" in text and doc["host"]["formula"] in text


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda f, d: (f, d * np.nan), "NaN or infinite"),
        (lambda f, d: (f, d - 2 * d.max()), "negative densities"),
        (lambda f, d: (f[::-1], d), "not sorted"),
        (lambda f, d: (np.r_[f[:3], f[2:]], np.r_[d[:3], d[2:]]), "repeats frequency"),
        (lambda f, d: (f[:0], d[:0]), "empty"),
        (lambda f, d: (f * 4.135667696, d), "look like meV"),
        (lambda f, d: (f * 12, d), "does not look like a spectrum of this host"),
    ],
)
def test_bad_spectra_are_refused(trained, ml_docs, change, match):
    q, _, _ = trained
    doc = ml_docs[0]
    f, d = _pdos(doc)
    pristine = (doc["pristine_pdos"]["frequencies"], doc["pristine_pdos"]["total"])
    with pytest.raises(SpectrumError, match=match):
        q.predict(
            change(f, d),
            host=pristine,
            unit="THz",
            composition=doc["host"]["composition"],
            candidates=doc["dopant_elements"],
        )


def test_bad_arguments_are_refused(trained, ml_docs, tmp_path):
    from pymatgen.core import Lattice, Structure
    from pymatgen.phonon.dos import CompletePhononDos, PhononDos

    q, _, _ = trained
    doc = ml_docs[0]
    f, d = _pdos(doc)
    with pytest.raises(ValueError, match="Unknown element"):
        q.predict(doc, candidates=["Zz"])
    with pytest.raises(SpectrumError, match="needs its unit"):
        q.predict((f, d), host=PhononDos(f, d), composition={"Si": 1})
    with pytest.raises(SpectrumError, match="host is unknown"):
        q.predict(PhononDos(f, d), candidates=["Ge"])
    other = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    with pytest.raises(SpectrumError, match="not of this host"):
        q.predict(
            CompletePhononDos(other, PhononDos(f, d), {}),
            host=PhononDos(*_pdos(doc)),
            composition=doc["host"]["composition"],
            candidates=["Ge"],
        )
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,apple\n")
    with pytest.raises(SpectrumError, match="cannot read numbers"):
        q.predict(bad, unit="THz")
    nounit = tmp_path / "nounit.csv"
    nounit.write_text("\n".join(f"{a},{b}" for a, b in zip(f, d, strict=False)))
    with pytest.raises(SpectrumError, match="does not say its frequency unit"):
        q.predict(nounit)


def test_fine_tune_moves_only_the_heads(trained, ml_docs):
    import copy

    q0, _, _ = trained
    q = copy.deepcopy(q0)
    q.threshold, q.threshold_measured = 0.01, 0.99  # recalibration must move the first only
    q.gates = {**q.gates, "threshold": 0.6}  # ... and may raise its gate, not lower it
    encoder_before = [p.clone() for p in q.network.encoder.parameters()]
    heads_before = [p.clone() for p in q.network.presence.parameters()]
    docs = ml_docs[:4]
    history = q.fine_tune(
        docs,
        [{x["element"]: x["atomic_percent"] for x in d["dopants"]} for d in docs],
        host=None,
        epochs=5,
        recalibrate=True,
    )
    assert history["train_loss"]
    assert q.threshold >= 0.1 and q.threshold_measured == 0.99  # documents: simulated spectra
    assert q.threshold != 0.01 and q._decision(False)[1] >= 0.6
    assert all(
        torch_equal(a, b)
        for a, b in zip(encoder_before, q.network.encoder.parameters(), strict=False)
    )
    assert not all(
        torch_equal(a, b)
        for a, b in zip(heads_before, q.network.presence.parameters(), strict=False)
    )


def test_fine_tune_keeps_the_pristine_loss_the_model_was_trained_with(
    trained, ml_docs, monkeypatch
):
    import copy

    from defectnet_atomate.ml import quantifier

    q0, _, _ = trained
    assert q0.metadata["training"]["pristine_top_weight"] == 0.0  # fit records it
    seen = []

    def record(network, examples, validation, config, parameters=None):
        seen.append(config.pristine_top_weight)
        return {"train_loss": [0.0]}

    monkeypatch.setattr(quantifier, "train_network", record)
    q = copy.deepcopy(q0)
    q.metadata["training"]["pristine_top_weight"] = 30.0
    docs = ml_docs[:2]
    truths = [{x["element"]: x["atomic_percent"] for x in d["dopants"]} for d in docs]
    q.fine_tune(docs, truths, host=None, epochs=1, recalibrate=False)
    q.fine_tune(docs, truths, host=None, epochs=1, recalibrate=False, pristine_top_weight=0)
    assert seen == [30.0, 0]


def test_fine_tune_on_measurements_gives_measured_undoped_copies_of_the_reference(
    trained, ml_docs, monkeypatch
):
    """Measured tuning spectra: the reference's undoped copies carry noise, background, tail."""
    import copy

    from defectnet_atomate.ml import quantifier

    seen = []

    def record(network, examples, validation, config, parameters=None):
        seen.append([e for e in examples if not e.truth])
        return {"train_loss": [0.0]}

    monkeypatch.setattr(quantifier, "train_network", record)
    q = copy.deepcopy(trained[0])
    docs = [d for d in ml_docs if d["host"]["composition"] == ml_docs[0]["host"]["composition"]]
    docs = [d for d in docs if d["dopants"]][:3]
    pristine = docs[0]["pristine_pdos"]
    host = (np.asarray(pristine["frequencies"]), np.asarray(pristine["total"]))
    truths = [{x["element"]: x["atomic_percent"] for x in d["dopants"]} for d in docs]
    kwargs = {"host": host, "composition": docs[0]["host"]["composition"], "unit": "THz"}
    kwargs |= {"epochs": 1, "recalibrate": False, "align": False}
    q.fine_tune([_pdos(d) for d in docs], truths, **kwargs)  # arrays: measured
    q.fine_tune(docs, truths, host=None, epochs=1, recalibrate=False)  # documents: simulated
    measured, simulated = seen
    assert measured and simulated
    for e in measured:
        ref = np.interp(e.doped.frequencies, e.pristine.frequencies, e.pristine.densities)
        assert np.abs(e.doped.densities - ref).max() > 1e-3 * ref.max()
    assert all(e.doped is e.pristine for e in simulated)


def torch_equal(a, b):
    import torch

    return bool(torch.equal(a, b))


def test_spectrum_kinds_make_a_matching_reference(trained, si_docs):
    """kind='neutron'/'partial:X' weight the document's spectra and its reference alike."""
    from defectnet_atomate.measurement import neutron_weighted_dos
    from defectnet_atomate.ml.quantifier import _spectrum_of_kind
    from defectnet_atomate.schemas import PhononDosData

    doc = si_docs[2]  # Si with Ge and Sn
    pdos = PhononDosData(**doc["pdos"])
    neutron = _spectrum_of_kind(doc["pdos"], "neutron", "doc")
    assert np.allclose(neutron.densities, np.clip(neutron_weighted_dos(pdos), 0, None))
    partial = _spectrum_of_kind(doc["pristine_pdos"], "partial:Si", "doc")
    assert np.allclose(partial.densities, doc["pristine_pdos"]["projected"]["Si"])
    q, _, _ = trained
    by_kind = {
        kind: q.predict(doc, candidates=["Ge", "Sn", "C"], kind=kind).as_dict()
        for kind in ("pdos", "neutron", "partial:Si")
    }
    assert by_kind["pdos"] != by_kind["neutron"]
    with pytest.raises(SpectrumError, match="partial:Fe"):
        q.predict(doc, candidates=["Ge"], kind="xray")
    with pytest.raises(SpectrumError, match="no element projections"):
        _spectrum_of_kind(
            {"frequencies": [0, 1, 2, 3, 4], "total": [0, 1, 2, 1, 0]}, "neutron", "x"
        )


def test_resolution_broadens_a_simulated_reference(trained, si_docs):
    q, _, _ = trained
    doc = si_docs[0]
    sharp = q._resolve(doc, None, ["Ge"], None, None)[1]
    broad = q._resolve(doc, None, ["Ge"], None, None, "pdos", 4.0)[1]  # 4 meV FWHM
    assert broad.densities.max() < 0.9 * sharp.densities.max()
    area = np.trapezoid(broad.densities, broad.frequencies)
    assert area == pytest.approx(np.trapezoid(sharp.densities, sharp.frequencies), rel=0.01)


def test_metrics_break_down_by_element_and_host_family(trained, split):
    from defectnet_atomate.ml.training import host_family

    assert host_family({"Zn": 0.5, "O": 0.5}) == "oxide"
    assert host_family({"Cs": 0.5, "I": 0.5}) == "halide"
    assert host_family({"Si": 1.0}) == "other"
    q, _, _ = trained
    metrics = q.evaluate(split[2])
    n = sum(v["n"] for v in metrics["by_element"].values())
    assert n == metrics["n_dopants_total"]
    assert all(0 <= v["recall"] <= 1 for v in metrics["by_element"].values())
    families = metrics["by_host_family"]
    assert sum(v["n_dopants"] for v in families.values()) == n
    # every distractor is counted once, as plausible for its host (its pool) or not, and the
    # ones called present add up to the false positives behind the precision
    kinds = metrics["distractor_false_positive_rate"]
    n_neg = sum(k["n"] for k in kinds.values())
    fp = sum(round(k["rate"] * k["n"]) for k in kinds.values() if k["n"])
    tp = round(metrics["recall"] * n)
    assert n_neg > 0
    if tp + fp:
        assert metrics["precision"] == pytest.approx(tp / (tp + fp))


def test_evaluation_can_offer_only_the_hosts_plausible_dopants(trained, split):
    """global_pool=[]: every distractor from the host's own pool (as a user's candidates)."""
    q, _, _ = trained
    mixed = q.evaluate(split[2])["distractor_false_positive_rate"]
    local = q.evaluate(split[2], global_pool=[])["distractor_false_positive_rate"]
    assert mixed["other"]["n"] > 0
    assert local["other"]["n"] == 0 and local["host_pool"]["n"] > 0


def test_threshold_is_calibrated_on_validation(trained, split):
    from defectnet_atomate.ml.training import (
        calibrate_threshold,
        evaluate_network,
        examples_from_docs,
    )

    q, _, _ = trained
    val = examples_from_docs(split[1])
    t = calibrate_threshold(q.network, val)
    assert 0.3 <= t <= 0.95
    at_t = evaluate_network(q.network, val, threshold=t, seed=98)
    at_half = evaluate_network(q.network, val, threshold=0.5, seed=98)
    if at_half["pristine_false_positive_rate"] <= 0.02:
        assert at_t["pristine_false_positive_rate"] <= 0.02
        assert at_t["f1"] >= at_half["f1"] - 1e-9


def test_gated_decision_keeps_pristine_spectra_undoped_and_beats_one_threshold(trained, split):
    """The gate (spectrum doped?) and the lower candidate threshold are chosen together:
    never a worse F1 than the best single threshold, with the same pristine limit."""
    from defectnet_atomate.ml.training import (
        calibrate_decision,
        calibrate_threshold,
        evaluate_network,
        examples_from_docs,
    )

    q, _, _ = trained
    val = examples_from_docs(split[1])
    threshold, gate = calibrate_decision(q.network, val)
    assert 0.1 <= threshold <= gate <= 0.95
    single = calibrate_threshold(q.network, val)
    gated = evaluate_network(q.network, val, threshold, gate=gate, seed=98)
    one = evaluate_network(q.network, val, single, seed=98)
    if one["pristine_false_positive_rate"] <= 0.02:
        assert gated["pristine_false_positive_rate"] <= 0.02
        assert gated["f1"] >= one["f1"] - 1e-9
    # a gate above every probability calls nothing present, pristine or not
    assert evaluate_network(q.network, val, 0.0, gate=1.01, seed=98)["recall"] == 0.0


def test_calibration_budget_holds_for_plausible_candidates_of_pristine_spectra(
    trained, split, monkeypatch
):
    """plausible_pristine: the pristine budget is spent on the host's own plausible dopants,
    what a user offers for an undoped sample; doped spectra keep the evaluation's mix.
    Pristine spectra offered exactly those draws (pristine first, same seed) are called
    doped no more often than the budget."""
    from defectnet_atomate.ml import training
    from defectnet_atomate.ml.training import (
        calibrate_decision,
        evaluate_network,
        examples_from_docs,
    )

    q, _, _ = trained
    val = examples_from_docs(split[1], pristine_copies=8)
    pristine = [e for e in val if not e.truth]
    ordered = pristine + [e for e in val if e.truth]
    assert pristine and len(ordered) > len(pristine)
    drawn: dict[bool, list] = {}
    real = training.predict_arrays

    def spy(network, examples, sets):
        drawn[plausible] = sets
        return real(network, examples, sets)

    monkeypatch.setattr(training, "predict_arrays", spy)
    for plausible in (False, True):
        calibrate_decision(q.network, ordered, plausible_pristine=plausible)

    def outside_pool(sets: list, examples: list) -> int:
        return sum(
            el not in e.pool for e, c in zip(examples, sets, strict=True) for el in c if not e.truth
        )

    assert outside_pool(drawn[False], ordered) > 0  # the evaluation's mix
    assert outside_pool(drawn[True], ordered) == 0
    doped = [e for e in ordered if e.truth]
    assert (
        sum(
            el not in e.pool and el not in e.truth
            for e, c in zip(doped, drawn[True][len(pristine) :], strict=True)
            for el in c
        )
        > 0
    )
    monkeypatch.setattr(training, "predict_arrays", real)
    for budget in (0.0, 0.25):
        threshold, gate = calibrate_decision(
            q.network, ordered, max_pristine_fpr=budget, plausible_pristine=True
        )
        local = evaluate_network(q.network, pristine, threshold, gate=gate, seed=98, global_pool=[])
        assert local["pristine_false_positive_rate"] <= budget or gate == 0.95


def test_calibrate_records_how_pristine_candidates_were_drawn(trained, split):
    import copy

    q0, _, _ = trained
    q = copy.deepcopy(q0)
    q.calibrate(split[1], measured=False)
    assert q.metadata["calibration_pristine_candidates"] == "host pool"
    q.calibrate(split[1], measured=False, plausible_pristine=False)
    assert q.metadata["calibration_pristine_candidates"] == "evaluation draw"


def test_prediction_gate_decides_whether_any_candidate_is_present():
    from defectnet_atomate.ml.prediction import DefectPrediction, DopantEstimate

    estimates = [DopantEstimate("Ge", 6.0, 0.6, 0.4), DopantEstimate("C", 1.0, 0.3, 0.5)]
    gated = DefectPrediction(estimates, "Si", threshold=0.25, gate=0.7)
    assert not gated.doped and gated.present == []
    assert "present" not in str(gated)
    open_ = DefectPrediction(estimates, "Si", threshold=0.25, gate=0.5)
    assert open_.doped and [d.element for d in open_.present] == ["Ge", "C"]
    again = DefectPrediction.from_dict(open_.as_dict())
    assert again.gate == 0.5 and len(again.present) == 2
    assert DefectPrediction(estimates, "Si", threshold=0.5).present[0].element == "Ge"


def test_uninformative_predictions_say_so(si_docs):
    """An untrained network gives every candidate about the same probability: a warning."""
    model = DefectQuantifier(network_config={"width": 16, "heads": 2, "layers": 1}, seed=0)
    prediction = model.predict(si_docs[2], candidates=["Ge", "Sn", "C"])
    spread = max(d.probability for d in prediction.dopants) - min(
        d.probability for d in prediction.dopants
    )
    if spread < 0.05:
        assert any("does not tell these candidates apart" in w for w in prediction.warnings)
        assert "warning:" in str(prediction)
    else:
        assert not prediction.warnings


def test_measured_spectra_get_their_own_threshold(trained, ml_docs, tmp_path):
    """Documents are judged as simulated, arrays and files as measured (unless told)."""
    import copy

    q, _, _ = trained
    q = copy.deepcopy(q)
    q.threshold, q.threshold_measured, q.threshold_measured_no_sites = 0.3, 0.9, 0.9
    doc = ml_docs[0]
    pristine = doc["pristine_pdos"]
    host = (np.asarray(pristine["frequencies"]), np.asarray(pristine["total"]))
    comp = doc["host"]["composition"]
    cands = doc["dopant_elements"]
    assert q.predict(doc).threshold == 0.3
    kwargs = {"host": host, "composition": comp, "candidates": cands, "unit": "THz"}
    measured = q.predict(_pdos(doc), **kwargs)
    assert measured.threshold == 0.9
    assert any("measured spectrum" in w for w in measured.warnings)
    told = q.predict(_pdos(doc), measured=False, **kwargs)
    assert told.threshold == 0.3
    assert q.predict(doc, measured=True).threshold == 0.9
    again = DefectQuantifier.from_pretrained(q.save_pretrained(tmp_path / "m"))
    assert again.threshold_measured == 0.9
    assert "0.9 for measured ones" in (tmp_path / "m" / "README.md").read_text()
    # a measured reference given as a spectrum has no projected DOS (two-element host here):
    # its own threshold; with the projections (a document's reference) the usual one
    q.threshold_measured_no_sites = 0.7
    assert len(comp) == 2
    assert q.predict(_pdos(doc), **kwargs).threshold == 0.7
    assert q.predict(doc, measured=True).threshold == 0.9
    again = DefectQuantifier.from_dict(q.as_dict())
    assert again.threshold_measured_no_sites == 0.7
    # a gate above the threshold: the spectrum must convince first, then candidates count
    q.gates = {"threshold_measured_no_sites": 0.95}
    gated = q.predict(_pdos(doc), **kwargs)
    assert (gated.threshold, gated.gate) == (0.7, 0.95)
    assert any("gate 0.95" in w for w in gated.warnings)
    assert DefectQuantifier.from_dict(q.as_dict()).gates == q.gates
    saved = DefectQuantifier.from_pretrained(q.save_pretrained(tmp_path / "g"))
    assert saved._decision(True, False) == (0.7, 0.95)
    assert "reaches 0.95" in (tmp_path / "g" / "README.md").read_text()
    q.gates = {}
    # a model whose calibration found measured spectra better read without site inputs
    # leaves the projections out for every measured spectrum, documents included
    q.measured_site_inputs = False
    assert q.predict(doc, measured=True).threshold == 0.7
    assert q.predict(doc).threshold == 0.3  # simulated: unchanged
    assert not DefectQuantifier.from_dict(q.as_dict()).measured_site_inputs


def test_fit_calibrates_a_threshold_for_references_without_projections(split):
    """With augmentation, fit sets all three thresholds on validation spectra."""
    from defectnet_atomate.ml.augment import MeasurementAugmentation

    train, val, _ = split
    q = DefectQuantifier(network_config={"width": 32, "heads": 4, "layers": 1}, seed=0)
    q.fit(train, val, epochs=2, progress=False, augment=MeasurementAugmentation(probability=0.5))
    assert 0.1 <= q.threshold <= q.gates["threshold"] <= 0.95
    assert q.threshold_measured is not None and q.threshold_measured_no_sites is not None
    assert q.gates["threshold_measured"] >= q.threshold_measured
    assert isinstance(q.measured_site_inputs, bool)
    q.calibrate(val, measured=False)
    assert q.threshold_measured is None and q.threshold_measured_no_sites is None


def test_align_matches_the_reference_to_the_instrument(trained, ml_docs):
    """An undoped measurement on a stretched axis: align reports the instrument it fitted
    and brings the model's input back to what it sees for the reference itself."""
    q, _, _ = trained
    doc = ml_docs[0]
    pristine = doc["pristine_pdos"]
    f, d = np.asarray(pristine["frequencies"]), np.asarray(pristine["total"])
    stretched = (f * 1.05, d / 1.05)  # the undoped sample on an energy axis 5 % off
    kwargs = {"host": (f, d), "composition": doc["host"]["composition"], "unit": "THz"}
    cands = [el for el in ("Ge", "Sn", "C", "Ba") if el not in doc["host"]["composition"]][:2]
    plain = q.predict(stretched, candidates=cands, explain=True, **kwargs)
    aligned = q.predict(stretched, candidates=cands, align=True, explain=True, **kwargs)
    note = next(w for w in aligned.warnings if "matched to the instrument" in w)
    assert "x1.05" in note
    assert not any("matched to the instrument" in w for w in plain.warnings)

    def difference(p):  # size of the difference the network read
        e = p.explanation
        return np.abs(np.asarray(e["doped"]) - np.asarray(e["pristine"])).sum()

    assert difference(aligned) < 0.3 * difference(plain)
    # a model calibrated on matched references matches measured spectra by default (and
    # says so in its card), never simulated ones; older models keep it off
    import copy

    from pymatgen.phonon.dos import PhononDos

    q2 = copy.deepcopy(q)
    assert not q2.align_measured
    q2.align_measured = True
    simulated_reference = {**kwargs, "host": PhononDos(f, d)}
    default = q2.predict(stretched, candidates=cands, **simulated_reference)
    assert any("matched to the instrument" in w for w in default.warnings)
    # a reference passed as a measurement (here an array) shares the instrument: not matched
    own = q2.predict(stretched, candidates=cands, **kwargs)
    assert not any("matched to the instrument" in w for w in own.warnings)
    off = q2.predict(stretched, candidates=cands, align=False, **kwargs)
    assert not any("matched to the instrument" in w for w in off.warnings)
    simulated = q2.predict(doc, candidates=cands)
    assert not any("matched to the instrument" in w for w in simulated.warnings)
    assert DefectQuantifier.from_dict(q2.as_dict()).align_measured
    assert "matched to its instrument" in q2._model_card("0" * 64)


def test_neutron_measurements_get_a_threshold_of_their_own(trained, split, si_docs, tmp_path):
    """Calibrated on neutron-weighted measurement-like validation copies where the documents
    have a neutron form; predict and evaluate use it for kind='neutron' only."""
    import copy

    from defectnet_atomate.dataset import compact
    from defectnet_atomate.ml.augment import measured_like_examples
    from defectnet_atomate.ml.training import examples_from_docs

    q0, _, _ = trained
    _, val, _ = split
    q = copy.deepcopy(q0)
    with_neutron = examples_from_docs([compact(d) for d in si_docs])
    plain = examples_from_docs(val)
    q.calibrate(plain + with_neutron, measured=True)
    assert q.threshold_measured_neutron is not None
    assert q.gates["threshold_measured_neutron"] >= q.threshold_measured_neutron
    n_pristine = sum(not e.truth for e in with_neutron)
    # four pristine draws beside the first: raw-like, two reduced, one against a measured reference
    assert q.metadata["neutron_calibration"]["n_spectra"] == len(with_neutron) + 4 * n_pristine
    assert q.metadata["measured_pristine_fpr_budget"] == 0.01
    # a looser budget for measured pristine spectra never makes the measured gate stricter
    loose = copy.deepcopy(q0)
    loose.calibrate(
        plain + with_neutron,
        measured=True,
        max_pristine_fpr_measured=0.5,
        max_pristine_fpr_neutron=0.5,
    )
    assert loose.gates["threshold_measured"] <= q.gates["threshold_measured"]
    assert loose.gates["threshold_measured_neutron"] <= q.gates["threshold_measured_neutron"]
    # the neutron rule may have a budget of its own (by default the measured one)
    assert q.metadata["neutron_calibration"]["pristine_fpr_budget"] == 0.01
    assert loose.metadata["neutron_calibration"]["pristine_fpr_budget"] == 0.5
    # it is calibrated as measured spectra are read: with the site inputs or without
    calibration = q.metadata["neutron_calibration"]
    assert calibration["site_inputs"] == q.measured_site_inputs
    # no neutron forms (or neutron=False): no such threshold, neutron spectra share the PDoS one
    q_plain = copy.deepcopy(q0)
    q_plain.calibrate(plain, measured=True)
    assert q_plain.threshold_measured_neutron is None
    q_plain.calibrate(plain + with_neutron, measured=True, neutron=False)
    assert q_plain.threshold_measured_neutron is None

    q.threshold, q.threshold_measured, q.threshold_measured_neutron = 0.3, 0.6, 0.85
    q.gates = {"threshold_measured_neutron": 0.9}
    doc = si_docs[2]
    assert q.predict(doc, candidates=["Ge", "Sn"], kind="neutron").threshold == 0.85
    assert q.predict(doc, candidates=["Ge", "Sn"], kind="neutron").gate == 0.9
    assert q.predict(doc, candidates=["Ge", "Sn"], measured=True).threshold == 0.6
    partial = q.predict(doc, candidates=["Ge", "Sn"], kind="partial:Si")
    assert partial.threshold == 0.6
    assert any("not trained on partial DOS ('partial:Si')" in n for n in partial.warnings)
    assert not any("partial DOS" in n for n in q.predict(doc, candidates=["Ge"]).warnings)
    q.metadata["trained_kinds"] = ["pdos", "neutron", "partial:Si"]
    assert not any(
        "not trained" in n for n in q.predict(doc, candidates=["Ge"], kind="partial:Si").warnings
    )
    q.metadata["trained_kinds"] = ["pdos", "neutron", "partial"]  # fit(partial=...): any element
    assert not any(
        "not trained" in n for n in q.predict(doc, candidates=["Ge"], kind="partial:Si").warnings
    )
    assert q.predict(doc, candidates=["Ge", "Sn"]).threshold == 0.3
    # evaluate judges the neutron copies (marked kind="neutron") by the same rule
    copies = measured_like_examples(with_neutron, neutron=1.0)
    assert {e.kind for e in copies} == {"neutron"}
    assert {e.kind for e in measured_like_examples(with_neutron)} == {"pdos"}
    assert q._decision(True, copies[0].has_sites(), copies[0].kind) == (0.85, 0.9)
    assert "n_dopants_total" in q.evaluate(copies, measured=True)
    again = DefectQuantifier.from_pretrained(q.save_pretrained(tmp_path / "n"))
    assert again.threshold_measured_neutron == 0.85
    # a neutron measurement read without site inputs (a model that reads measured spectra so)
    # gets the neutron rule where that rule was calibrated so, and else (a rule calibrated
    # with site inputs, before 0.13) the PDoS rule without site inputs
    q.threshold_measured_no_sites = 0.7
    q.metadata["neutron_calibration"] = {"site_inputs": False}
    assert q._decision(True, False, "neutron") == (0.85, 0.9)
    q.measured_site_inputs = False
    assert q.predict(doc, candidates=["Ge"], kind="neutron").threshold == 0.85
    q.metadata["neutron_calibration"] = {}
    assert q._decision(True, False, "neutron")[0] == 0.7
    assert q._decision(True, True, "neutron")[0] == 0.85
    assert DefectQuantifier.from_dict(q.as_dict()).threshold_measured_neutron == 0.85
    assert "0.85 for measured neutron-weighted ones" in (tmp_path / "n" / "README.md").read_text()


def test_measured_calibration_draws_reduced_pristine_measurements(ml_docs):
    """Two of the four pristine draws stand for measurements reduced with care."""
    from defectnet_atomate.ml.training import examples_from_docs

    examples = examples_from_docs(ml_docs[:8])
    pristine = [e for e in examples if not e.truth]
    assert pristine
    out = DefectQuantifier._measured_like(examples, seed=0)
    assert len(out) == len(examples) + 4 * len(pristine)
    # the last draw pairs two measurements of the pristine sample (a measured reference)
    for e in out[-len(pristine) :]:
        assert e.pristine.source.startswith("distorted")
    out = out[: -len(pristine)]
    plain = DefectQuantifier._measured_like(
        examples, seed=0, reduced=False, measured_reference=False
    )
    assert len(plain) == len(examples) + 3 * len(pristine)
    n = len(examples) + len(pristine)
    # the first two draws are those of before; the last is without tail and background
    for a, b in zip(out[:n], plain[:n], strict=True):
        assert np.array_equal(a.doped.densities, b.doped.densities)
    last = slice(-len(pristine), None)
    for e, bare, full in zip(pristine, out[last], plain[last], strict=True):
        top = 1.3 * e.pristine.quantile_frequency(0.999)
        share = [
            float(x.doped.densities[x.doped.frequencies > top].sum() / x.doped.densities.sum())
            for x in (bare, full)
        ]
        assert share[0] < share[1]


def test_measured_calibration_more_pristine_draws(ml_docs):
    """pristine_draws repeats the pristine draws on fresh seeds; its first round is the old one."""
    from defectnet_atomate.ml.training import examples_from_docs

    examples = examples_from_docs(ml_docs[:8])
    pristine = [e for e in examples if not e.truth]
    one = DefectQuantifier._measured_like(examples, seed=0)
    three = DefectQuantifier._measured_like(examples, seed=0, pristine_draws=3)
    assert len(three) == len(examples) + 3 * 4 * len(pristine)
    for a, b in zip(one, three, strict=False):
        assert np.array_equal(a.doped.densities, b.doped.densities)
    # the later rounds are draws of their own, not copies of the first
    n = len(one)
    assert not np.array_equal(three[n].doped.densities, three[len(examples)].doped.densities)
    with pytest.raises(ValueError, match="pristine_draws=0"):
        DefectQuantifier._measured_like(examples, seed=0, pristine_draws=0)


def test_hydrogen_called_present_in_a_neutron_spectrum_gets_a_note(trained, si_docs):
    """H's neutron weight makes a multiphonon tail or background look like its local modes."""
    import copy

    from defectnet_atomate.ml.quantifier import NEUTRON_HYDROGEN_NOTE

    q0, _, _ = trained
    q = copy.deepcopy(q0)
    q.threshold, q.threshold_measured, q.threshold_measured_neutron = 0.0, 0.0, 0.0
    q.gates = {}
    doc = si_docs[2]
    called = q.predict(doc, candidates=["H", "Ge"], kind="neutron")
    assert "H" in [d.element for d in called.present]
    assert NEUTRON_HYDROGEN_NOTE in called.warnings
    assert NEUTRON_HYDROGEN_NOTE not in q.predict(doc, candidates=["H", "Ge"]).warnings
    assert NEUTRON_HYDROGEN_NOTE not in q.predict(doc, candidates=["Ge"], kind="neutron").warnings
    q.gates = {"threshold_measured_neutron": 1.01}  # nothing called present
    assert NEUTRON_HYDROGEN_NOTE not in q.predict(doc, candidates=["H"], kind="neutron").warnings


def test_hosts_whose_neutron_weight_one_element_holds_get_a_rule_of_their_own(
    trained, si_docs, tmp_path, monkeypatch
):
    """Neutron measurements of hydrogen-dominated hosts are judged by a rule set on such hosts."""
    import copy
    from dataclasses import replace

    from defectnet_atomate.dataset import compact
    from defectnet_atomate.ml import quantifier as module
    from defectnet_atomate.ml.training import examples_from_docs

    q0, _, _ = trained
    q = copy.deepcopy(q0)
    with_neutron = examples_from_docs([compact(d) for d in si_docs])
    q.threshold_measured_neutron = None
    with pytest.raises(ValueError, match="no rule for neutron measurements"):
        q.calibrate_neutron_dominated(with_neutron)
    # Si holds all of silicon's neutron weight, but a one-element host is not "dominated"
    q.calibrate(with_neutron, measured=True)
    assert q.threshold_measured_neutron is not None
    assert q.threshold_measured_neutron_dominated is None
    assert q.metadata["neutron_dominated_calibration"]["n_hosts"] == 0
    # the same spectra as if of a hydride: H holds nearly all of the neutron weight
    hydride = [replace(e, composition={"H": 0.5, "Si": 0.5}, _features=None) for e in with_neutron]
    assert module._neutron_dominance(hydride[0].composition)
    kept = (q.threshold, q.threshold_measured, q.threshold_measured_neutron, dict(q.gates))
    q.calibrate_neutron_dominated(hydride)  # one host: fewer than MIN_DOMINATED_HOSTS
    assert q.threshold_measured_neutron_dominated is None
    assert not q.metadata["neutron_dominated_calibration"]["calibrated"]
    monkeypatch.setattr(module, "MIN_DOMINATED_HOSTS", 1)
    q.calibrate_neutron_dominated(hydride)
    assert q.threshold_measured_neutron_dominated is not None
    key = "threshold_measured_neutron_dominated"
    assert q.gates[key] >= q.threshold_measured_neutron_dominated
    # the other rules are untouched
    assert (q.threshold, q.threshold_measured, q.threshold_measured_neutron) == kept[:3]
    assert {k: v for k, v in q.gates.items() if k != key} == kept[3]
    assert q.metadata["neutron_dominated_calibration"]["calibrated"]
    assert q.metadata["neutron_dominated_calibration"]["pristine_fpr_budget"] == 0.01

    q.threshold_measured_neutron, q.threshold_measured_neutron_dominated = 0.85, 0.7
    q.gates = {"threshold_measured_neutron": 0.9, key: 0.97}
    # (these one-element examples carry no site inputs: a neutron rule calibrated without them)
    q.metadata["neutron_calibration"]["site_inputs"] = False
    neutron = replace(hydride[0], kind="neutron")
    assert q.decision_for(neutron, measured=True) == (0.7, 0.97)
    assert q.decision_for(replace(with_neutron[0], kind="neutron"), measured=True) == (0.85, 0.9)
    assert q.decision_for(hydride[0], measured=True)[0] == q.threshold_measured  # a PDoS
    assert q.decision_for(neutron, measured=False) == (
        q.threshold,
        q.gates.get("threshold", q.threshold),
    )
    # the Si document itself is no hydride: its neutron rule is the general one
    assert q.predict(si_docs[2], candidates=["Ge"], kind="neutron").gate == 0.9
    again = DefectQuantifier.from_pretrained(q.save_pretrained(tmp_path / "d"))
    assert again.threshold_measured_neutron_dominated == 0.7
    assert DefectQuantifier.from_dict(q.as_dict()).threshold_measured_neutron_dominated == 0.7
    assert "0.7 for measured neutron-weighted ones of hosts whose neutron weight one element" in (
        tmp_path / "d" / "README.md"
    ).read_text().replace("\n", " ")


def test_fine_tune_on_neutron_measurements_tunes_their_rule(trained, si_docs, monkeypatch):
    """kind="neutron": tuned on neutron-weighted pairs, the neutron rule recalibrated alone."""
    import copy

    from defectnet_atomate.ml import quantifier

    q0, _, _ = trained
    seen = []

    def record(network, examples, validation, config, parameters=None):
        seen.extend(examples)
        return {"train_loss": [0.0]}

    monkeypatch.setattr(quantifier, "train_network", record)
    q = copy.deepcopy(q0)
    q.threshold, q.threshold_measured, q.threshold_measured_neutron = 0.4, 0.5, 0.99
    docs = si_docs[:2]
    truths = [{x["element"]: x["atomic_percent"] for x in d["dopants"]} for d in docs]
    q.fine_tune(docs, truths, host=None, epochs=1, recalibrate=True, kind="neutron")
    assert seen and {e.kind for e in seen} == {"neutron"}
    assert q.threshold_measured_neutron != 0.99  # the rule predict judges neutron data by
    assert (q.threshold, q.threshold_measured) == (0.4, 0.5)
    with pytest.raises(SpectrumError, match="Unknown spectrum kind"):
        q.fine_tune(docs, truths, host=None, kind="raman")


def test_fit_on_partial_dos_records_the_kind(si_docs):
    """fit(partial=) reads partial DOS in training and says so: no 'never trained' note."""
    q = DefectQuantifier(network_config=TINY, seed=0)
    q.fit(si_docs, None, epochs=1, progress=False, partial=0.5)
    assert q.metadata["training"]["partial"] == 0.5
    assert q.metadata["trained_kinds"] == ["pdos", "partial"]
    result = q.predict(si_docs[0], candidates=["Ge", "Sn"], kind="partial:Si")
    assert not any("not trained on partial" in n for n in result.warnings)
    plain = DefectQuantifier(network_config=TINY, seed=0)
    plain.fit(si_docs, None, epochs=1, progress=False)
    assert "trained_kinds" not in plain.metadata


def _relabelled(docs, name):
    out = []
    for d in docs:
        d = dict(d)
        d["calculator"] = {**d["calculator"], "name": name}
        out.append(d)
    return out


def test_fit_records_the_potential_of_its_spectra(si_docs):
    """The potential of the training spectra is recorded (and becomes the model's card and
    host references); spectra of several potentials are flagged."""
    assert si_docs[0]["calculator"]["name"] == "CHGNet"
    q = DefectQuantifier(network_config=TINY, seed=0)
    assert q.force_field == "CHGNet"  # models that record none trained on CHGNet spectra
    q.fit(_relabelled(si_docs, "SevenNet"), None, epochs=1, progress=False)
    assert q.metadata["force_field"] == q.force_field == "SevenNet"
    mixed = si_docs[:2] + _relabelled(si_docs[2:], "SevenNet")
    with pytest.warns(UserWarning, match="several potentials"):
        q.fit(mixed, None, epochs=1, progress=False)
    assert q.force_field == "CHGNet"
    assert q.metadata["force_fields"] == {"CHGNet": 2, "SevenNet": 1}


def test_host_references_are_simulated_with_the_models_potential(
    trained, si_docs, si_structure, monkeypatch
):
    """predict(host=Structure) simulates the reference with the potential the model trained
    on, and a document of another potential gets a note."""
    import defectnet_atomate.phonons.direct as direct

    q = DefectQuantifier.from_dict(trained[0].as_dict())
    q.metadata["force_field"] = "SevenNet"
    seen = []

    class Recorder:
        def __init__(self, force_field="CHGNet", **kwargs):
            seen.append(force_field)
            raise RuntimeError("recorded")

    monkeypatch.setattr(direct, "DirectEngine", Recorder)
    with pytest.raises(RuntimeError, match="recorded"):
        q.pristine_dos(si_structure)
    assert seen == ["SevenNet"]
    noted = q.predict(si_docs[0], candidates=["Ge", "Sn"])
    assert any("simulated with CHGNet" in n for n in noted.warnings)
    plain = trained[0].predict(si_docs[0], candidates=["Ge", "Sn"])
    assert not any("simulated with" in n for n in plain.warnings)
