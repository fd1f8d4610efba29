"""The chain investment map (招商图谱) as a file: at once, or as a background job with progress.

The read of the chain is audited when the report is asked for; the leaders' gap lists it carries
when it is handed out (at once, or on each download of a job's result).
"""

from __future__ import annotations

from dataclasses import dataclass

from chainmatch.chains.jobs import JobStatusPublic, Progress, ReportJobs
from chainmatch.chains.render import MEDIA_TYPES, ReportFormat, filename, render
from chainmatch.chains.report import build_report
from chainmatch.chains.schemas import ChainReport, ReportRequest, gap_lists_read
from chainmatch.services.chains import CHAIN_ROLES, chain_in_region
from chainmatch.services.context import Caller
from models.gap import RegionIn


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A rendered report: its bytes, its file name and media type."""

    data: bytes
    filename: str
    media_type: str


def requested_region(request: ReportRequest) -> tuple[str | None, str | None]:
    """(province, city) a report request names: a string is a province, an object may add a city."""
    if isinstance(request.region, RegionIn):
        return request.region.province, request.region.city
    return request.region, None


def chain_report(
    caller: Caller,
    chain_id: str,
    province: str | None,
    city: str | None,
    request: ReportRequest,
    *,
    progress: Progress | None = None,
) -> ChainReport:
    """The whole investment map of the chain in the region (``progress(done, total, label)`` as
    links complete); the leaders' lists it carries are audited."""
    located = chain_in_region(caller, chain_id, province, city, action="report")
    result = build_report(
        caller.db, caller.index, chain_id, located.region, caller.principal, request, progress=progress
    )
    caller.record_lists("report", gap_lists_read(result))
    return result


def report_file(
    caller: Caller,
    chain_id: str,
    province: str | None,
    city: str | None,
    request: ReportRequest,
    fmt: ReportFormat,
) -> ReportFile:
    """:func:`chain_report` rendered as JSON, CSV, XLSX or HTML (the lists audited once rendered)."""
    located = chain_in_region(caller, chain_id, province, city, action="report")
    result = build_report(caller.db, caller.index, chain_id, located.region, caller.principal, request)
    data = render(result, fmt)
    caller.record_lists("report", gap_lists_read(result))
    return ReportFile(data, filename(result, fmt), MEDIA_TYPES[fmt])


def start_report_job(
    caller: Caller,
    jobs: ReportJobs,
    chain_id: str,
    province: str | None,
    city: str | None,
    request: ReportRequest,
) -> JobStatusPublic:
    """Start the investment map in the background; the caller polls :func:`report_job_status`.
    The leaders' lists it reads are audited when its result is downloaded."""
    located = chain_in_region(caller, chain_id, province, city, action="report")
    db, index, principal, where = caller.db, caller.index, caller.principal, located.region
    job = jobs.submit(
        lambda progress: build_report(db, index, chain_id, where, principal, request, progress=progress),
        owner_key_id=principal.key_id,
        chain_id=chain_id,
        region=located.label,
    )
    return job.public()


def report_job_status(caller: Caller, jobs: ReportJobs, job_id: str) -> JobStatusPublic:
    """queued | running | done | failed, with ``done`` of ``total`` weak links; 404 for a job
    another key started (admin sees every job)."""
    caller.require(*CHAIN_ROLES)
    return jobs.status(job_id, key_id=caller.principal.key_id, admin=caller.is_admin).public()


def report_job_file(caller: Caller, jobs: ReportJobs, job_id: str, fmt: ReportFormat) -> ReportFile:
    """The finished report in ``fmt``; 404 until the job is done. Each download is audited per gap list."""
    caller.require(*CHAIN_ROLES)
    key_id, admin = caller.principal.key_id, caller.is_admin
    data, name = jobs.result(job_id, fmt, key_id=key_id, admin=admin)
    caller.record_lists("report", jobs.gap_lists(job_id, key_id=key_id, admin=admin))
    return ReportFile(data, name, MEDIA_TYPES[fmt])
