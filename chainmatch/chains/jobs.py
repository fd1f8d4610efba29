"""Report jobs: long investment-map runs in the background, with progress a client can poll.

State lives in files (``<data dir>/reports/<job id>/status.json`` and ``report.json``, written
atomically), so every worker process on the host answers status and download requests for any job;
the work itself runs on a small thread pool in the process that accepted it. A job whose status has
not moved for :data:`STALE_AFTER` (its process died) reads as failed. Finished jobs are removed after
``ttl``. A job is visible only to the key that started it (and to admin keys).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from chainmatch.chains.render import ReportFormat, filename, render
from chainmatch.chains.schemas import ChainReport, GapListRef, gap_lists_read
from chainmatch.jobstore import JOB_ID, STALE_AFTER, JobNotFound, JobState, JobStore, runner_for

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


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


class ReportJobs(JobStore[JobStatus]):
    model = JobStatus
    kind = "report"
    thread_name_prefix = "report-job"
    logger = logger

    def submit(
        self, work: Callable[[Progress], ChainReport], *, owner_key_id: int, chain_id: str, region: str
    ) -> JobStatus:
        status = self._create(owner_key_id=owner_key_id, chain_id=chain_id, region=region)
        self._pool.submit(self._run, status, work)
        return status

    def _run(self, status: JobStatus, work: Callable[[Progress], ChainReport]) -> None:
        step = self._progress(status)

        def progress(done: int, total: int, label: str) -> None:
            status.label = label
            step(done, total)

        def compute() -> None:
            report = work(progress)
            self._write(self._dir(status.id) / "report.json", report.model_dump_json().encode())
            status.done = status.total
            status.label = "完成 (done)"

        self._execute(status, compute)

    def result(
        self, job_id: str, fmt: ReportFormat, *, key_id: int, admin: bool = False
    ) -> tuple[bytes, str]:
        """The finished report in ``fmt`` (rendered once, then served from the job's folder)."""
        folder = self._done(job_id, key_id=key_id, admin=admin)
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
        folder = self._done(job_id, key_id=key_id, admin=admin)
        return gap_lists_read(ChainReport.model_validate_json((folder / "report.json").read_bytes()))


def jobs_for(state: object, root: Path) -> ReportJobs:
    """The process's job runner kept on ``state`` (e.g. ``app.state``), created on first use."""
    return runner_for(state, "report_jobs", lambda: ReportJobs(root))


__all__ = [
    "JOB_ID",
    "STALE_AFTER",
    "JobNotFound",
    "JobState",
    "JobStatus",
    "JobStatusPublic",
    "ReportJobs",
    "jobs_for",
]
