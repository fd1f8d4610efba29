"""Audit rows are written by the services: :mod:`chainmatch.audit` holds the functions (moved
there from here, below the API); the names stay importable from here for the API's own callers."""

from __future__ import annotations

from chainmatch.audit import ROUTE_LENGTH, ReadAudit, audit, record_list_reads, record_reads, route_of

__all__ = ["ROUTE_LENGTH", "ReadAudit", "audit", "record_list_reads", "record_reads", "route_of"]
