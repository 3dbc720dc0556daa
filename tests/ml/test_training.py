from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.ml.training import (
    Example,
    _candidates,
    examples_from_docs,
    split_levels_by_host,
)
from defectnet_atomate.spectra import Spectrum


@pytest.fixture
def example() -> Example:
    freqs = np.linspace(0, 16, 200)
    spectrum = Spectrum(freqs, np.exp(-((freqs - 8) ** 2)))
    return Example(
        host_id="mp-149",
        composition={"Si": 1.0},
        doped=spectrum,
        pristine=spectrum,
        truth={"Ge": 1.0},
        pool=["C", "Sn", "As", "Ga"],
    )


def test_default_draw_mixes_pools_and_never_repeats_truth(example):
    rng = np.random.default_rng(0)
    global_pool = ["B", "P", "Al", "Ge", "C", "Sn"]
    seen = set()
    for _ in range(200):
        cands = _candidates(example, rng, global_pool, 5)
        assert "Ge" in cands and "Si" not in cands
        assert len(cands) == len(set(cands))
        seen |= set(cands)
    assert {"C", "Sn", "As", "Ga"} <= seen and {"B", "P", "Al"} <= seen


def test_similar_mass_distractors_are_hard_negatives(example):
    """With chance 1 every distractor is the remaining element closest in mass to Ge (72.6)."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        cands = _candidates(example, rng, ["B", "Se", "Al"], 2, similar_mass=1.0)
        distractors = [c for c in cands if c != "Ge"]
        assert distractors in ([], ["Ga"], ["As"], ["Ga", "As"], ["As", "Ga"])
        if distractors:
            assert distractors[0] in ("Ga", "As")


def test_evaluation_draw_is_reproducible(example):
    """The evaluation's seeded draw (defaults) is fixed: held-out metrics of models trained
    in different releases are computed with the same distractors. Recorded with 0.3."""
    rng = np.random.default_rng(7)
    draws = [_candidates(example, rng, ["B", "P", "Al"], 5) for _ in range(4)]
    assert draws == [
        ["B", "Al", "Ge", "C", "As", "P"],
        ["Ge", "As", "Sn"],
        ["Ge", "B", "Ga", "Al"],
        ["Ga", "Ge", "Sn", "C"],
    ]


def _docs(hosts: list[str]) -> list[dict]:
    return [{"host": {"host_id": h, "formula": h}} for h in hosts]


def test_level_split_keeps_hosts_apart_and_stable_as_the_dataset_grows():
    high = _docs([f"d{i}" for i in range(12)])
    low = _docs([f"m{i}" for i in range(300)]) + high[:4]
    highs, lows = split_levels_by_host(high, low, seed=0)
    groups = [{d["host"]["host_id"] for d in a + b} for a, b in zip(highs, lows, strict=True)]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    # every direct host set gets its exact share; the hashed shares are close to 70/15/15
    assert [len({d["host"]["host_id"] for d in h}) for h in highs] == [8, 2, 2]
    sizes = [len(g) for g in groups]
    assert 170 < sizes[0] < 250 and 25 < sizes[2] < 70, sizes

    grown = low + _docs([f"m{i}" for i in range(300, 500)])
    _, grown_lows = split_levels_by_host(high, grown, seed=0)
    for before, after in zip(lows, grown_lows, strict=True):
        old = {d["host"]["host_id"] for d in before}
        new = {d["host"]["host_id"] for d in after}
        assert old <= new  # no host already assigned moved to another set
    other = split_levels_by_host(high, low, seed=1)[1]
    assert {d["host"]["host_id"] for d in other[2]} != {d["host"]["host_id"] for d in lows[2]}


def test_hosts_that_gain_direct_spectra_keep_their_set():
    """A later direct campaign on hosts that had only mass-defect spectra moves no host."""
    high = _docs([f"d{i}" for i in range(12)])
    low = _docs([f"m{i}" for i in range(300)]) + high[:4]
    first = {d["host"]["host_id"] for d in high}
    before = split_levels_by_host(high, low, seed=0)
    grown_high = high + _docs([f"m{i}" for i in range(0, 300, 3)])
    for shuffled, stays in ((first, True), (None, False)):
        after = split_levels_by_host(grown_high, low, seed=0, shuffled_hosts=shuffled)
        moved = False
        for b_h, b_l, a_h, a_l in zip(*before, *after, strict=True):
            old = {d["host"]["host_id"] for d in b_h + b_l}
            new = {d["host"]["host_id"] for d in a_h + a_l}
            moved |= not old <= new
        assert moved is not stays
    # the fixed shuffle gives the very split of the smaller dataset
    again = split_levels_by_host(high, low, seed=0, shuffled_hosts=first)
    assert again == before


def test_spectra_with_dopants_beyond_plutonium_are_left_out(ml_docs):
    """The mass-defect engine can simulate an Am dopant; the model covers H-Pu, so such a
    spectrum leaves training (the stated rule) and Am leaves the distractor pools."""
    import copy

    docs = copy.deepcopy(ml_docs[:3])
    for d in docs:
        d["host"]["host_id"] = "one-host"
    docs[0]["dopants"][0]["element"] = "Am"
    docs[0]["dopant_elements"] = sorted({x["element"] for x in docs[0]["dopants"]})
    examples = examples_from_docs(docs, include_pristine=False, max_imaginary_fraction=1.0)
    assert len(examples) == 2
    assert all("Am" not in e.pool and "Am" not in e.truth for e in examples)


def test_examples_carry_their_neutron_form_where_the_document_has_one(si_docs, ml_docs):
    from defectnet_atomate.dataset import compact
    from defectnet_atomate.measurement import neutron_weighted_dos

    docs = [compact(d) for d in si_docs]
    examples = examples_from_docs(docs)
    doped = [e for e in examples if e.truth]
    assert doped and all(e.neutron is not None for e in examples)
    e, d = doped[0], si_docs[0]
    assert np.allclose(
        e.neutron[0].densities, neutron_weighted_dos(d["pdos"]), rtol=6e-3, atol=1e-6
    )
    assert np.allclose(e.neutron[1].densities, neutron_weighted_dos(d["pristine_pdos"]), rtol=1e-3)
    pristine = next(x for x in examples if not x.truth)
    assert pristine.neutron[0] is pristine.neutron[1]
    # exports before format v5 keep no doped projections: no neutron form
    old = [
        dict(x, pdos={k: v for k, v in x["pdos"].items() if k not in ("neutron", "projected")})
        for x in docs
    ]
    assert all(x.neutron is None for x in examples_from_docs(old) if x.truth)


def test_cells_stopped_far_from_their_minimum_are_left_out(si_docs):
    """A doped cell that stopped relaxing above MAX_RESIDUAL_FORCE is not trained on."""
    import copy

    from defectnet_atomate.dataset import MAX_RESIDUAL_FORCE, compact

    docs = [compact(d) for d in copy.deepcopy(si_docs)]
    assert all(d["relaxation"]["converged"] for d in docs)
    assert len(examples_from_docs(docs, include_pristine=False)) == 3
    docs[0]["relaxation"].update(converged=False, max_force=5 * MAX_RESIDUAL_FORCE)
    kept = examples_from_docs(docs, include_pristine=False)
    assert len(kept) == 2
    assert set(docs[0]["dopant_elements"]) not in [set(e.truth) for e in kept]
    assert len(examples_from_docs(docs, include_pristine=False, max_residual_force=None)) == 3
    del docs[0]["relaxation"]  # exports before format v7 do not record it: kept
    assert len(examples_from_docs(docs, include_pristine=False)) == 3


def test_pristine_top_loss_adds_the_softplus_of_each_pristine_top_logit(ml_docs):
    """pristine_top_weight adds, per pristine example, softplus of its most confident
    candidate's logit (averaged over the batch); doped examples are untouched."""
    import torch

    from defectnet_atomate.ml.network import DefectNet, NetworkConfig
    from defectnet_atomate.ml.training import _batch, _forward, _loss

    examples = examples_from_docs(ml_docs[:12])
    assert any(not e.truth for e in examples) and any(e.truth for e in examples)
    rng = np.random.default_rng(0)
    pool = sorted({el for e in examples for el in e.truth})
    sets = [_candidates(e, rng, pool, 4) for e in examples]
    batch = _batch(examples, sets)
    torch.manual_seed(0)
    network = DefectNet(NetworkConfig()).eval()
    with torch.no_grad():
        base = float(_loss(network, batch))
        weighted = float(_loss(network, batch, pristine_top_weight=2.0))
        logits = _forward(network, batch)[0].numpy()
    expected = 0.0
    for row, (e, cands) in enumerate(zip(examples, sets, strict=True)):
        if not e.truth:
            top = max(logits[row, : len(cands)])
            expected += np.log1p(np.exp(top))
    expected *= 2.0 / len(examples)
    assert expected > 0
    assert weighted - base == pytest.approx(expected, rel=1e-4)


def test_examples_carry_each_host_elements_partial_dos(si_docs, ml_docs):
    """Documents that keep projected DOS give partial-DOS pairs; older ones give none."""
    from defectnet_atomate.dataset import compact
    from defectnet_atomate.ml.training import partial_forms

    docs = [compact(d) for d in si_docs]
    examples = examples_from_docs(docs, pristine_copies=2)
    doped = [e for e in examples if e.truth]
    # Si hosts: the Si partial only (the dopants are not host elements)
    assert doped and all(sorted(e.partials) == ["Si"] for e in doped)
    e, d = doped[0], docs[0]  # no cell reference in these documents: the doped DOS as kept
    assert np.allclose(e.partials["Si"][0].densities, d["pdos"]["projected"]["Si"])
    assert np.allclose(e.partials["Si"][1].densities, d["pristine_pdos"]["projected"]["Si"])
    forms = partial_forms(examples)
    assert len(forms) == len(examples)  # one host element each
    assert {f.kind for f in forms} == {"partial:Si"}
    assert all(f.partials is None and f.neutron is None for f in forms)
    assert [f.truth for f in forms] == [x.truth for x in examples]
    pristine = [f for f in forms if not f.truth]
    assert pristine and all(f.doped is f.pristine for f in pristine)
    # exports that keep no doped projections (the mass-defect and early direct parts)
    assert not any(x.partials for x in examples_from_docs(ml_docs))
    assert partial_forms(examples_from_docs(ml_docs)) == []


def test_partial_training_draw_reads_an_example_as_its_partial_dos(si_docs):
    """TrainingConfig.partial swaps in a partial-DOS pair; at 0 it draws no random number."""
    from defectnet_atomate.dataset import compact
    from defectnet_atomate.ml.training import _batch, partial_forms

    examples = [e for e in examples_from_docs([compact(d) for d in si_docs]) if e.truth]
    sets = [sorted(e.truth) for e in examples]
    plain = _batch(examples, sets, None, np.random.default_rng(0), 0.0, 0.0)
    rng = np.random.default_rng(0)
    _batch(examples, sets, None, rng, 0.0, 0.0)
    assert rng.random() == np.random.default_rng(0).random()  # nothing drawn at 0
    swapped = _batch(examples, sets, None, np.random.default_rng(0), 0.0, 1.0)
    partial = _batch(partial_forms(examples), sets, None, None, 0.0)
    assert not np.allclose(swapped["spectra"].numpy(), plain["spectra"].numpy())
    assert np.allclose(swapped["spectra"].numpy(), partial["spectra"].numpy())


def test_batches_carry_each_examples_fidelity_level(ml_docs):
    """The network's fidelity input comes from each example's engine."""
    from dataclasses import replace

    from defectnet_atomate.ml.network import fidelity_level
    from defectnet_atomate.ml.training import _batch

    examples = examples_from_docs(ml_docs[:4])
    examples[1] = replace(examples[1], engine="mass-defect")
    sets = [list(e.truth) or ["Ge"] for e in examples]
    levels = _batch(examples, sets)["fidelity"].tolist()
    assert levels == [fidelity_level(e.engine) for e in examples]
    assert levels[1] == 1 and levels[0] == 0
