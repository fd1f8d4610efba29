"""Who is calling a service, and with what: the caller context every service function takes first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chainmatch.audit import record_list_reads, record_reads
from chainmatch.chains.schemas import GapListRef
from chainmatch.db import session_scope
from chainmatch.errors import Forbidden
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal
from chainmatch.settings import Settings
from models.apikey import Role

OPERATOR_KEY_ID = 0  # the CLI acts as the platform operator, not as an API key


@dataclass(frozen=True, slots=True)
class Caller:
    """The principal, the database (services open their own sessions and transactions on it), the
    index service and the settings; ``route`` ("GET /v1/…") is written on the audit rows.

    ``audited``: whether reads are recorded. The CLI's operator context is not (its reads were
    never audited: it is the platform operator on the host, not a caller over the network).
    """

    principal: Principal
    db: Engine
    index: IndexService
    settings: Settings
    route: str | None = None
    audited: bool = True

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def is_admin(self) -> bool:
        return self.principal.role is Role.ADMIN

    def require(self, *roles: Role) -> None:
        """403 unless the caller has one of ``roles`` (the API checks the same before a route)."""
        if self.principal.role not in roles:
            names = "、".join(sorted(r.value for r in roles))
            raise Forbidden(f"该操作仅限 {names} 角色 (this action needs role: {names})")

    def record(self, action: str, object_type: str, *object_ids: str) -> None:
        """Audit a read of ``object_ids``, one row each, in a short write transaction of its own."""
        if self.audited:
            record_reads(self.db, self.principal, action, object_type, object_ids, route=self.route)

    def record_lists(self, action: str, lists: Iterable[GapListRef]) -> None:
        """Audit one row per gap list whose items the answer carries, with the version it drew on."""
        if self.audited:
            record_list_reads(self.db, self.principal, action, lists, route=self.route)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read session (on SQLite it never takes the write lock); nothing is committed."""
        with Session(self.db) as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        with session_scope(self.db) as session:
            yield session


def operator_caller(settings: Settings, db: Engine, index: IndexService | None = None) -> Caller:
    """The CLI's caller: admin scope over every region, reads not audited. ``index``: an unstarted
    one is made when the command needs none (starting it is the command's choice)."""
    return Caller(
        principal=Principal(OPERATOR_KEY_ID, Role.ADMIN),
        db=db,
        index=index if index is not None else IndexService(settings, db),
        settings=settings,
        audited=False,
    )
