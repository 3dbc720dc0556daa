from __future__ import annotations

import pytest

from defectnet_atomate.batch import DopingTask, run_batch
from defectnet_atomate.phonons.direct import DirectSettings
from defectnet_atomate.phonons.embedding import EmbeddingSettings
from defectnet_atomate.stores import default_store, open_store


def test_batch_is_resumable_and_records_failures(tmp_path, si_structure):
    good = DopingTask(si_structure, ["Ge:Si:6.25"], seed=0, host_id="mp-149")
    impossible = DopingTask(si_structure, ["Ge:Si:0.2"], seed=0, host_id="mp-149")
    store = default_store(tmp_path / "ds")
    failures = open_store(tmp_path / "ds", "failed_requests", key="config_id")
    kwargs = {"failures": failures, "progress": False, "supercell_kwargs": {"max_atoms": 64}}
    summary = run_batch([good, impossible], store, **kwargs)
    assert (summary.done, summary.failed, summary.skipped) == (1, 1, 0)
    assert "raise max_atoms" in summary.failures[0]["error"]
    with store:
        doc = store.query_one({})
        assert doc["config_id"] == good.task_id("CHGNet", DirectSettings(), max_atoms=64)
        assert doc["dopant_elements"] == ["Ge"]
    again = run_batch([good, impossible], store, **kwargs)
    assert (again.done, again.failed, again.skipped) == (0, 0, 2)
    retry = run_batch([impossible], store, retry_failed=True, **kwargs)
    assert retry.failed == 1
    # requests streamed from a generator into worker processes (a campaign's one pool)
    seen = []
    streamed = run_batch(
        (t for t in (good, impossible)),
        store,
        retry_failed=True,
        n_workers=2,
        on_result=lambda s: seen.append((s.done, s.failed, s.skipped)),
        **kwargs,
    )
    assert (streamed.done, streamed.failed, streamed.skipped) == (0, 1, 1)
    assert seen == [(0, 1, 1)]


def test_task_id_depends_on_request(si_structure):
    a = DopingTask(si_structure, ["Ge:Si:5"], seed=0)
    assert a.task_id("CHGNet", DirectSettings()) == a.task_id("CHGNet", DirectSettings())
    assert a.task_id("CHGNet", DirectSettings()) != a.task_id("SevenNet", DirectSettings())
    b = DopingTask(si_structure, ["Ge:Si:5"], seed=1)
    assert a.task_id("CHGNet", DirectSettings()) != b.task_id("CHGNet", DirectSettings())
    with pytest.raises(ValueError, match="not a chemical element"):
        DopingTask(si_structure, ["Qq:Si:5"])


def test_batch_runs_the_engine_its_settings_name(tmp_path, si_structure):
    task = DopingTask(si_structure, ["Ge:Si:3", "C:Si:1.5"], seed=0, host_id="mp-149")
    settings = EmbeddingSettings(patch_atoms=16, patches=False)
    store = default_store(tmp_path / "ds")
    kwargs = {"progress": False, "supercell_kwargs": {"max_atoms": 128}}
    summary = run_batch([task], store, settings=settings, keep_modes=False, **kwargs)
    assert summary.done == 1, summary.failures
    with store:
        doc = store.query_one({})
    assert doc["settings"]["engine"] == "mass-defect"
    assert doc["modes"] is None and doc["pdos"]["total"]
    assert doc["config_id"] == task.task_id("CHGNet", settings, max_atoms=128)
    assert doc["config_id"] != task.task_id("CHGNet", DirectSettings(), max_atoms=128)


def test_request_ids_are_pinned_and_older_ids_still_skip(tmp_path):
    """A request's id must not drift with new engine settings (a campaign resumed after the
    ids changed in 0.3 recomputed about 8,000 stored requests); ids that earlier versions
    gave a request still count as done."""
    from pymatgen.core import Lattice, Structure

    from defectnet_atomate.batch import LATER_SETTINGS

    si = Structure(Lattice.cubic(5.43), ["Si", "Si"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    task = DopingTask(si, ["Ge:Si:1.5"], seed=7, host_id="mp-149")
    settings = EmbeddingSettings(patches=False)
    kwargs = {"max_atoms": 600, "search_range": 1}
    # changing a setting's name or default changes these: add it to LATER_SETTINGS instead
    assert task.task_ids("CHGNet", settings, **kwargs) == [
        "dpd-16469ea1b0b8de87c278",
        "dpd-8fdabed981d67f97509f",  # before 0.3 (no Lanczos settings)
    ]
    # the additivity check of patches (0.12) does not enter mass-defect ids either
    assert task.task_ids(
        "CHGNet", EmbeddingSettings(patches=False, max_extra_relaxation=None), **kwargs
    ) == task.task_ids("CHGNet", settings, **kwargs)
    assert task.task_id("CHGNet", EmbeddingSettings(), **kwargs) != task.task_id(
        "CHGNet", EmbeddingSettings(max_extra_relaxation=None), **kwargs
    )
    # the patch cutoff does not enter mass-defect results, nor their ids (its default changed)
    assert task.task_ids("CHGNet", EmbeddingSettings(patches=False, cutoff=3.0), **kwargs) == (
        task.task_ids("CHGNet", settings, **kwargs)
    )
    assert task.task_id("CHGNet", EmbeddingSettings(), **kwargs) != task.task_id(
        "CHGNet", EmbeddingSettings(cutoff=6.0), **kwargs
    )
    assert task.task_ids("CHGNet", DirectSettings(), max_atoms=64) == ["dpd-3b1c0c64f47c9294e0dd"]
    # the host screen decides whether a request runs, not its result: ids keep out of it
    for screened in (DirectSettings(max_host_imaginary=0.02), DirectSettings()):
        assert task.task_ids("CHGNet", screened, max_atoms=64) == ["dpd-3b1c0c64f47c9294e0dd"]
    assert task.task_ids(
        "CHGNet", EmbeddingSettings(patches=False, max_host_imaginary=None), **kwargs
    ) == task.task_ids("CHGNet", settings, **kwargs)
    assert "EmbeddingSettings" in LATER_SETTINGS
    # a changed Lanczos setting changes the result of large cells: no older id applies
    assert len(task.task_ids("CHGNet", EmbeddingSettings(lanczos_vectors=8), **kwargs)) == 1

    store = default_store(tmp_path / "ds")
    with store:
        store.update([{"config_id": "dpd-8fdabed981d67f97509f"}], key="config_id")
    summary = run_batch([task], store, settings=settings, progress=False, supercell_kwargs=kwargs)
    assert (summary.done, summary.skipped) == (0, 1)


def test_requests_of_committed_dataset_files_are_skipped(tmp_path, si_structure, si_docs):
    """A fresh machine resumes a campaign from the committed dataset: its ids count as done."""
    from defectnet_atomate.dataset import dataset_ids, export_dataset

    task = DopingTask(si_structure, ["Ge:Si:6.25"], seed=0, host_id="mp-149")
    settings = EmbeddingSettings(patch_atoms=16, patches=False)
    kwargs = {"max_atoms": 64}
    doc = dict(si_docs[0], config_id=task.task_id("CHGNet", settings, **kwargs))
    export_dataset([doc], tmp_path / "part1.json.gz")
    skip = dataset_ids([tmp_path / "part1.json.gz"])
    assert skip == {doc["config_id"]}
    store = default_store(tmp_path / "ds")
    summary = run_batch(
        [task], store, settings=settings, progress=False, supercell_kwargs=kwargs, skip_ids=skip
    )
    assert (summary.done, summary.skipped) == (0, 1)
    with store:
        assert store.count() == 0


def test_workers_warn_as_the_parent_does(monkeypatch):
    import warnings

    import torch

    from defectnet_atomate import batch

    monkeypatch.setattr(batch, "make_engine", lambda *args: object())
    threads = torch.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filters = batch._portable_warning_filters()
        warnings.resetwarnings()
        batch._init_worker("CHGNet", DirectSettings(), threads, None, True, filters)
        assert warnings.filters[0][:3] == ("ignore", None, Warning)
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn("logm result may be inaccurate", RuntimeWarning, stacklevel=1)
        assert caught == []


def test_requests_of_one_host_go_to_one_worker(tmp_path, si_structure):
    """Embedding requests are handed out per host: one worker computes a host's patches."""
    from defectnet_atomate.batch import _by_host

    a = DopingTask(si_structure, ["Ge:Si:3"], seed=0, host_id="mp-149")
    b = DopingTask(si_structure, ["C:Si:3"], seed=1, host_id="mp-149")
    c = DopingTask(si_structure, ["Ge:Si:3"], seed=0, host_id="other")
    groups = list(_by_host((str(i), t, {}) for i, t in enumerate([a, b, c, a])))
    assert [[item[0] for item in g] for g in groups] == [["0", "1"], ["2"], ["3"]]

    settings = EmbeddingSettings(patch_atoms=16, patches=False)
    store = default_store(tmp_path / "ds")
    kwargs = {"progress": False, "supercell_kwargs": {"max_atoms": 128}, "settings": settings}
    summary = run_batch((t for t in (a, b)), store, n_workers=2, **kwargs)
    assert (summary.done, summary.failed) == (2, 0), summary.failures
    with store:
        assert sorted(store.distinct("dopant_elements")) == ["C", "Ge"]
