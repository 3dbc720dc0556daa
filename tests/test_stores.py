from __future__ import annotations

import os

import numpy as np
import pytest

from defectnet_atomate.stores import (
    StoreError,
    default_job_store,
    default_store,
    docs_to_arrays,
    query_docs,
)


@pytest.fixture
def filled_store(tmp_path, si_docs):
    store = default_store(tmp_path / "db")
    store.connect()
    store.update(si_docs, key="config_id")
    yield store
    store.close()


def test_embedded_store_on_disk(tmp_path, si_docs):
    store = default_store(tmp_path / "db")
    with store:
        store.update(si_docs, key="config_id")
    assert (tmp_path / "db").is_dir()
    with default_store(tmp_path / "db") as again:  # reopened from disk
        assert again.count() == 3


def test_default_location_from_settings(tmp_path, monkeypatch):
    from defectnet_atomate import stores

    monkeypatch.setattr(stores.SETTINGS, "DATA_DIR", tmp_path / "home")
    monkeypatch.setattr(stores.SETTINGS, "STORE_URI", None)
    store = default_store()
    assert str(tmp_path / "home") in store.database_path


def test_mongodb_uri_gives_mongo_store():
    from maggma.stores import MongoStore

    store = default_store("mongodb://localhost:27017/spectra")
    assert isinstance(store, MongoStore)
    assert store.database == "spectra"
    assert default_store("mongodb://localhost:27017").database == "defectnet"
    js = default_job_store("mongodb://localhost:27017/spectra")
    assert isinstance(js.additional_stores["data"], MongoStore)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_path_non_root(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(StoreError, match="Cannot write"):
        default_store(locked / "db")


def test_unwritable_path(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="DEFECTNET_DATA_DIR"):
        default_store(blocker / "db")


def test_queries(filled_store):
    by_host = list(query_docs(filled_store, host="mp-149"))
    assert len(by_host) == 3
    assert len(list(query_docs(filled_store, host="Si"))) == 3
    assert len(list(query_docs(filled_store, host="mp-1"))) == 0
    ge = list(query_docs(filled_store, dopant="Ge"))
    assert {tuple(d["dopant_elements"]) for d in ge} == {("Ge",), ("Ge", "Sn")}
    assert len(list(query_docs(filled_store, dopant="Ge", min_percent=6, max_percent=7))) >= 1
    assert len(list(query_docs(filled_store, dopant="Ge", min_percent=20))) == 0
    assert len(list(query_docs(filled_store, n_dopants=2))) == 1
    assert len(list(query_docs(filled_store, engine="direct"))) == 3


def test_docs_to_arrays(si_docs):
    arrays = docs_to_arrays(si_docs)
    n = len(si_docs)
    assert arrays["doped"].shape == (n, len(arrays["frequencies"]))
    assert arrays["elements"] == ["C", "Ge", "Sn"]
    assert np.trapezoid(arrays["doped"], arrays["frequencies"], axis=1) == pytest.approx(
        3, rel=0.02
    )
    ge_column = arrays["elements"].index("Ge")
    assert arrays["concentrations"][0, ge_column] > 0
    assert not np.isnan(arrays["pristine"]).any()
    with pytest.raises(ValueError, match="No documents"):
        docs_to_arrays([])


def test_insert_new_writes_to_the_embedded_store(tmp_path):
    from defectnet_atomate.stores import insert_new

    store = default_store(tmp_path / "s")
    with store:
        insert_new(store, [{"config_id": f"dpd-{i}", "x": i} for i in range(3)])
        insert_new(store, [])
        assert sorted(store.distinct("config_id")) == ["dpd-0", "dpd-1", "dpd-2"]
        assert store.query_one({"config_id": "dpd-2"})["x"] == 2
