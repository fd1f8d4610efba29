"""Re-match jobs: every gap list of a region ranked again (after a large ingest), with progress.

A job walks the region's live gap lists in id order and writes one line per list — the list's
recommendations as ``GET /v1/gap-lists/{id}/recommendations`` returns them — to
``<data dir>/rematch/<job id>/result.ndjson`` as it goes, so memory holds one list at a time
whatever the region's size. Status is a file (``status.json``, written atomically), so every worker
process on the host answers for any job; the work runs on a one-thread pool in the process that
accepted it. A job whose status has not moved for ``STALE_AFTER`` (its process died) reads as
failed; finished jobs are removed after ``ttl``. A job is visible only to the key that started it
(and to admin keys). The lists a result carries are recorded (``lists.json``) for the per-list audit
of its download.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, TypeAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from chainmatch.chains.schemas import GapListRef
from chainmatch.gaplists import in_city, items_of
from chainmatch.indexing import IndexService
from chainmatch.jobstore import JobState, JobStore, runner_for
from chainmatch.matching import recommend_gap_list
from models.gap import GapList
from recommender.corpus import Region

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_REFS = TypeAdapter(list[GapListRef])


class RematchJobPublic(BaseModel):
    """What a client sees of a job (never whose key started it); ``done`` of ``total`` gap lists."""

    id: str
    province: str
    city: str | None = None
    k: int
    state: JobState
    done: int = 0
    total: int = 0
    items: int = 0
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


class RematchJob(RematchJobPublic):
    owner_key_id: int
    min_score: float | None = None

    def public(self) -> RematchJobPublic:
        return RematchJobPublic.model_validate(self.model_dump(exclude={"owner_key_id", "min_score"}))


def _count(session: Session, region: Region) -> int:
    query = (
        select(func.count())
        .select_from(GapList)
        .where(col(GapList.deleted_at).is_(None), GapList.region_province == region.province)
    )
    if region.city:
        query = query.where(in_city(region.city))
    return int(session.exec(query).one())


def _list_ids(db: Engine, region: Region, page: int = 200) -> Iterator[str]:
    """Ids of the region's lists in id order, read a page at a time."""
    after = ""
    while True:
        with Session(db) as session:
            query = select(GapList.id).where(
                col(GapList.deleted_at).is_(None),
                GapList.region_province == region.province,
                col(GapList.id) > after,
            )
            if region.city:
                query = query.where(in_city(region.city))
            ids = list(session.exec(query.order_by(col(GapList.id)).limit(page)))
        if not ids:
            return
        yield from ids
        after = ids[-1]


def rematch_region(
    db: Engine,
    index: IndexService,
    region: Region,
    out: Path,
    *,
    k: int,
    min_score: float | None,
    progress: Progress,
) -> tuple[list[GapListRef], int]:
    """Writes one ``GapListRecommendations`` JSON line per list of ``region`` to ``out``; returns
    the lists written (id, version) and the number of items ranked."""
    with Session(db) as session:
        total = _count(session, region)
    refs: list[GapListRef] = []
    n_items = 0
    progress(0, total)
    with open(out, "wb") as fh:
        for list_id in _list_ids(db, region):
            with Session(db) as session:
                gap_list = session.get(GapList, list_id)
                if gap_list is None or gap_list.deleted_at is not None:
                    continue
                items = items_of(session, gap_list)
            with index.searching() as engine:
                result = recommend_gap_list(engine, gap_list, items, k=k, min_score=min_score)
            fh.write(result.model_dump_json().encode() + b"\n")
            refs.append(GapListRef(id=gap_list.id, version=gap_list.version))
            n_items += len(items)
            progress(len(refs), max(total, len(refs)))
    return refs, n_items


class RematchJobs(JobStore[RematchJob]):
    model = RematchJob
    kind = "re-match"
    thread_name_prefix = "rematch-job"
    logger = logger

    def submit(
        self,
        db: Engine,
        index: IndexService,
        region: Region,
        *,
        owner_key_id: int,
        k: int,
        min_score: float | None,
    ) -> RematchJob:
        job = self._create(
            owner_key_id=owner_key_id, province=region.province, city=region.city, k=k, min_score=min_score
        )
        self._pool.submit(self._run, job, db, index, region)
        return job

    def _run(self, job: RematchJob, db: Engine, index: IndexService, region: Region) -> None:
        folder = self._dir(job.id)
        progress = self._progress(job)

        def compute() -> None:
            partial = folder / ".result.ndjson.part"
            refs, job.items = rematch_region(
                db, index, region, partial, k=job.k, min_score=job.min_score, progress=progress
            )
            self._write(folder / "lists.json", _REFS.dump_json(refs))
            os.replace(partial, folder / "result.ndjson")
            job.done = job.total = len(refs)

        self._execute(job, compute)

    def result(self, job_id: str, *, key_id: int, admin: bool = False) -> tuple[Path, list[GapListRef]]:
        """The finished result file and the lists (id, version) it carries; 404 until done."""
        folder = self._done(job_id, key_id=key_id, admin=admin)
        return folder / "result.ndjson", _REFS.validate_json((folder / "lists.json").read_bytes())


def rematch_jobs_for(state: object, root: Path) -> RematchJobs:
    """The process's re-match job runner kept on ``state`` (``app.state``), created on first use."""
    return runner_for(state, "rematch_jobs", lambda: RematchJobs(root))


__all__ = ["RematchJob", "RematchJobPublic", "RematchJobs", "rematch_jobs_for", "rematch_region"]
