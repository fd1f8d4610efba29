"""Report jobs: long investment-map runs in the background, with progress a client can poll.

State lives in files (``<data dir>/reports/<job id>/status.json`` and ``report.json``, written
atomically), so every worker process on the host answers status and download requests for any job;
the work itself runs on a small thread pool in the process that accepted it. A job whose status has
not moved for :data:`STALE_AFTER` (its process died) reads as failed. Finished jobs are removed after
``ttl``. A job is visible only to the key that started it (and to admin keys).
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
from typing import Literal

from pydantic import BaseModel

from chainmatch.chains.render import ReportFormat, filename, render
from chainmatch.chains.schemas import ChainReport, GapListRef, gap_lists_read
from models.common import utcnow

logger = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
STALE_AFTER = timedelta(minutes=10)

Progress = Callable[[int, int, str], None]
JobState = Literal["queued", "running", "done", "failed"]


class JobStatusPublic(BaseModel):
    """What a client sees of a job: never whose key started it."""

    id: str
    chain_id: str
    region: str
    state: JobState
    done: int = 0
    total: int = 0
    label: str = ""
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class JobStatus(JobStatusPublic):
    """The stored status (``status.json``): the public part and the owner's key id."""

    owner_key_id: int

    def public(self) -> JobStatusPublic:
        return JobStatusPublic.model_validate(self.model_dump(exclude={"owner_key_id"}))


class JobNotFound(LookupError):
    """No such job of the caller's, or (for results) not finished yet (404 at the API)."""

    def __init__(self, job_id: str) -> None:
        super().__init__("任务不存在或尚未完成 (job not found or not done)")
        self.job_id = job_id


class ReportJobs:
    def __init__(self, root: Path, *, workers: int = 1, ttl: timedelta = timedelta(hours=24)) -> None:
        self.root = root
        self.ttl = ttl
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report-job")
        self._lock = threading.Lock()

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

    def _save(self, status: JobStatus) -> None:
        status.updated_at = utcnow()
        self._write(self._dir(status.id) / "status.json", status.model_dump_json().encode())

    def _load(self, job_id: str) -> JobStatus:
        path = self._dir(job_id) / "status.json"
        try:
            return JobStatus.model_validate_json(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise JobNotFound(job_id) from exc

    # -- API ---------------------------------------------------------------------------------
    def submit(
        self, work: Callable[[Progress], ChainReport], *, owner_key_id: int, chain_id: str, region: str
    ) -> JobStatus:
        self.cleanup()
        job_id = secrets.token_urlsafe(12)
        self._dir(job_id).mkdir(parents=True, exist_ok=False)
        now = utcnow()
        status = JobStatus(
            id=job_id,
            chain_id=chain_id,
            region=region,
            owner_key_id=owner_key_id,
            state="queued",
            created_at=now,
            updated_at=now,
        )
        self._save(status)
        self._pool.submit(self._run, status, work)
        return status

    def _run(self, status: JobStatus, work: Callable[[Progress], ChainReport]) -> None:
        last = 0.0

        def progress(done: int, total: int, label: str) -> None:
            nonlocal last
            status.state, status.done, status.total, status.label = "running", done, total, label
            now = time.monotonic()
            if now - last > 0.2 or done == total:
                last = now
                self._save(status)

        try:
            status.state = "running"
            self._save(status)
            report = work(progress)
            self._write(self._dir(status.id) / "report.json", report.model_dump_json().encode())
            status.state, status.finished_at = "done", utcnow()
            status.done = status.total
            status.label = "完成 (done)"
        except Exception as exc:  # reported to the client, logged with its traceback here
            logger.exception("report job %s failed", status.id)
            status.state, status.finished_at = "failed", utcnow()
            status.error = str(exc) or type(exc).__name__
        self._save(status)

    def status(self, job_id: str, *, key_id: int, admin: bool = False) -> JobStatus:
        status = self._load(job_id)
        if status.owner_key_id != key_id and not admin:
            raise JobNotFound(job_id)
        if status.state in ("queued", "running") and utcnow() - status.updated_at > STALE_AFTER:
            status.state, status.error = "failed", "任务中断 (the job was interrupted)"
        return status

    def result(
        self, job_id: str, fmt: ReportFormat, *, key_id: int, admin: bool = False
    ) -> tuple[bytes, str]:
        """The finished report in ``fmt`` (rendered once, then served from the job's folder)."""
        status = self.status(job_id, key_id=key_id, admin=admin)
        if status.state != "done":
            raise JobNotFound(job_id)
        folder = self._dir(job_id)
        report = ChainReport.model_validate_json((folder / "report.json").read_bytes())
        name = filename(report, fmt)
        cached = folder / f"report.{fmt.value}"
        if fmt is not ReportFormat.JSON and cached.exists():
            return cached.read_bytes(), name
        data = (folder / "report.json").read_bytes() if fmt is ReportFormat.JSON else render(report, fmt)
        if fmt is not ReportFormat.JSON:
            self._write(cached, data)
        return data, name

    def gap_lists(self, job_id: str, *, key_id: int, admin: bool = False) -> list[GapListRef]:
        """The leaders' gap lists (id, version) whose items the finished report carries."""
        status = self.status(job_id, key_id=key_id, admin=admin)
        if status.state != "done":
            raise JobNotFound(job_id)
        report = ChainReport.model_validate_json((self._dir(job_id) / "report.json").read_bytes())
        return gap_lists_read(report)

    def cleanup(self) -> None:
        if not self.root.exists():
            return
        cutoff = utcnow() - self.ttl
        for folder in self.root.iterdir():
            if not folder.is_dir() or not JOB_ID.match(folder.name):
                continue
            try:
                status = self._load(folder.name)
            except JobNotFound:
                if time.time() - folder.stat().st_mtime > self.ttl.total_seconds():
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            if status.updated_at < cutoff:
                shutil.rmtree(folder, ignore_errors=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


_jobs_lock = threading.Lock()


def jobs_for(state: object, root: Path) -> ReportJobs:
    """The process's job runner kept on ``state`` (e.g. ``app.state``), created on first use."""
    with _jobs_lock:
        jobs = getattr(state, "report_jobs", None)
        if jobs is None:
            jobs = ReportJobs(root)
            setattr(state, "report_jobs", jobs)  # noqa: B010
        return jobs


__all__ = ["JobNotFound", "JobStatus", "JobStatusPublic", "ReportJobs", "jobs_for"]
