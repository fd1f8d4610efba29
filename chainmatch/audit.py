"""Append audit events for reads and writes of confidential data (no personal data in the log).

Below the API, so that the services (``chainmatch.services``) write the rows; ``api.audit``
re-exports it for the routes not yet moved onto a service.

Every response that carries items of a leader's gap list writes one row per list read — route,
caller (key id and role), list id and version — whether the items come from the list's own routes
or through a chain (weak links, gap candidates, reports, report-job results, dashboard pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chainmatch.chains.schemas import GapListRef
from chainmatch.db import session_scope
from chainmatch.keys import Principal
from models.audit import AuditEvent
from models.gap import GapList

ROUTE_LENGTH = 200


def route_of(method: str, path: str) -> str:
    return f"{method} {path}"[:ROUTE_LENGTH]


def audit(
    session: Session,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str | None,
    *,
    version: int | None = None,
    route: str | None = None,
) -> None:
    """Stage an event in the caller's transaction: it commits together with what it records."""
    session.add(
        AuditEvent(
            key_id=principal.key_id,
            role=principal.role.value,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_version=version,
            route=route[:ROUTE_LENGTH] if route else None,
        )
    )


def _list_versions(session: Session, ids: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = session.exec(select(GapList.id, GapList.version).where(col(GapList.id).in_(wanted)))
    return dict(rows.all())


def record_reads(
    db: Engine,
    principal: Principal,
    action: str,
    object_type: str,
    object_ids: Iterable[str],
    *,
    route: str | None = None,
    versions: Mapping[str, int] | None = None,
) -> None:
    """One row per object read, in a short write transaction of its own. Gap lists are recorded
    with their version: the one the response drew on when given, else the stored one."""
    ids = list(object_ids)
    with session_scope(db) as session:
        if object_type == "gap_list" and versions is None:
            versions = _list_versions(session, ids)
        for object_id in ids:
            version = versions.get(object_id) if versions is not None else None
            audit(session, principal, action, object_type, object_id, version=version, route=route)


def record_list_reads(
    db: Engine, principal: Principal, action: str, lists: Iterable[GapListRef], *, route: str | None
) -> None:
    """One ``gap_list`` row per list whose items a response carries (``lists``: id and version)."""
    refs = {ref.id: ref.version for ref in lists}
    if refs:
        record_reads(db, principal, action, "gap_list", refs, route=route, versions=refs)


class ReadAudit:
    """Records reads in a short write transaction of their own.

    Read handlers run on read sessions, so on SQLite they never hold the write lock while they
    compute (a recommendation, a weak-link assessment); only this INSERT takes it, just before the
    data leaves. If the event cannot be written the handler fails and nothing is returned.
    """

    def __init__(self, db: Engine, principal: Principal, route: str | None = None) -> None:
        self.db = db
        self.principal = principal
        self.route = route

    def record(self, action: str, object_type: str, *object_ids: str) -> None:
        record_reads(self.db, self.principal, action, object_type, object_ids, route=self.route)

    def record_lists(self, action: str, lists: Iterable[GapListRef]) -> None:
        """One row per gap list whose items the response carries, with the version it drew on."""
        record_list_reads(self.db, self.principal, action, lists, route=self.route)
