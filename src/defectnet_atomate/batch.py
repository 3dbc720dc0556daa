"""Batch generation of doped-crystal spectra: parallel worker processes, resumable.

Each worker process loads the potential once (one thread each: on this kind of machine
several single-threaded workers beat one multi-threaded process) and runs one engine on
one request at a time: :class:`~defectnet_atomate.phonons.direct.DirectEngine` for
:class:`~defectnet_atomate.phonons.direct.DirectSettings`, or
:class:`~defectnet_atomate.phonons.embedding.EmbeddingEngine` for
:class:`~defectnet_atomate.phonons.embedding.EmbeddingSettings` (with ``patches=False``,
the mass-defect model). The
main process writes every document to the store as soon as it arrives, so an
interrupted run loses at most the requests in flight, and a re-run skips every request
whose id the store already holds (or that failed before, unless ``retry_failed``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import time
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from monty.json import MSONable

from defectnet_atomate.doping import Doping, parse_doping
from defectnet_atomate.phonons.direct import DirectEngine, DirectSettings
from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator

    from maggma.core import Store
    from pymatgen.core import Structure

__all__ = [
    "LATER_SETTINGS",
    "MASS_DEFECT_ID_CUTOFF",
    "BatchSummary",
    "DopingTask",
    "make_engine",
    "run_batch",
]

logger = logging.getLogger(__name__)


ID_EXCLUDED_SETTINGS = (
    "max_host_imaginary",
    "max_residual_force",
    "cell_start",
    "atom_start",
)
"""Engine settings that never enter a request's id (they decide whether a request gives a
spectrum, or the path to it, not the spectrum)."""

LATER_SETTINGS: dict[str, list[tuple[str, ...]]] = {
    # 0.3: the stochastic Lanczos DOS of the linear-scaling path; newest first
    "EmbeddingSettings": [("lanczos_vectors", "lanczos_steps", "lanczos_seed")],
}
"""Engine settings added after requests were first stored, per settings class: at their
defaults they leave the results of earlier requests unchanged, so a request's older ids
leave them out (a campaign resumed after 0.3 recomputed 8,000 stored requests before
this)."""

MASS_DEFECT_ID_CUTOFF = 6.0
"""Patch cutoff (A) in the ids of mass-defect requests: the embedding engine's default until
0.8 (whole-cell patches since). It does not change their results, so their ids keep it and
the 21,000 committed mass-defect requests still count as done."""


@dataclass
class DopingTask(MSONable):
    """One request: a host, its dopings (one supercell) and a seed."""

    host: Structure
    dopings: list[Doping]
    seed: int = 0
    host_id: str | None = None

    def __post_init__(self) -> None:
        self.dopings = [parse_doping(d) for d in self.dopings]

    def task_id(
        self,
        force_field: str,
        settings: DirectSettings | EmbeddingSettings,
        **supercell_kwargs: Any,
    ) -> str:
        """Deterministic id of the request and its settings (the document's ``config_id``)."""
        return self._id(force_field, asdict(settings), settings, supercell_kwargs)

    def task_ids(
        self,
        force_field: str,
        settings: DirectSettings | EmbeddingSettings,
        **supercell_kwargs: Any,
    ) -> list[str]:
        """Return the request's id, then the ids that earlier versions gave it.

        Settings added later (:data:`LATER_SETTINGS`) entered the id and so changed the ids
        of requests already stored; a store may hold a request under any of these ids.
        """
        ids = [self.task_id(force_field, settings, **supercell_kwargs)]
        fields = asdict(settings)
        defaults = asdict(type(settings)())
        for names in LATER_SETTINGS.get(type(settings).__name__, []):
            if all(fields.get(n) == defaults[n] for n in names):
                fields = {k: v for k, v in fields.items() if k not in names}
                ids.append(self._id(force_field, fields, settings, supercell_kwargs))
        return ids

    def _id(
        self,
        force_field: str,
        fields: dict[str, Any],
        settings: DirectSettings | EmbeddingSettings,
        supercell_kwargs: dict[str, Any],
    ) -> str:
        # the screens of hosts (0.15) and of unrelaxed cells (0.28) decide whether a request
        # gives a spectrum, not what it gives, and BFGS's starting cell curvature (0.28) the
        # path to the minimum, not the minimum (benchmarks/relaxation_start.py): not in ids
        fields = {k: v for k, v in fields.items() if k not in ID_EXCLUDED_SETTINGS}
        if isinstance(settings, EmbeddingSettings) and not settings.patches:
            # the mass-defect level has no patches, so their reach does not enter its results:
            # its ids keep the patch cutoff that was the default when they were first stored,
            # and leave out the patches' additivity check (0.12), which it never runs
            fields = {**fields, "cutoff": MASS_DEFECT_ID_CUTOFF}
            fields.pop("max_extra_relaxation", None)
        payload: dict[str, Any] = {
            "host": self.host_id or self.host.composition.reduced_formula,
            "lattice": [round(x, 3) for x in self.host.lattice.abc],
            "dopings": [str(d) for d in self.dopings],
            "seed": self.seed,
            "force_field": force_field,
            "settings": fields,
            "supercell": supercell_kwargs,
        }
        if not isinstance(settings, DirectSettings):  # ids of direct requests stay as they were
            payload["engine"] = type(settings).__name__
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return f"dpd-{digest[:20]}"


@dataclass
class BatchSummary:
    """What a batch run did."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[dict] = field(default_factory=list)


_ENGINE: DirectEngine | EmbeddingEngine | None = None
_KEEP_MODES = True


def make_engine(
    force_field: str,
    settings: DirectSettings | EmbeddingSettings,
    cache_dir: str | None = None,
) -> DirectEngine | EmbeddingEngine:
    """Return the engine that the type of ``settings`` names."""
    if isinstance(settings, EmbeddingSettings):
        return EmbeddingEngine(force_field=force_field, settings=settings, cache_dir=cache_dir)
    if isinstance(settings, DirectSettings):
        return DirectEngine(force_field=force_field, settings=settings)
    raise TypeError(
        f"settings must be DirectSettings or EmbeddingSettings, not {type(settings).__name__}."
    )


def _portable_warning_filters() -> list:
    """Return the parent's warning filters that a spawned worker can unpickle."""
    return [f for f in warnings.filters if getattr(f[2], "__module__", "") != "__main__"]


def _init_worker(
    force_field: str,
    settings: DirectSettings | EmbeddingSettings,
    threads: int,
    cache_dir: str | None = None,
    keep_modes: bool = True,
    warning_filters: list | None = None,
) -> None:
    import torch

    global _ENGINE, _KEEP_MODES
    if warning_filters is not None:
        # spawned workers start with Python's default filters: warn as the parent does
        # (the command line silences library warnings unless --debug)
        warnings.filters[:] = warning_filters
    torch.set_num_threads(threads)
    _ENGINE = make_engine(force_field, settings, cache_dir)
    _KEEP_MODES = keep_modes


def _work(args: tuple[str, DopingTask, dict]) -> tuple[str, dict | None, str | None]:
    from defectnet_atomate.builders import doc_to_store_dict

    task_id, task, supercell_kwargs = args
    assert _ENGINE is not None
    try:
        doc = _ENGINE.run(
            task.host, task.dopings, seed=task.seed, host_id=task.host_id, **supercell_kwargs
        )
        doc.config_id = task_id
        if not _KEEP_MODES:
            doc.modes = doc.pristine_modes = None
        return task_id, doc_to_store_dict(doc), None
    except Exception as exc:
        return task_id, None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"


def _work_group(
    items: list[tuple[str, DopingTask, dict]],
) -> list[tuple[str, dict | None, str | None]]:
    return [_work(item) for item in items]


def _host_key(task: DopingTask) -> str:
    return task.host_id or f"{task.host.composition.reduced_formula} {task.host.lattice.abc}"


def _by_host(
    items: Iterable[tuple[str, DopingTask, dict]],
) -> Iterator[list[tuple[str, DopingTask, dict]]]:
    """Group consecutive requests of the same host (one work item per host)."""
    group: list[tuple[str, DopingTask, dict]] = []
    for item in items:
        if group and _host_key(item[1]) != _host_key(group[-1][1]):
            yield group
            group = []
        group.append(item)
    if group:
        yield group


def run_batch(
    tasks: Iterable[DopingTask],
    store: Store,
    *,
    force_field: str = "CHGNet",
    settings: DirectSettings | EmbeddingSettings | None = None,
    n_workers: int = 1,
    threads_per_worker: int = 1,
    failures: Store | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    supercell_kwargs: dict | None = None,
    cache_dir: str | None = None,
    keep_modes: bool = True,
    skip_ids: Collection[str] = (),
    on_result: Callable[[BatchSummary], None] | None = None,
    by_host: bool | None = None,
) -> BatchSummary:
    """Compute the documents of many requests into ``store``; skip what it already holds.

    Parameters
    ----------
    tasks
        The requests: a sequence, or any iterable (e.g. a generator that draws them while
        the workers run: drawn lazily, so one pool serves a whole campaign with no pause
        between its parts).
    store
        Target store of documents (key ``config_id``); opened and closed here.
    force_field
        atomate2 force-field name.
    settings
        Engine settings; their type picks the engine (``DirectSettings``, the default, or
        ``EmbeddingSettings``).
    n_workers
        Worker processes (each keeps the potential loaded).
    threads_per_worker
        torch threads per worker.
    failures
        Store in which failed requests are recorded (key ``config_id``) so that re-runs
        skip them; ``None`` keeps them only in the summary.
    retry_failed
        Run requests recorded as failed again.
    progress
        Show a progress bar.
    supercell_kwargs
        Passed to :func:`~defectnet_atomate.doping.make_doped_supercell`
        (e.g. ``max_atoms``).
    cache_dir
        Folder for the embedding engine's host force constants and patches.
    keep_modes
        Keep the unbroadened modes in the documents (``False`` for large training sets:
        a 500-atom cell's modes are a few hundred kB).
    skip_ids
        Ids of requests done elsewhere (e.g. in committed dataset files): skipped like
        those in the store.
    on_result
        Called with the summary so far after each computed request (done or failed),
        e.g. to log progress where no progress bar shows.
    by_host
        Hand each worker all consecutive requests of one host at once, so that a host's
        relaxation, force constants and patches are computed by one worker only (two
        workers starting the same host would each compute them). ``None``: on for the
        embedding engines with several workers. A host's documents then reach the store
        when all its requests are done.

    Returns
    -------
    BatchSummary
        Counts, wall time and the failures of this run.
    """
    from tqdm.auto import tqdm

    from defectnet_atomate.stores import insert_new

    settings = settings or DirectSettings()
    supercell_kwargs = dict(supercell_kwargs or {})
    summary = BatchSummary()
    t0 = time.perf_counter()
    store.connect()
    if failures is not None:
        failures.connect()
    try:
        done = set(store.distinct("config_id")) | set(skip_ids)
        if failures is not None and not retry_failed:
            done |= set(failures.distinct("config_id"))

        def pending() -> Iterator[tuple[str, DopingTask, dict]]:
            for task in tasks:
                ids = task.task_ids(force_field, settings, **supercell_kwargs)
                if done.intersection(ids):
                    summary.skipped += 1
                else:
                    yield ids[0], task, supercell_kwargs

        # a sequence is checked up front (a bar with a total); anything else streams
        todo = list(pending()) if isinstance(tasks, Sequence) else pending()
        total = len(todo) if isinstance(todo, list) else None
        bar = tqdm(total=total, disable=not progress, desc="spectra", unit="spectrum")
        init = (
            force_field,
            settings,
            threads_per_worker,
            cache_dir,
            keep_modes,
            _portable_warning_filters(),
        )
        if by_host is None:
            by_host = isinstance(settings, EmbeddingSettings) and n_workers > 1
        results = _results(todo, init, n_workers, by_host)
        for task_id, doc, error in results:
            if doc is not None:
                insert_new(store, [doc])  # its id is not in the store (checked above)
                summary.done += 1
            else:
                summary.failed += 1
                record = {"config_id": task_id, "error": error}
                summary.failures.append(record)
                logger.warning("Request %s failed: %s", task_id, error.splitlines()[0])
                if failures is not None:
                    failures.update([record], key="config_id")
            bar.update()
            if on_result is not None:
                summary.seconds = time.perf_counter() - t0
                on_result(summary)
        bar.close()
    finally:
        store.close()
        if failures is not None:
            failures.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _results(
    todo: Iterable[tuple[str, DopingTask, dict]],
    init: tuple,
    n_workers: int,
    by_host: bool = False,
) -> Iterable[tuple[str, dict | None, str | None]]:
    if isinstance(todo, list) and not todo:
        return
    if n_workers <= 1:
        _init_worker(*init)
        for item in todo:
            yield _work(item)
        return
    context = mp.get_context("spawn")  # torch and fork do not mix
    with context.Pool(n_workers, initializer=_init_worker, initargs=init) as pool:
        if by_host:
            for group in pool.imap_unordered(_work_group, _by_host(todo), chunksize=1):
                yield from group
        else:
            yield from pool.imap_unordered(_work, todo, chunksize=1)
