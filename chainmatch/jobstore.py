"""File-backed background jobs: the machinery the report jobs (:mod:`chainmatch.chains.jobs`) and the
re-match jobs (:mod:`chainmatch.rematch`) share.

Each job has a folder ``<root>/<job id>/`` whose ``status.json`` (written atomically) is the job's
status model, so every worker process on the host answers for any job; the work runs on a small
thread pool in the process that accepted it. A job whose status has not moved for
:data:`STALE_AFTER` (its process died) reads as failed; finished jobs are removed after ``ttl``. A
job is visible only to the key that started it (and to admin keys). A subclass names its status
model and says what a job computes and which result files it leaves.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, Self, TypeVar, cast

from chainmatch.errors import JobNotFound
from models.common import utcnow

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
STALE_AFTER = timedelta(minutes=10)

JobState = Literal["queued", "running", "done", "failed"]


class StoredJob(Protocol):
    """What the store needs of a status model (a pydantic model with these fields)."""

    id: str
    owner_key_id: int
    state: JobState
    done: int
    total: int
    error: str | None
    updated_at: datetime
    finished_at: datetime | None

    def model_dump_json(self) -> str: ...

    @classmethod
    def model_validate(cls, obj: Any) -> Self: ...

    @classmethod
    def model_validate_json(cls, json_data: bytes) -> Self: ...


S = TypeVar("S", bound=StoredJob)
T = TypeVar("T")


class JobStore(Generic[S]):
    """Jobs kept under ``root``, their status an ``S`` (the subclass's ``model``)."""

    model: type[S]
    kind: str  # in the log line of a failed job: "<kind> job <id> failed"
    thread_name_prefix: str
    logger: logging.Logger

    def __init__(self, root: Path, *, workers: int = 1, ttl: timedelta = timedelta(hours=24)) -> None:
        self.root = root
        self.ttl = ttl
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.thread_name_prefix)

    # -- files ------------------------------------------------------------------------------
    def _dir(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id):
            raise JobNotFound(job_id)
        return self.root / job_id

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def _save(self, job: S) -> None:
        job.updated_at = utcnow()
        self._write(self._dir(job.id) / "status.json", job.model_dump_json().encode())

    def _load(self, job_id: str) -> S:
        path = self._dir(job_id) / "status.json"
        try:
            return self.model.model_validate_json(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise JobNotFound(job_id) from exc

    # -- running -----------------------------------------------------------------------------
    def _create(self, *, owner_key_id: int, **fields: Any) -> S:
        """A new queued job (its folder and status written), after removing expired ones."""
        self.cleanup()
        job_id = secrets.token_urlsafe(12)
        self._dir(job_id).mkdir(parents=True, exist_ok=False)
        now = utcnow()
        job = self.model.model_validate(
            {
                "id": job_id,
                "owner_key_id": owner_key_id,
                "state": "queued",
                "created_at": now,
                "updated_at": now,
                **fields,
            }
        )
        self._save(job)
        return job

    def _progress(self, job: S) -> Callable[[int, int], None]:
        """Marks ``job`` running at ``done`` of ``total``; saved at most every 0.2 s, and at the end."""
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            job.state, job.done, job.total = "running", done, total
            now = time.monotonic()
            if now - last > 0.2 or done == total:
                last = now
                self._save(job)

        return progress

    def _execute(self, job: S, work: Callable[[], None]) -> None:
        """Runs ``work`` (which writes the job's result files) with ``job`` running, then done or
        failed (the error reported to the client, logged with its traceback here)."""
        try:
            job.state = "running"
            self._save(job)
            work()
            job.state, job.finished_at = "done", utcnow()
        except Exception as exc:
            self.logger.exception("%s job %s failed", self.kind, job.id)
            job.state, job.finished_at = "failed", utcnow()
            job.error = str(exc) or type(exc).__name__
        self._save(job)

    # -- API ---------------------------------------------------------------------------------
    def status(self, job_id: str, *, key_id: int, admin: bool = False) -> S:
        job = self._load(job_id)
        if job.owner_key_id != key_id and not admin:
            raise JobNotFound(job_id)
        if job.state in ("queued", "running") and utcnow() - job.updated_at > STALE_AFTER:
            job.state, job.error = "failed", "任务中断 (the job was interrupted)"
        return job

    def _done(self, job_id: str, *, key_id: int, admin: bool) -> Path:
        """The folder of the caller's finished job; :class:`JobNotFound` until it is done."""
        if self.status(job_id, key_id=key_id, admin=admin).state != "done":
            raise JobNotFound(job_id)
        return self._dir(job_id)

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


_runners_lock = threading.Lock()


def runner_for(state: object, attr: str, make: Callable[[], T]) -> T:
    """The process's runner kept on ``state`` (``app.state``) as ``attr``, made on first use."""
    with _runners_lock:
        runner = getattr(state, attr, None)
        if runner is None:
            runner = make()
            setattr(state, attr, runner)
        return cast(T, runner)


__all__ = ["JOB_ID", "STALE_AFTER", "JobNotFound", "JobState", "JobStore", "StoredJob", "runner_for"]
