"""Database engine and sessions: SQLite (WAL, in the data dir) by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, create_engine, select

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from chainmatch.settings import Settings
from models.state import CorpusState

logger = logging.getLogger(__name__)

_WRITE_OPTION = "chainmatch_write"
_HOLDS_WRITE_LOCK = "chainmatch_holds_write_lock"


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

        # Writers of this process queue on a lock of their own before BEGIN IMMEDIATE: SQLite's
        # busy handler polls with sleeps of up to 100 ms, which under a burst of short writes
        # (audited reads) turns into long tails; a lock hands over at once. Other processes still
        # meet at busy_timeout.
        write_lock = threading.Lock()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock at BEGIN (see ``writer``), so two writers queue instead
            # of deadlocking while upgrading read locks; readers stay deferred and never block
            # anyone under WAL.
            if not conn.get_execution_options().get(_WRITE_OPTION, False):
                conn.exec_driver_sql("BEGIN")
                return
            if not write_lock.acquire(timeout=busy_ms / 1000):
                raise TimeoutError("数据库写入繁忙 (database busy: no write slot in time)")
            conn.info[_HOLDS_WRITE_LOCK] = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn)
                raise

        def _release(conn: Any) -> None:
            if conn.info.pop(_HOLDS_WRITE_LOCK, False):
                write_lock.release()

        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)

        # pysqlite's own transaction handling must be off for the explicit BEGIN above.
        @event.listens_for(engine, "connect", insert=True)
        def _sqlite_autocommit_off(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """One migrator at a time, when several workers start together."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(72817)")
            conn.commit()
            try:
                yield conn
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(72817)")
                conn.commit()
        return
    database = engine.url.database
    lock_path = Path(f"{database}.migrate.lock") if database and database != ":memory:" else None
    with contextlib.ExitStack() as stack:
        if lock_path is not None:
            handle = stack.enter_context(open(lock_path, "a+b"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield stack.enter_context(engine.connect())


@contextmanager
def _alembic_quiet() -> Iterator[None]:
    """Alembic announces routine steps at INFO ("Context impl SQLiteImpl.", "Will assume
    non-transactional DDL.", each upgrade step), which every CLI command would print before its
    output. They are held back to warnings while migrating, unless the entry point chose a level for
    Alembic's logger itself or logs at DEBUG. Only a level is set here: handlers are configured by the
    entry points alone (``chainmatch.logconfig``)."""
    log = logging.getLogger("alembic.runtime.migration")
    if log.level != logging.NOTSET or log.isEnabledFor(logging.DEBUG):
        yield
        return
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(logging.NOTSET)


def _schema_revision(conn: Connection) -> str | None:
    revision = MigrationContext.configure(conn).get_current_revision()
    conn.rollback()  # end the read's transaction: the upgrade begins its own
    return revision


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (an empty database included)."""
    with _migration_lock(engine) as conn, _alembic_quiet():
        before = _schema_revision(conn)
        command.upgrade(alembic_config(conn), revision)
        conn.commit()
        after = _schema_revision(conn)
    if before is None and after is not None:
        logger.debug("schema created at revision %s", after)
    elif before != after:
        logger.info("schema migrated: revision %s -> %s", before, after)


def init_db(engine: Engine) -> None:
    """Migrate the schema to head and create the corpus-state row."""
    migrate(engine)
    with Session(writer(engine)) as session:
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
