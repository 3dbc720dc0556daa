from __future__ import annotations

import pytest
from jobflow import Flow, job, run_locally

from defectnet_atomate.builders import DefectPhononBuilder
from defectnet_atomate.schemas import DefectPhononDoc
from defectnet_atomate.stores import default_store


@job(data=["pdos", "pristine_pdos", "modes", "pristine_modes"])
def _finished(doc: dict) -> DefectPhononDoc:
    """Stands in for a finished engine job: returns a real (precomputed) document."""
    return DefectPhononDoc.model_validate(doc)


def _run(jobstore, docs):
    flow = Flow([_finished(d) for d in docs])
    run_locally(flow, store=jobstore, ensure_success=True, log=False)
    return flow


def test_builder_reads_blobs_and_is_incremental(disk_jobstore, tmp_path, si_docs):
    flow = _run(disk_jobstore, si_docs[:2])
    # the big arrays went to the data side store
    raw = disk_jobstore.query_one({"output.@class": "DefectPhononDoc"})
    assert "blob_uuid" in raw["output"]["pdos"]
    target = default_store(tmp_path / "docs")
    builder = DefectPhononBuilder(disk_jobstore, target)
    builder.run()
    with target:
        assert target.count() == 2
        doc = target.query_one({"config_id": si_docs[0]["config_id"]})
        assert doc["flow_uuid"] == flow.uuid
        assert len(doc["pdos"]["total"]) == len(si_docs[0]["pdos"]["total"])
        DefectPhononDoc.model_validate(doc)
    # a re-run processes nothing new; a new result is picked up alone
    builder = DefectPhononBuilder(disk_jobstore, target)
    builder.connect()
    assert list(builder.get_items()) == []
    builder.finalize()
    _run(disk_jobstore, si_docs[2:])
    builder = DefectPhononBuilder(disk_jobstore, target)
    builder.connect()
    items = list(builder.get_items())
    assert [i["output"]["config_id"] for i in items] == [si_docs[2]["config_id"]]
    builder.finalize()


def test_interrupted_build_loses_nothing(disk_jobstore, tmp_path, si_docs, monkeypatch):
    _run(disk_jobstore, si_docs)
    target = default_store(tmp_path / "docs")
    builder = DefectPhononBuilder(disk_jobstore, target, chunk_size=1)
    calls = {"n": 0}
    original = type(target).update

    def flaky_update(self, docs, key=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the second chunk
        return original(self, docs, key=key)

    monkeypatch.setattr(type(target), "update", flaky_update)
    with pytest.raises(KeyboardInterrupt):
        builder.run()
    monkeypatch.setattr(type(target), "update", original)
    with target:
        assert target.count() == 1
    DefectPhononBuilder(disk_jobstore, target).run()
    with target:
        assert target.count() == 3
        assert len(target.distinct("config_id")) == 3


def test_builder_round_trips_as_msonable(memory_jobstore):
    from maggma.stores import MemoryStore

    builder = DefectPhononBuilder(memory_jobstore, MemoryStore(), query={"name": "x"})
    again = DefectPhononBuilder.from_dict(builder.as_dict())
    assert again.query == {"name": "x"}
