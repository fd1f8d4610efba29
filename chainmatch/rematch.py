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
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, TypeAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from chainmatch.chains.jobs import JOB_ID, STALE_AFTER, JobNotFound, JobState
from chainmatch.chains.schemas import GapListRef
from chainmatch.gaplists import in_city, items_of
from chainmatch.indexing import IndexService
from chainmatch.matching import recommend_gap_list
from models.common import utcnow
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
    query = select(func.count()).select_from(GapList).where(
        col(GapList.deleted_at).is_(None), GapList.region_province == region.province
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


class RematchJobs:
    def __init__(self, root: Path, *, ttl: timedelta = timedelta(hours=24)) -> None:
        self.root = root
        self.ttl = ttl
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rematch-job")

    def _dir(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id):
            raise JobNotFound(job_id)
        return self.root / job_id

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def _save(self, job: RematchJob) -> None:
        job.updated_at = utcnow()
        self._write(self._dir(job.id) / "status.json", job.model_dump_json().encode())

    def _load(self, job_id: str) -> RematchJob:
        try:
            return RematchJob.model_validate_json((self._dir(job_id) / "status.json").read_bytes())
        except (OSError, ValueError) as exc:
            raise JobNotFound(job_id) from exc

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
        self.cleanup()
        job_id = secrets.token_urlsafe(12)
        self._dir(job_id).mkdir(parents=True, exist_ok=False)
        now = utcnow()
        job = RematchJob(
            id=job_id,
            province=region.province,
            city=region.city,
            k=k,
            min_score=min_score,
            owner_key_id=owner_key_id,
            state="queued",
            created_at=now,
            updated_at=now,
        )
        self._save(job)
        self._pool.submit(self._run, job, db, index, region)
        return job

    def _run(self, job: RematchJob, db: Engine, index: IndexService, region: Region) -> None:
        folder = self._dir(job.id)
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            job.state, job.done, job.total = "running", done, total
            now = time.monotonic()
            if now - last > 0.2 or done == total:
                last = now
                self._save(job)

        try:
            job.state = "running"
            self._save(job)
            partial = folder / ".result.ndjson.part"
            refs, job.items = rematch_region(
                db, index, region, partial, k=job.k, min_score=job.min_score, progress=progress
            )
            self._write(folder / "lists.json", _REFS.dump_json(refs))
            os.replace(partial, folder / "result.ndjson")
            job.state, job.finished_at = "done", utcnow()
            job.done = job.total = len(refs)
        except Exception as exc:  # reported to the client, logged with its traceback here
            logger.exception("re-match job %s failed", job.id)
            job.state, job.finished_at = "failed", utcnow()
            job.error = str(exc) or type(exc).__name__
        self._save(job)

    def status(self, job_id: str, *, key_id: int, admin: bool = False) -> RematchJob:
        job = self._load(job_id)
        if job.owner_key_id != key_id and not admin:
            raise JobNotFound(job_id)
        if job.state in ("queued", "running") and utcnow() - job.updated_at > STALE_AFTER:
            job.state, job.error = "failed", "任务中断 (the job was interrupted)"
        return job

    def result(self, job_id: str, *, key_id: int, admin: bool = False) -> tuple[Path, list[GapListRef]]:
        """The finished result file and the lists (id, version) it carries; 404 until done."""
        job = self.status(job_id, key_id=key_id, admin=admin)
        if job.state != "done":
            raise JobNotFound(job_id)
        folder = self._dir(job_id)
        return folder / "result.ndjson", _REFS.validate_json((folder / "lists.json").read_bytes())

    def cleanup(self) -> None:
        if not self.root.exists():
            return
        cutoff = utcnow() - self.ttl
        for folder in self.root.iterdir():
            if not folder.is_dir() or not JOB_ID.match(folder.name):
                continue
            try:
                job = self._load(folder.name)
            except JobNotFound:
                if time.time() - folder.stat().st_mtime > self.ttl.total_seconds():
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            if job.updated_at < cutoff:
                shutil.rmtree(folder, ignore_errors=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


_jobs_lock = threading.Lock()


def rematch_jobs_for(state: object, root: Path) -> RematchJobs:
    """The process's re-match job runner kept on ``state`` (``app.state``), created on first use."""
    with _jobs_lock:
        jobs = getattr(state, "rematch_jobs", None)
        if jobs is None:
            jobs = RematchJobs(root)
            setattr(state, "rematch_jobs", jobs)  # noqa: B010
        return jobs


__all__ = ["RematchJob", "RematchJobPublic", "RematchJobs", "rematch_jobs_for", "rematch_region"]
