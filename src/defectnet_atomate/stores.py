"""Where documents live: the embedded on-disk store by default, MongoDB for scale.

- :func:`default_store` gives the :class:`~defectnet_atomate.schemas.DefectPhononDoc`
  store; :func:`default_job_store` the jobflow ``JobStore`` (with a ``data`` side store
  for big arrays) that flows run into. Both are embedded (montydb on SQLite, no server)
  in the user's data folder unless a path or a ``mongodb://`` URI is given.
- Query helpers: :func:`query_docs` (by host, dopant element, concentration range,
  number of dopants) and :func:`docs_to_arrays` (spectra on one grid, for training).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from defectnet_atomate.settings import SETTINGS

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from jobflow import JobStore
    from maggma.core import Store

__all__ = [
    "DOCS_COLLECTION",
    "StoreError",
    "default_job_store",
    "default_store",
    "docs_to_arrays",
    "insert_new",
    "open_store",
    "query_docs",
]

DOCS_COLLECTION = "defect_phonon_docs"
"""Collection of :class:`~defectnet_atomate.schemas.DefectPhononDoc` documents."""


class StoreError(RuntimeError):
    """A store that cannot be opened or written; the message says what to do."""


def _writable_folder(path: str | Path) -> Path:
    folder = Path(path).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".defectnet-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StoreError(
            f"Cannot write the store folder {folder} ({exc.strerror or exc}); pass a writable "
            "path or set DEFECTNET_DATA_DIR to one."
        ) from None
    return folder


def _location(location: str | Path | None) -> str | Path:
    if location is None:
        location = SETTINGS.STORE_URI or SETTINGS.DATA_DIR
    return location


def _is_mongo(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(("mongodb://", "mongodb+srv://"))


def open_store(location: str | Path | None, collection: str, key: str) -> Store:
    """Open any collection at ``location`` (a folder: embedded; ``mongodb://``: MongoDB).

    ``None`` is the default location (see :func:`default_store`).
    """
    location = _location(location)
    if _is_mongo(location):
        from maggma.stores import MongoStore

        database = str(location).split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if not database or ":" in database or "@" in database:
            database = "defectnet"
        return MongoStore.from_uri(
            str(location), collection_name=collection, database=database, key=key
        )
    from maggma.stores import MontyStore

    folder = _writable_folder(location)
    return MontyStore(
        collection,
        database_path=str(folder),
        database_name="defectnet",
        storage="sqlite",
        key=key,
    )


def insert_new(store: Store, docs: list[dict]) -> None:
    """Write documents whose keys ``store`` does not hold yet (connected store).

    On the embedded store this inserts directly: maggma's ``update`` upserts one document
    at a time, and montydb, which has no indexes, scans the whole collection for each, so
    writes slow down with the square of the store's size (minutes per document past a few
    thousand). Elsewhere (MongoDB, memory) it is ``store.update``. Callers must have
    checked the keys (e.g. against ``store.distinct(store.key)``).
    """
    from maggma.stores import MontyStore
    from monty.json import jsanitize

    if not docs:
        return
    if isinstance(store, MontyStore):
        store._collection.insert_many([jsanitize(d, allow_bson=True) for d in docs])
    else:
        store.update(docs, key=store.key)


def default_store(location: str | Path | None = None) -> Store:
    """Store of :class:`~defectnet_atomate.schemas.DefectPhononDoc` (key ``config_id``).

    Parameters
    ----------
    location
        A folder for the embedded store (montydb on SQLite, no server), a ``mongodb://``
        URI for a MongoDB server, or ``None``: ``DEFECTNET_STORE_URI`` if set, else the
        folder ``DEFECTNET_DATA_DIR`` (by default the user's data folder).

    Returns
    -------
    maggma.core.Store
        Not yet connected; ``with store:`` or ``store.connect()`` opens it.
    """
    return open_store(_location(location), DOCS_COLLECTION, key="config_id")


def default_job_store(location: str | Path | None = None) -> JobStore:
    """Jobflow ``JobStore`` for flows, with a ``data`` side store for big arrays.

    Parameters
    ----------
    location
        As for :func:`default_store` (the same folder or server holds both).
    """
    from jobflow import JobStore

    location = _location(location)
    return JobStore(
        open_store(location, "jobflow_outputs", key="uuid"),
        additional_stores={"data": open_store(location, "jobflow_data", key="blob_uuid")},
    )


def query_docs(
    store: Store,
    host: str | None = None,
    dopant: str | None = None,
    min_percent: float | None = None,
    max_percent: float | None = None,
    n_dopants: int | None = None,
    engine: str | None = None,
    criteria: dict | None = None,
    properties: list[str] | None = None,
) -> Iterator[dict]:
    """Query documents of a (connected) store.

    Parameters
    ----------
    store
        A connected store of documents (see :func:`default_store`).
    host
        Host id (e.g. ``"mp-149"``) or reduced formula (e.g. ``"Si"``).
    dopant
        Only documents that contain this dopant element.
    min_percent, max_percent
        Concentration range, at.% of all atoms: of ``dopant`` if given, else of any dopant.
    n_dopants
        Number of dopant elements.
    engine
        ``"atomate2"``, ``"direct"``, ``"embedding"`` or ``"mass-defect"``.
    criteria
        Further MongoDB-style criteria.
    properties
        Fields to return (all if ``None``).

    Yields
    ------
    dict
        Matching documents.
    """
    query: dict[str, Any] = dict(criteria or {})
    if host is not None:
        query["$or"] = [{"host.host_id": host}, {"host.formula": host}]
    if n_dopants is not None:
        query["n_dopants"] = int(n_dopants)
    if engine is not None:
        query["settings.engine"] = engine
    match: dict[str, Any] = {}
    if dopant is not None:
        match["element"] = dopant
    bounds: dict[str, float] = {}
    if min_percent is not None:
        bounds["$gte"] = float(min_percent)
    if max_percent is not None:
        bounds["$lte"] = float(max_percent)
    if bounds:
        match["atomic_percent"] = bounds
    if match:
        query["dopants"] = {"$elemMatch": match}
    yield from store.query(criteria=query, properties=properties)


def docs_to_arrays(
    docs: Iterable[dict], grid: np.ndarray | None = None, elements: list[str] | None = None
) -> dict[str, Any]:
    """Stack documents into arrays for training.

    Parameters
    ----------
    docs
        Documents (dicts from a store or ``DefectPhononDoc.model_dump()``).
    grid
        Frequency grid (THz) to interpolate on; by default 0 to the highest frequency
        in steps of the documents' grid.
    elements
        Columns of the concentration matrix (default: every dopant element seen, sorted).

    Returns
    -------
    dict
        ``frequencies`` (n_grid,), ``doped`` and ``pristine`` (n_docs, n_grid) total DOS,
        ``concentrations`` (n_docs, n_elements) in at.%, ``elements``, ``hosts`` and
        ``config_ids``.
    """
    docs = list(docs)
    if not docs:
        raise ValueError("No documents to convert; check the query.")
    if grid is None:
        f_max = max(d["pdos"]["frequencies"][-1] for d in docs)
        step = docs[0]["pdos"]["frequencies"][1] - docs[0]["pdos"]["frequencies"][0]
        grid = np.arange(0.0, f_max + step / 2, step)
    elements = elements or sorted({el for d in docs for el in d["dopant_elements"]})
    column = {el: i for i, el in enumerate(elements)}
    doped = np.zeros((len(docs), len(grid)))
    pristine = np.full((len(docs), len(grid)), np.nan)
    conc = np.zeros((len(docs), len(elements)))
    for i, d in enumerate(docs):
        doped[i] = np.interp(grid, d["pdos"]["frequencies"], d["pdos"]["total"], left=0, right=0)
        if d.get("pristine_pdos"):
            p = d["pristine_pdos"]
            pristine[i] = np.interp(grid, p["frequencies"], p["total"], left=0, right=0)
        for dop in d["dopants"]:
            if dop["element"] in column:
                conc[i, column[dop["element"]]] = dop["atomic_percent"]
    return {
        "frequencies": np.asarray(grid),
        "doped": doped,
        "pristine": pristine,
        "concentrations": conc,
        "elements": elements,
        "hosts": [d["host"].get("host_id") or d["host"]["formula"] for d in docs],
        "config_ids": [d["config_id"] for d in docs],
    }
