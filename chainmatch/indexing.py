"""Keeps the search engine in step with the database.

The database is the source of truth; the on-disk index is a cache stamped with the corpus
revision it was built at (``corpus_tag`` in its manifest). Every search first compares that stamp
with the database's revision (one indexed read) and catches up incrementally from the firms
written since — so every worker process serves the current data, a crash between a commit and
an index save loses nothing, and a server sees CLI imports without a restart.

When enough firms have changed since the last full build, a fresh engine (encoder refitted,
lexical statistics recomputed) is built in a background thread from a database snapshot while the
current one keeps serving and catching up; it is swapped in under the write lock and caught up from
the snapshot's revision. Only a change of the product graph rebuilds in the foreground.

The administrators' product aliases (``product_alias``) are kept in step the same way, without any
rebuild: the state row's ``aliases_revision`` is compared on every search, and when it differs from
the one loaded the user aliases are reloaded into the engine (``Recommender.set_user_aliases``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chainmatch import heapfreeze
from chainmatch.corpus_loader import load_changed_firms, load_firm_docs, load_relations
from chainmatch.db import read_state
from chainmatch.rwlock import ReadWriteLock
from chainmatch.settings import Settings
from recommender.engine import EngineConfig, Recommender
from recommender.errors import IndexCorrupt, IndexNotFound

logger = logging.getLogger(__name__)

# Above this share of firms changed since the last full build, rebuild in the background (and
# refit the encoder and lexical statistics); until then firms are added incrementally.
REBUILD_FRACTION = 0.25
# Persisting the index is not needed for correctness — the database is the source of truth and a
# loaded index catches up from its revision — only to keep restarts fast. Writing 100k firms' index
# takes ~11 s, so the service checkpoints after this many changes (or this share of the corpus,
# whichever is more), and at shutdown; the CLI, whose process ends, always saves.
CHECKPOINT_MIN_CHANGES = 1000
CHECKPOINT_FRACTION = 0.10


@dataclass(frozen=True, slots=True)
class CorpusTag:
    instance: str
    revision: int
    relations_revision: int

    def dumps(self) -> str:
        return json.dumps(
            {
                "instance": self.instance,
                "revision": self.revision,
                "relations_revision": self.relations_revision,
            },
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str | None) -> CorpusTag | None:
        try:
            data = json.loads(text or "")
            return cls(str(data["instance"]), int(data["revision"]), int(data["relations_revision"]))
        except (ValueError, KeyError, TypeError):
            return None


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        encoder=settings.encoder,
        query_prompt=settings.query_prompt,
        passage_prompt=settings.passage_prompt,
        ranker_path=settings.ranker_path,
        max_k=settings.max_k,
        min_score=settings.min_match_score,
        alias_dir=settings.alias_dir,
    )


class IndexService:
    """One per process. ``searching()`` yields an engine that is current with the database."""

    def __init__(self, settings: Settings, db: Engine, *, serving: bool = False) -> None:
        """``serving``: a long-running service — it keeps serving while a rebuild runs in the
        background, and its disk copy is a cache (a failed save is logged, not raised). A one-shot
        command (the CLI) rebuilds in the foreground and must save, since its process ends."""
        self.settings = settings
        self.db = db
        self.serving = serving
        self.config = engine_config(settings)
        self._lock = ReadWriteLock()
        self._engine: Recommender | None = None
        self._tag: CorpusTag | None = None
        self._built_firms = 0
        self._changed_since_build = 0
        self._unsaved_changes = 0
        self._background: threading.Thread | None = None
        # refresh_soon(): one catch-up thread at a time; writes while it runs set the flag again,
        # and its next pass applies them all in one upsert.
        self._soon_lock = threading.Lock()
        self._soon_pending = False
        self._soon_thread: threading.Thread | None = None
        # The aliases_revision whose user aliases the engine holds; None: not loaded into it yet
        # (a new engine — loaded, rebuilt or swapped in — starts without them).
        self._aliases_revision: int | None = None
        self.origin = "none"  # how the loaded index came to be: loaded | rebuilt | caught-up

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, *, progress: bool = False) -> None:
        """Load the persisted index when it belongs to this database, else rebuild; then catch up."""
        with self._lock.write():
            with Session(self.db) as session:
                state = read_state(session)
            try:
                engine = Recommender.load(self.settings.index_dir, self.config)
                tag = CorpusTag.loads(engine.manifest.get("corpus_tag"))
            except (IndexNotFound, IndexCorrupt) as exc:
                logger.info("index on disk not usable (%s): rebuilding from the database", exc)
                engine, tag = None, None
            if (
                engine is None
                or tag is None
                or tag.instance != state.instance
                or tag.relations_revision != state.relations_revision
                or tag.revision > state.revision
            ):
                if engine is not None:
                    logger.warning("index on disk does not match the database (%s): rebuilding", tag)
                self._rebuild(progress=progress)
                return
            self._engine, self._tag, self._built_firms = engine, tag, engine.n_firms
            self._aliases_revision = None
            self.origin = "loaded"
            if self._catch_up():
                self._persist()
            self._sync_aliases()
        self._settle()

    def rebuild(self, *, progress: bool = False) -> dict[str, Any]:
        with self._lock.write():
            return self._rebuild(progress=progress)

    def _build_from_database(self, *, progress: bool) -> tuple[Recommender, CorpusTag, int, int]:
        """A fresh engine from a snapshot: (engine, its tag, firms, relations). Needs no lock.

        The state is read first: a firm written meanwhile has a higher revision than the tag, so a
        catch-up from the tag applies it (again, harmlessly, if the snapshot already had it).
        """
        with Session(self.db) as session:
            state = read_state(session)
            firms = load_firm_docs(session)
            relations = load_relations(session)
        engine = Recommender.build(firms, relations, self.config, progress=progress)
        return (
            engine,
            CorpusTag(state.instance, state.revision, state.relations_revision),
            len(firms),
            len(relations),
        )

    def _rebuild(self, *, progress: bool) -> dict[str, Any]:
        started = time.perf_counter()
        engine, tag, n_firms, n_relations = self._build_from_database(progress=progress)
        heapfreeze.release()  # the old engine's cycles are collected at the next settle
        self._engine, self._tag = engine, tag
        self._built_firms, self._changed_since_build = n_firms, 0
        self._aliases_revision = None
        self.origin = "rebuilt"
        self._persist()
        self._sync_aliases()
        self._settle()
        seconds = time.perf_counter() - started
        logger.info("index rebuilt: %d firms, %d relations in %.1fs", n_firms, n_relations, seconds)
        return {"firms": n_firms, "relations": n_relations, "seconds": round(seconds, 2)}

    def _start_background_rebuild(self) -> None:
        """Caller holds the write lock, so only one thread gets here at a time."""
        if self._background is not None and self._background.is_alive():
            return
        self._background = threading.Thread(
            target=self._background_rebuild, name="index-rebuild", daemon=True
        )
        self._background.start()

    def _background_rebuild(self) -> None:
        try:
            started = time.perf_counter()
            engine, tag, n_firms, _ = self._build_from_database(progress=False)
            with self._lock.write():
                current = self._tag
                if current is None or (current.instance, current.relations_revision) != (
                    tag.instance,
                    tag.relations_revision,
                ):
                    return  # the graph changed meanwhile and a foreground rebuild replaced the engine
                heapfreeze.release()
                self._engine, self._tag = engine, tag
                self._built_firms, self._changed_since_build = n_firms, 0
                self._aliases_revision = None
                self._unsaved_changes = max(self._unsaved_changes, n_firms)  # next checkpoint saves it
                self._catch_up()
                self._sync_aliases()
                self.origin = "rebuilt"
            self._settle()
            logger.info(
                "index rebuilt in the background: %d firms in %.1fs", n_firms, time.perf_counter() - started
            )
        except Exception:  # the current engine keeps serving; the next threshold crossing retries
            logger.exception("background index rebuild failed")

    def _settle(self) -> None:
        """A serving process keeps its loaded engine out of the collector's full passes."""
        if self.serving and self._engine is not None:
            heapfreeze.settle(self._engine.n_firms)

    def _save(self) -> None:
        assert self._engine is not None and self._tag is not None
        self._engine.manifest["corpus_tag"] = self._tag.dumps()
        self._engine.save(self.settings.index_dir)
        self._unsaved_changes = 0

    def _persist(self) -> None:
        """Save; in the service the disk copy is only a cache of the engine in memory, so a
        failure is logged and retried at the next checkpoint, not raised into a request."""
        try:
            self._save()
        except OSError:
            if not self.serving:
                raise
            logger.exception("could not write the index to %s; serving from memory", self.settings.index_dir)

    def _is_current(self) -> bool:
        if self._engine is None or self._tag is None:
            return False
        with Session(self.db) as session:
            state = read_state(session)
        return (state.instance, state.revision, state.relations_revision, state.aliases_revision) == (
            self._tag.instance,
            self._tag.revision,
            self._tag.relations_revision,
            self._aliases_revision,
        )

    def _sync_aliases(self) -> bool:
        """Load the database's user aliases into the engine when they changed since the last
        load (or the engine is new); True when it did. Caller holds the write lock. The revision
        is read first: an alias written meanwhile raises it again, and the next search reloads."""
        if self._engine is None:
            return False
        from chainmatch.aliases import load_user_aliases

        with Session(self.db) as session:
            revision = read_state(session).aliases_revision
            if revision == self._aliases_revision:
                return False
            aliases = load_user_aliases(session)
        self._engine.set_user_aliases(aliases)
        self._aliases_revision = revision
        logger.info("user product aliases loaded: %d (revision %d)", len(aliases), revision)
        return True

    def _catch_up(self) -> bool:
        """Apply what the database has beyond the loaded index; True when that was incremental
        (a full rebuild saves itself). Caller holds the write lock."""
        assert self._engine is not None and self._tag is not None
        with Session(self.db) as session:
            state = read_state(session)
            if (
                state.instance != self._tag.instance
                or state.relations_revision != self._tag.relations_revision
            ):
                self._rebuild(progress=False)
                return False
            if state.revision == self._tag.revision:
                return False
            upserts, deleted = load_changed_firms(session, self._tag.revision)
        self._changed_since_build += len(upserts) + len(deleted)
        self._unsaved_changes += len(upserts) + len(deleted)
        if self._changed_since_build > max(50, REBUILD_FRACTION * max(self._built_firms, 1)):
            if not self.serving:
                self._rebuild(progress=False)
                return False
            self._start_background_rebuild()
        if deleted:
            self._engine.remove_firms(deleted)
        if upserts:
            self._engine.upsert_firms(upserts)
        self._tag = CorpusTag(state.instance, state.revision, state.relations_revision)
        self.origin = "caught-up"
        logger.info(
            "index caught up to revision %d: %d upserted, %d removed",
            state.revision,
            len(upserts),
            len(deleted),
        )
        return True

    def refresh(self, *, checkpoint: bool = False) -> None:
        """Bring the index up to date now (after a write in this process); with ``checkpoint``,
        also persist it when enough has changed since the last save."""
        if self._is_current():
            return
        with self._lock.write():
            if self._engine is None:
                self._rebuild(progress=False)
            elif self._catch_up() and checkpoint and self._checkpoint_due():
                self._persist()
                # Each settle also froze what other threads held then; cycles among those that
                # died since are collected once a checkpoint (every ~10% of the corpus).
                heapfreeze.release()
            self._sync_aliases()
        self._settle()

    def refresh_soon(self) -> None:
        """Catch up (with checkpoint) in a background thread, for a writer that need not wait:
        searches still see every committed write, since ``searching()`` catches up first (and
        waits for a catch-up in progress). Bulk writes arriving meanwhile are coalesced into the
        thread's next pass, and the engine work overlaps the next request's validation and write."""
        with self._soon_lock:
            self._soon_pending = True
            if self._soon_thread is not None:
                return
            self._soon_thread = threading.Thread(
                target=self._refresh_pending, name="index-catch-up", daemon=True
            )
            self._soon_thread.start()

    def _refresh_pending(self) -> None:
        while True:
            with self._soon_lock:
                if not self._soon_pending:
                    self._soon_thread = None
                    return
                self._soon_pending = False
            try:
                self.refresh(checkpoint=True)
            except Exception:  # the next search catches up (and raises) in its own request
                logger.exception("background index catch-up failed")

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for a catch-up started by :meth:`refresh_soon` (tests, shutdown)."""
        thread = self._soon_thread
        if thread is not None:
            thread.join(timeout)

    def _checkpoint_due(self) -> bool:
        n_firms = self._engine.n_firms if self._engine is not None else 0
        return self._unsaved_changes >= max(CHECKPOINT_MIN_CHANGES, CHECKPOINT_FRACTION * n_firms)

    def flush(self) -> None:
        """Persist changes not saved yet (at shutdown, and by one-shot commands)."""
        self.wait_idle()
        with self._lock.write():
            if self._engine is not None and self._unsaved_changes:
                self._persist()

    @contextmanager
    def searching(self) -> Iterator[Recommender]:
        """An engine current with the database, held against concurrent updates while in use."""
        self.refresh()
        with self._lock.read():
            if self._engine is None:
                raise IndexNotFound("索引尚未建立 (the index has not been built)")
            yield self._engine

    def status(self) -> dict[str, Any]:
        with Session(self.db) as session:
            state = read_state(session)
        tag = self._tag
        return {
            "loaded": self._engine is not None,
            "origin": self.origin,
            "firms_indexed": self._engine.n_firms if self._engine else 0,
            "index_revision": tag.revision if tag else None,
            "db_revision": state.revision,
            "in_step": bool(
                tag
                and tag.revision == state.revision
                and tag.relations_revision == state.relations_revision
                and tag.instance == state.instance
            ),
        }
