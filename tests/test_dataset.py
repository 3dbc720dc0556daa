from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.dataset import (
    candidate_dopants,
    compact,
    datasheet,
    export_dataset,
    load_dataset,
    sample_tasks,
)
from defectnet_atomate.doping import make_doped_supercell
from defectnet_atomate.hosts import load_hosts
from defectnet_atomate.phonons.direct import DirectSettings


def test_sampling_is_seeded_and_within_the_rules(test_dir):
    hosts = load_hosts(test_dir / "hosts-subset.jsonl.gz", semiconductors_only=False)
    a = list(sample_tasks(hosts, per_host=3, seed=5, max_atoms=64, min_percent=3.0))
    b = list(sample_tasks(hosts, per_host=3, seed=5, max_atoms=64, min_percent=3.0))
    assert [(t.host_id, [str(d) for d in t.dopings]) for t in a] == [
        (t.host_id, [str(d) for d in t.dopings]) for t in b
    ]
    assert len(a) >= 6
    for task in a:
        host_elements = {el.symbol for el in task.host.composition.elements}
        assert 1 <= len(task.dopings) <= 6
        for d in task.dopings:
            assert 3.0 <= d.atomic_percent <= 25.0
            assert d.replaces in host_elements and d.element not in host_elements
        assert make_doped_supercell(task.host, task.dopings, max_atoms=64).num_sites <= 64


def test_candidates_mix_recommender_and_neighbours(test_dir):
    si = next(
        h
        for h in load_hosts(test_dir / "hosts-subset.jsonl.gz", semiconductors_only=False)
        if h.host_id == "mp-149"
    )
    pairs = candidate_dopants(si)
    assert ("Ge", "Si") in pairs and ("P", "Si") in pairs


def test_campaign_drops_requests_beyond_plutonium(test_dir, monkeypatch):
    """pymatgen's recommender can suggest Am for actinide hosts; neither CHGNet nor the model
    covers it. The campaign drops such requests after the seeded draw, so every other
    request stays what the seed gave."""
    import defectnet_atomate.dataset as dataset
    from defectnet_atomate.doping import DopantSuggestion
    from defectnet_atomate.ml.elements import MAX_Z

    def with_am(structure, *args, **kwargs):
        el = structure.composition.elements[0].symbol
        return [DopantSuggestion("Am", el, 0.1, "isovalent", "test")]

    monkeypatch.setattr(dataset, "recommend_dopants", with_am)
    hosts = str(test_dir / "hosts-subset.jsonl.gz")
    campaign = dataset.Campaign(hosts_file=hosts, n_hosts=2, per_host=12, chunk=2)
    ((start, kept),) = list(campaign.chunks())
    hosts_chosen = {t.host_id for t in kept}
    drawn = list(
        sample_tasks(
            _chunk_hosts(campaign),
            per_host=12,
            seed=campaign.seed + start,
            max_atoms=campaign.max_atoms,
            min_percent=campaign.min_percent,
            max_percent=campaign.max_percent,
            search_range=campaign.search_range,
        )
    )
    has_am = [t for t in drawn if any(d.element == "Am" for d in t.dopings)]
    assert has_am and kept and hosts_chosen
    ids = [t.task_id("CHGNet", DirectSettings()) for t in kept]
    assert ids == [t.task_id("CHGNet", DirectSettings()) for t in drawn if t not in has_am]
    assert all(d.element != "Am" for t in kept for d in t.dopings)
    assert dataset.MAX_DOPANT_Z == MAX_Z


def _chunk_hosts(campaign):
    from defectnet_atomate.hosts import iter_hosts

    hosts = list(
        iter_hosts(campaign.hosts_file, semiconductors_only=True, max_sites=campaign.max_host_sites)
    )
    order = np.random.default_rng(campaign.seed).permutation(len(hosts))
    return [hosts[i] for i in order][: campaign.n_hosts]


def test_compact_export_and_datasheet(si_docs, tmp_path):
    small = [compact(d) for d in si_docs]
    assert set(small[0]) >= {"pdos", "pristine_pdos", "dopants", "host", "config_id"}
    assert "modes" not in small[0]
    text = datasheet(small, tmp_path / "x.json.gz")
    assert "Spectra: 3" in text and "CC-BY-4.0" in text
    assert "Sylvester" not in text  # direct spectra: their own force constants each
    # how each doped cell relaxed (format v7)
    assert small[0]["relaxation"] == {
        "n_steps": 18,
        "converged": True,
        "max_force": round(si_docs[0]["relaxation"]["max_force"], 5),
    }
    assert "3 spectra record how their doped cell relaxed; 0 stopped" in text
    with_history = {**si_docs[0], "relaxation": {**si_docs[0]["relaxation"]}}
    with_history["relaxation"]["fmax_history"] = [1.23456, 0.0123456]  # since 0.29
    assert compact(with_history)["relaxation"]["fmax_history"] == [1.23, 0.0123]
    small[1]["relaxation"].update(converged=False, max_force=0.3)
    assert "1 stopped at the step limit, 1 of them" in datasheet(small, tmp_path / "x.json.gz")


def test_datasheet_counts_cells_whose_mass_defect_spectra_disagree_on_imaginary_modes(
    si_docs, tmp_path
):
    docs = [compact(d) for d in si_docs]
    for d, fraction in zip(docs, (0.0, 0.0, 0.5), strict=True):
        d["settings"]["engine"] = "mass-defect"
        d["num_sites"] = 64
        d["imaginary_fraction"] = fraction
    text = datasheet(docs, tmp_path / "x.json.gz")
    assert "1 of 1 (host, supercell) pairs mix" in text
    docs[2]["imaginary_fraction"] = 0.0
    assert "0 of 1 (host, supercell) pairs mix" in datasheet(docs, tmp_path / "x.json.gz")


def test_export_round_trip_keeps_what_the_model_needs(si_docs, tmp_path):
    out = tmp_path / "set.json.gz"
    result = export_dataset(si_docs, out)
    assert result["spectra"] == 3 and out.with_name("set.md").is_file()
    back = {d["config_id"]: d for d in load_dataset(out)}
    for doc in si_docs:
        small = back[doc["config_id"]]
        for key in ("pdos", "pristine_pdos"):
            assert np.allclose(small[key]["frequencies"], doc[key]["frequencies"], atol=1e-5)
            assert np.allclose(small[key]["total"], doc[key]["total"], rtol=1e-3, atol=1e-6)
        assert small["dopants"] == doc["dopants"]
        assert small["settings"]["engine"] == doc["settings"]["engine"]
        assert small["relaxation"]["converged"] == doc["relaxation"]["converged"]
        # the host's projected pristine DOS (for the model's candidate-site inputs)
        projected = small["pristine_pdos"]["projected"]
        assert set(projected) == set(doc["pristine_pdos"]["projected"])
        for el, values in projected.items():
            expected = doc["pristine_pdos"]["projected"][el]
            assert np.allclose(values, expected, rtol=1e-3, atol=1e-6)
        # a direct spectrum keeps its own partial DOS (dopants included), summing to the total
        assert doc["settings"]["engine"] == "direct"
        partial = small["pdos"]["projected"]
        assert set(doc["dopant_elements"]) < set(partial)
        assert np.allclose(
            np.sum(list(partial.values()), axis=0), small["pdos"]["total"], rtol=1e-2, atol=1e-4
        )


def test_mass_defect_exports_keep_no_partial_dos_of_doped_spectra(si_docs):
    import copy

    doc = copy.deepcopy(si_docs[0])
    doc["settings"]["engine"] = "mass-defect"
    small = compact(doc)
    assert "projected" not in small["pdos"] and small["pristine_pdos"]["projected"]


def test_export_keeps_a_request_stored_under_two_ids_once(si_docs, tmp_path):
    import copy

    again = copy.deepcopy(si_docs[0])
    again["config_id"] = "dpd-the-same-request-under-an-older-id"
    other = copy.deepcopy(si_docs[0])
    other["config_id"] = "dpd-same-dopants-other-sites"
    other["pdos"]["total"] = list(np.roll(other["pdos"]["total"], 3))
    result = export_dataset([*si_docs, again, other], tmp_path / "set.json.gz")
    assert (result["spectra"], result["duplicates"]) == (4, 1)


def test_export_keeps_the_cell_reference(si_docs, tmp_path):
    import copy

    doc = copy.deepcopy(si_docs[0])
    doc["cell_pristine_pdos"] = copy.deepcopy(doc["pristine_pdos"])
    export_dataset([doc, si_docs[1]], tmp_path / "set.json.gz")
    back = {d["config_id"]: d for d in load_dataset(tmp_path / "set.json.gz")}
    cell = back[doc["config_id"]]["cell_pristine_pdos"]
    assert np.allclose(cell["total"], doc["pristine_pdos"]["total"], rtol=1e-3, atol=1e-6)
    assert "cell_pristine_pdos" not in back[si_docs[1]["config_id"]]


def test_load_dataset_refuses_other_files(tmp_path):
    from monty.serialization import dumpfn

    dumpfn({"hello": 1}, tmp_path / "x.json.gz")
    with pytest.raises(ValueError, match="export_dataset"):
        load_dataset(tmp_path / "x.json.gz")


def test_campaign_flows_run_the_same_requests_as_the_local_runner(test_dir, memory_jobstore):
    """One flow per host, one job per request: the cluster form of Campaign.run."""
    from jobflow import run_locally

    from defectnet_atomate.dataset import Campaign

    hosts = str(test_dir / "hosts-subset.jsonl.gz")
    kwargs = {"n_hosts": 3, "per_host": 2, "max_atoms": 64, "seed": 5, "chunk": 3}
    campaign = Campaign(hosts, engine="mass-defect", **kwargs)
    flows = campaign.flows()
    tasks = [t for _, chunk in campaign.chunks() for t in chunk]
    assert sum(len(f.jobs) for f in flows) == len(tasks) > 0
    assert len(flows) == len({t.host_id for t in tasks})
    first = next(f for f in flows if f.name.startswith(f"campaign {tasks[0].host_id}"))
    responses = run_locally(first, store=memory_jobstore, ensure_success=True, log=False)
    docs = [r[1].output for r in responses.values()]
    docs = [d for d in docs if hasattr(d, "config_id")]
    ours = [t for t in tasks if t.host_id == tasks[0].host_id]
    assert len(docs) == len(ours)
    assert {d.settings.engine for d in docs} == {"mass-defect"}
    assert sorted(tuple(d.dopant_elements) for d in docs) == sorted(
        tuple(sorted(x.element for x in t.dopings)) for t in ours
    )
    assert sorted(d.seed for d in docs) == sorted(t.seed for t in ours)
    assert Campaign.from_dict(campaign.as_dict()) == campaign
    with pytest.raises(ValueError, match="Unknown engine"):
        Campaign(hosts, engine="dft", **kwargs)
    # the embedding level's patch reach goes into its settings (and so into request ids)
    reach = Campaign(hosts, engine="embedding", cutoff=6.0, **kwargs)
    assert reach._embedding_settings().cutoff == 6.0
    assert Campaign(hosts, engine="embedding", **kwargs)._embedding_settings().cutoff is None
    job = reach.flows()[0].jobs[0].jobs[0]  # host flow > request flow > job
    assert job.function_kwargs["embedding_settings"].cutoff == 6.0
    with pytest.raises(ValueError, match="has none"):
        Campaign(hosts, engine="mass-defect", cutoff=6.0, **kwargs)


def test_a_growing_dataset_is_written_as_new_parts(si_docs, tmp_path):
    """Exporting against earlier parts writes only what they lack (by id or simulation)."""
    import copy

    first = export_dataset(si_docs[:2], tmp_path / "part1.json.gz")
    assert first["spectra"] == 2
    renamed = copy.deepcopy(si_docs[1])
    renamed["config_id"] = "dpd-an-older-id-of-the-same-request"
    result = export_dataset(
        [*si_docs, renamed], tmp_path / "part2.json.gz", exclude=[tmp_path / "part1.json.gz"]
    )
    assert (result["spectra"], result["excluded"]) == (1, 3)
    assert [d["config_id"] for d in load_dataset(tmp_path / "part2.json.gz")] == [
        si_docs[2]["config_id"]
    ]
    with pytest.raises(ValueError, match="nothing to write"):
        export_dataset(
            si_docs[:2], tmp_path / "part3.json.gz", exclude=[tmp_path / "part1.json.gz"]
        )
    assert not (tmp_path / "part3.json.gz").exists()


def test_export_keeps_neutron_weighted_forms(si_docs, tmp_path):
    """Format v5: the doped spectrum's neutron-weighted DOS (for neutron training), made
    from its projections (which, since v6, only direct-engine spectra keep as well)."""
    from defectnet_atomate.measurement import neutron_weighted_dos

    export_dataset(si_docs, tmp_path / "set.json.gz")
    back = {d["config_id"]: d for d in load_dataset(tmp_path / "set.json.gz")}
    for doc in si_docs:
        small = back[doc["config_id"]]
        expected = neutron_weighted_dos(doc["pdos"])
        assert np.allclose(small["pdos"]["neutron"], expected, rtol=6e-3, atol=1e-6)
        # Ge scatters more per unit mass than Si: its share of the spectrum grows
        assert not np.allclose(small["pdos"]["neutron"], small["pdos"]["total"], rtol=0.01)
    assert "Neutron-weighted DOS" in (tmp_path / "set.md").read_text()


def test_pool_size_limits_each_host_to_a_few_dopants(test_dir):
    """With ``pool_size`` a host's requests share a small seeded subset of its candidate
    (dopant, site) pairs (the embedding engine's patch library); without it nothing changes."""
    hosts = load_hosts(test_dir / "hosts-subset.jsonl.gz", semiconductors_only=False)
    kwargs = {"per_host": 8, "seed": 5, "max_atoms": 64, "min_percent": 3.0}
    full = list(sample_tasks(hosts, **kwargs))
    assert [str(d) for t in full for d in t.dopings] == [
        str(d) for t in sample_tasks(hosts, pool_size=None, **kwargs) for d in t.dopings
    ]
    small = list(sample_tasks(hosts, pool_size=2, **kwargs))
    a = list(sample_tasks(hosts, pool_size=2, **kwargs))
    assert [[str(d) for d in t.dopings] for t in small] == [[str(d) for d in t.dopings] for t in a]
    by_host: dict[str, set] = {}
    for task in small:
        by_host.setdefault(task.host_id, set()).update(
            (d.element, d.replaces) for d in task.dopings
        )
    assert by_host and all(len(pairs) <= 2 for pairs in by_host.values())
    assert (
        max(
            len({(d.element, d.replaces) for t in full if t.host_id == h for d in t.dopings})
            for h in by_host
        )
        > 2
    )
    for task in small:
        pool = set(candidate_dopants(next(h for h in hosts if h.host_id == task.host_id)))
        assert {(d.element, d.replaces) for d in task.dopings} <= pool


def test_export_from_a_store_keeps_how_each_cell_relaxed(si_docs, tmp_path):
    """The query of export_store asks for every field the compact format keeps."""
    from defectnet_atomate.dataset import export_store
    from defectnet_atomate.stores import default_store

    store = default_store(tmp_path / "ds")
    with store:
        store.update(si_docs, key="config_id")
    out = tmp_path / "part.json.gz"
    assert export_store(str(tmp_path / "ds"), out, engine="direct")["spectra"] == 3
    back = {d["config_id"]: d for d in load_dataset(out)}
    for doc in si_docs:
        assert back[doc["config_id"]]["relaxation"]["n_steps"] == doc["relaxation"]["n_steps"]
    assert "3 spectra record how their doped cell relaxed" in out.with_name("part.md").read_text()


def test_export_records_refused_hosts_for_a_resumed_campaign(si_docs, tmp_path):
    """Host-screen refusals travel with the export; other failures are retried."""
    from defectnet_atomate.dataset import dataset_ids, export_store
    from defectnet_atomate.stores import default_store, open_store

    with default_store(tmp_path / "ds") as store:
        store.update(si_docs[:2], key="config_id")
    refusal = "UnstableHostError: The relaxed host X is not a minimum of CHGNet\nTraceback ..."
    unrelaxed = "UnrelaxedCellError: The doped X cell still has a force of 0.05 eV/A ..."
    with open_store(tmp_path / "ds", "failed_requests", key="config_id") as failures:
        failures.update(
            [
                {"config_id": "dpd-refused", "error": refusal},
                {"config_id": "dpd-unrelaxed", "error": unrelaxed},
                {"config_id": "dpd-crashed", "error": "RuntimeError: out of memory"},
            ],
            key="config_id",
        )
    part = tmp_path / "part1.json.gz"
    result = export_store(str(tmp_path / "ds"), part, engine="direct")
    assert result["spectra"] == 2 and result["refused"] == 2
    assert "(1 of them)" in part.with_suffix("").with_suffix(".md").read_text()
    ids = {d["config_id"] for d in si_docs[:2]}
    assert dataset_ids([part]) == ids | {"dpd-refused", "dpd-unrelaxed"}
    assert dataset_ids([part], refused=False) == ids
    assert len(load_dataset(part)) == 2  # the refusals are not documents
    # a later part records only refusals that earlier parts do not
    with default_store(tmp_path / "ds") as store:
        store.update(si_docs[2:], key="config_id")
    later = tmp_path / "part2.json.gz"
    result = export_store(str(tmp_path / "ds"), later, engine="direct", exclude=[part])
    assert result["spectra"] == 1 and result["refused"] == 0
    assert dataset_ids([later]) == {si_docs[2]["config_id"]}


def test_campaign_streams_its_chunks_into_one_batch(test_dir, tmp_path, capsys):
    """A rerun skips what is done; every chunk is drawn and reported, one summary at the end."""
    import defectnet_atomate.dataset as dataset

    hosts = str(test_dir / "hosts-subset.jsonl.gz")
    campaign = dataset.Campaign(hosts_file=hosts, n_hosts=2, per_host=2, chunk=1, max_atoms=64)
    settings = DirectSettings(max_host_imaginary=dataset.MAX_HOST_IMAGINARY)
    tasks = [t for _, chunk in campaign.chunks() for t in chunk]
    done = {t.task_id("CHGNet", settings, max_atoms=64) for t in tasks}
    campaign.run(str(tmp_path / "store"), workers=1, skip_ids=done)
    out = capsys.readouterr().out
    assert "hosts 0-1: " in out and "hosts 1-2: " in out
    assert out.strip().splitlines()[-1].startswith(f"0 done, {len(tasks)} skipped, 0 failed")


def test_datasheet_names_the_patch_reach_the_documents_record():
    """Embedding spectra keep their approximations in the export; the datasheet reads them."""
    from defectnet_atomate.dataset import _patch_reach
    from defectnet_atomate.phonons.embedding import EmbeddingSettings

    def doc(settings):
        return {"settings": settings.phonon_settings().model_dump()}

    six = doc(EmbeddingSettings(cutoff=6.0))
    assert _patch_reach([six]) == "rows within 6.0 A"
    whole = doc(EmbeddingSettings())
    old = {"settings": {"engine": "embedding"}}  # exports before 0.23 kept no approximations
    assert _patch_reach([whole]) == _patch_reach([old])
    assert "whole cell" in _patch_reach([old]) and "rows within" not in _patch_reach([old])
