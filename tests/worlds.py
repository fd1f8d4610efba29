"""Test data: settings over a fresh database, the sample cluster, keys for every role, and ``World``
(a running app over the sample with those keys).

Loading the sample and fitting its index cost seconds each and are the same every time, so on
SQLite they are done once per test session into a template directory; each world or
``load_sample`` call then copies the template (database file, and for worlds the fitted index,
which the server loads instead of rebuilding). On PostgreSQL every database is built from scratch
as before. A copy is a fresh, private database: tests that write stay independent.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

import httpx
import pytest

from chainmatch.db import init_db, make_engine, session_scope
from chainmatch.gapfile import import_gap_lists
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import parse_records
from chainmatch.ingest.relations import ingest_relations
from chainmatch.keys import create_key
from chainmatch.settings import Settings
from models.apikey import Role
from tests.servers import InProcessServer, LiveServer, Server

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "sample"

# With this set (CI does), every test database is a fresh PostgreSQL database on that server
# instead of a SQLite file: the whole suite runs against both.
POSTGRES_URL = os.environ.get("CHAINMATCH_TEST_POSTGRES_URL")

# Settings the fitted index depends on: a world overriding one of them fits its own index.
_ENGINE_FIELDS = frozenset({"encoder", "query_prompt", "passage_prompt", "ranker_path", "alias_dir"})


# Who may read a gap list of leader_a's in 广东省 (HTTP status by role; "none" = no key): the
# platform, the list's province's bureau and its own leader; to anyone else it does not exist.
LIST_READ_STATUS = {
    "none": 401,
    "admin": 200,
    "bureau_gd": 200,
    "bureau_js": 404,
    "leader_a": 200,
    "leader_b": 404,
}


def fresh_database_url() -> str | None:
    if not POSTGRES_URL:
        return None
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"cm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, **overrides}
    if "database_url" not in values:
        values["database_url"] = fresh_database_url()
    return Settings(**values)


def sample_leaders() -> tuple[str, str]:
    """Two leaders of the sample cluster that both have gap lists."""
    lists = json.loads((SAMPLE_DIR / "gap_lists.json").read_text(encoding="utf-8"))
    leaders = sorted({gl["leader_firm_id"] for gl in lists})
    return leaders[0], leaders[1]


@dataclass(frozen=True)
class Keys:
    admin: str
    bureau_gd: str  # 广东省 bureau: the sample cluster's region
    bureau_js: str  # 江苏省 bureau: another region
    leader_a: str
    leader_b: str
    leader_a_firm: str
    leader_b_firm: str

    def of(self, role: str | None) -> str | None:
        """The key of ``role`` (a field name above); None or "none" for no key."""
        return None if role in (None, "none") else str(getattr(self, str(role)))


def make_keys(settings: Settings, leader_a: str, leader_b: str) -> Keys:
    db = make_engine(settings)
    init_db(db)
    with session_scope(db) as session:
        out = Keys(
            admin=create_key(session, Role.ADMIN)[1],
            bureau_gd=create_key(session, Role.BUREAU, province="广东")[1],
            bureau_js=create_key(session, Role.BUREAU, province="江苏省")[1],
            leader_a=create_key(session, Role.LEADER, firm_id=leader_a)[1],
            leader_b=create_key(session, Role.LEADER, firm_id=leader_b)[1],
            leader_a_firm=leader_a,
            leader_b_firm=leader_b,
        )
    db.dispose()
    return out


def _ingest_sample(settings: Settings) -> None:
    db = make_engine(settings)
    init_db(db)
    for name, ingest in (("firms.jsonl", ingest_firms), ("relations.jsonl", ingest_relations)):
        records, _ = parse_records((SAMPLE_DIR / name).read_bytes(), name=name)
        assert ingest(db, records).written
    assert import_gap_lists(db, SAMPLE_DIR / "gap_lists.json").written
    db.dispose()


def _import_sample_chain(settings: Settings) -> None:
    from chainmatch.chains.store import import_chain, read_definition_file

    db = make_engine(settings)
    init_db(db)
    with session_scope(db) as session:
        assert import_chain(session, read_definition_file(SAMPLE_DIR / "chain.json")) == "created"
    db.dispose()


def _fit_index(settings: Settings) -> None:
    from chainmatch.indexing import IndexService

    db = make_engine(settings)
    IndexService(settings, db).start()  # a one-shot service: rebuilds and saves
    db.dispose()


@dataclass(frozen=True)
class _Template:
    data_dir: Path
    keys: Keys | None


class _Templates:
    """Session-wide SQLite templates, built on first use: "db" (the sample's rows only, what
    ``load_sample`` writes), "indexed" (and its fitted index), "sample" (rows, keys for every role
    and the index) and "chain" (the same with the sample chain imported)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._root: Path | None = None
        self._built: dict[str, _Template] = {}

    def get(self, kind: str) -> _Template:
        with self._lock:
            return self._get(kind)

    def _get(self, kind: str) -> _Template:
        if kind not in self._built:
            self._built[kind] = self._build(kind)
        return self._built[kind]

    def _build(self, kind: str) -> _Template:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="chainmatch-templates-"))
            atexit.register(shutil.rmtree, self._root, ignore_errors=True)
        settings = Settings(data_dir=self._root / kind / "var", database_url=None)
        if kind == "db":
            _ingest_sample(settings)
            return _Template(settings.data_dir, None)
        shutil.copytree(self._get("db").data_dir, settings.data_dir)
        if kind == "chain":
            _import_sample_chain(settings)
        keys = make_keys(settings, *sample_leaders()) if kind != "indexed" else None
        _fit_index(settings)
        return _Template(settings.data_dir, keys)

    def copy(self, kind: str, settings: Settings, *, index: bool) -> Keys | None:
        template = self.get(kind)
        ignore = None if index else shutil.ignore_patterns("index", ".index*")
        shutil.copytree(template.data_dir, settings.data_dir, ignore=ignore, dirs_exist_ok=True)
        return template.keys


TEMPLATES = _Templates()


def _fresh_sqlite_dir(settings: Settings) -> bool:
    """True when ``settings`` is a SQLite database not created yet (a template may be copied in)."""
    return settings.is_sqlite and not (settings.data_dir / "chainmatch.db").exists()


def load_sample(settings: Settings, *, index: bool = False) -> None:
    """The sample cluster's firms, relations and gap lists, written into a new database; with
    ``index``, on SQLite, also its fitted index (which a server or the CLI then loads)."""
    if _fresh_sqlite_dir(settings):
        TEMPLATES.copy("indexed" if index and _default_engine(settings) else "db", settings, index=index)
    else:
        _ingest_sample(settings)


def _default_engine(settings: Settings) -> bool:
    return not (_ENGINE_FIELDS & settings.model_fields_set)


def sample_data(settings: Settings, *, chain: bool = False) -> Keys:
    """A new database holding the sample cluster (and its chain), with keys for every role; on
    SQLite also the fitted index, unless ``settings`` differ from the defaults in what it needs."""
    if _fresh_sqlite_dir(settings):
        keys = TEMPLATES.copy("chain" if chain else "sample", settings, index=_default_engine(settings))
        assert keys is not None
        return keys
    _ingest_sample(settings)
    if chain:
        _import_sample_chain(settings)
    return make_keys(settings, *sample_leaders())


S = TypeVar("S", bound=Server, covariant=True)


class AppWorld(NamedTuple, Generic[S]):
    """A running app over the sample cluster and keys for every role (unpacks as server, keys)."""

    server: S
    keys: Keys

    def client(self, role: str | None = None, **options: object) -> httpx.Client:
        """A client with the key of ``role`` (a ``Keys`` field; None or "none": no key)."""
        return self.server.client(self.keys.of(role), **options)


World = AppWorld[Server]  # served in process or under uvicorn
LiveWorld = AppWorld[LiveServer]  # under uvicorn: has a URL for browsers and other processes


@contextmanager
def serve_sample(data_dir: Path, *, chain: bool = False, **overrides: object) -> Iterator[World]:
    """The sample cluster (with the sample chain when ``chain``) served in process through
    ``httpx.ASGITransport``; ``overrides`` are settings."""
    settings = make_settings(data_dir, **overrides)
    keys = sample_data(settings, chain=chain)
    with InProcessServer(settings) as server:
        yield World(server, keys)


@contextmanager
def serve_live_sample(data_dir: Path, *, chain: bool = False, **overrides: object) -> Iterator[LiveWorld]:
    """The same under uvicorn, over real HTTP."""
    settings = make_settings(data_dir, **overrides)
    keys = sample_data(settings, chain=chain)
    with LiveServer(settings) as server:
        yield LiveWorld(server, keys)


def module_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The ``world`` fixture's body: options from the module's ``pytest.mark.world(...)``
    (``live=True``: under uvicorn; the rest as ``serve_sample``)."""
    marker = request.node.get_closest_marker("world")
    options = dict(marker.kwargs) if marker else {}
    serve = serve_live_sample if options.pop("live", False) else serve_sample
    data_dir = tmp_path_factory.mktemp(request.node.name.removesuffix(".py")) / "var"
    with serve(data_dir, **options) as world:
        yield world
