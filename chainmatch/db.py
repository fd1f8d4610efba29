"""Database engine and sessions: SQLite (WAL, in the data dir) by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, create_engine, select

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from chainmatch.settings import Settings
from models.state import CorpusState

logger = logging.getLogger(__name__)

_WRITE_OPTION = "chainmatch_write"


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000},
        )
        busy_ms = settings.sqlite_busy_timeout_ms

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside one writer; busy_timeout makes writers queue instead of
            # failing with "database is locked"; foreign keys are off by default in SQLite.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock at BEGIN (see ``writer``), so two writers queue on
            # busy_timeout instead of deadlocking while upgrading read locks; readers stay deferred
            # and never block anyone under WAL.
            immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        # pysqlite's own transaction handling must be off for the explicit BEGIN above.
        @event.listens_for(engine, "connect", insert=True)
        def _sqlite_autocommit_off(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def init_db(engine: Engine) -> None:
    """Create missing tables and the corpus-state row."""
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        if session.get(CorpusState, 1) is None:
            session.add(CorpusState(id=1))
            session.commit()


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions start as writers (SQLite: BEGIN IMMEDIATE)."""
    return engine.execution_options(**{_WRITE_OPTION: True})


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    with Session(writer(engine) if write else engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def bump_revision(session: Session, *, relations: bool = False) -> int:
    """Advance the corpus revision inside the caller's transaction and return the new value.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite), so concurrent writers
    get distinct, increasing revisions in commit order.
    """
    values: dict[str, Any] = {"revision": CorpusState.revision + 1}
    if relations:
        values["relations_revision"] = CorpusState.relations_revision + 1
    session.exec(update(CorpusState).where(col(CorpusState.id) == 1).values(**values))
    state = session.exec(select(CorpusState).where(CorpusState.id == 1)).one()
    session.refresh(state)
    return state.revision


def read_state(session: Session) -> CorpusState:
    state = session.exec(select(CorpusState).where(CorpusState.id == 1)).one()
    session.refresh(state)
    return state
