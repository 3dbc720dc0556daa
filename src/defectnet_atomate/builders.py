"""maggma Builders: finished flows in a jobflow JobStore -> DefectPhononDoc store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emmet.core.utils import jsanitize
from maggma.builders import Builder

from defectnet_atomate.schemas import DefectPhononDoc

if TYPE_CHECKING:
    from collections.abc import Iterator

    from maggma.core import Store

__all__ = ["DefectPhononBuilder", "doc_to_store_dict"]


def doc_to_store_dict(doc: DefectPhononDoc) -> dict:
    """Serialise a document for a maggma store (structures as dicts, BSON-safe)."""
    return jsanitize(doc.model_dump(), allow_bson=True)


class DefectPhononBuilder(Builder):
    """Collect :class:`~defectnet_atomate.schemas.DefectPhononDoc` outputs of finished jobs.

    Reads job outputs of class ``DefectPhononDoc`` from a jobflow ``JobStore`` (big arrays
    are loaded from its ``data`` side store), checks them against the schema, adds the
    flow and job uuids, and writes them to ``documents`` under the key ``config_id``.

    It is incremental: a job whose document is already in the target (same
    ``config_id``) is skipped, and every chunk of
    ``chunk_size`` documents is written as soon as it is processed, so an interrupted
    run loses nothing and a re-run only processes new results.

    Parameters
    ----------
    job_store
        The ``JobStore`` the flows ran into (see
        :func:`~defectnet_atomate.stores.default_job_store`).
    documents
        Target store (see :func:`~defectnet_atomate.stores.default_store`).
    query
        Extra criteria on the job documents.
    **kwargs
        Passed to :class:`maggma.builders.Builder` (e.g. ``chunk_size``).
    """

    def __init__(
        self, job_store: Store, documents: Store, query: dict | None = None, **kwargs: object
    ) -> None:
        self.job_store = job_store
        self.documents = documents
        self.query = query or {}
        self.kwargs = kwargs
        kwargs.setdefault("chunk_size", 50)
        super().__init__(sources=[job_store], targets=[documents], **kwargs)

    def ensure_indexes(self) -> None:
        """Index the fields that queries use."""
        for key in ("config_id", "host.host_id", "host.formula", "dopant_elements", "n_dopants"):
            try:
                self.documents.ensure_index(key)
            except NotImplementedError:  # montydb (embedded store) has no secondary indexes
                return

    def _job_criteria(self) -> dict:
        return {**self.query, "output.@class": DefectPhononDoc.__name__}

    def get_items(self) -> Iterator[dict]:
        """Yield finished jobs whose documents are not yet (or not freshly) in the target."""
        self.ensure_indexes()
        done = {
            d["config_id"]: d.get("last_updated")
            for d in self.documents.query(criteria={}, properties=["config_id", "last_updated"])
        }
        todo = []
        for job in self.job_store.query(
            criteria=self._job_criteria(),
            properties=["uuid", "index", "output.config_id", "completed_at"],
        ):
            cid = job["output"]["config_id"]
            if cid not in done:
                todo.append((job["uuid"], job["index"]))
        self.total = len(todo)
        self.logger.info("%d new defect phonon documents to build", len(todo))
        for uuid, index in todo:
            yield self.job_store.query_one(criteria={"uuid": uuid, "index": index}, load=True)

    def process_item(self, item: dict) -> dict:
        """Validate one job output and add its provenance (no database access)."""
        output = dict(item["output"])
        output.pop("@module", None)
        output.pop("@class", None)
        output.pop("@version", None)
        doc = DefectPhononDoc.model_validate(output)
        hosts = item.get("hosts") or []
        if hosts and not doc.flow_uuid:
            doc.flow_uuid = hosts[-1]
        if item["uuid"] not in doc.job_uuids:
            doc.job_uuids = [item["uuid"], *doc.job_uuids]
        return doc_to_store_dict(doc)

    def update_targets(self, items: list[dict]) -> None:
        """Write a chunk of documents."""
        items = [i for i in items if i]
        if items:
            self.logger.info("Writing %d defect phonon documents", len(items))
            self.documents.update(items, key="config_id")
