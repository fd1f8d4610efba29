"""The sharded index service: :class:`~chainmatch.indexing.IndexService`'s contract (start,
searching, refresh, rebuild, flush, status) over N shard actors on Ray.

This process (the API's) is the coordinator: it holds no firm, only the target
:class:`ShardState` every shard must be in — the build (and its corpus statistics), the database
instance, relations, corpus and aliases revisions. On every search it compares the database's
revision with the target, as the single index does, and pushes the firms written since to the
shards that own them. A shard that missed that (it was down, or restarted from an older save) is
caught up when a query finds it in another state; one that cannot answer makes the query a 503.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chainmatch.aliases import load_user_aliases
from chainmatch.corpus_loader import load_changed_firms
from chainmatch.db import read_state
from chainmatch.errors import ShardUnavailable
from chainmatch.indexing import REBUILD_FRACTION, IndexService
from chainmatch.settings import Settings
from chainmatch.sharding import cluster
from chainmatch.sharding.engine import ShardedEngine
from chainmatch.sharding.placement import partition, shard_of
from chainmatch.sharding.shard import statistics_supported
from chainmatch.sharding.state import ShardState
from recommender import engine as engine_module
from recommender.corpus import FirmDoc
from recommender.engine import Recommender

logger = logging.getLogger(__name__)


class ShardedIndexService(IndexService):
    def __init__(self, settings: Settings, db: Engine, *, serving: bool = False) -> None:
        super().__init__(settings, db, serving=serving)
        self.n_shards = settings.shards
        self.root = settings.data_dir / "shards" / f"{self.n_shards}-way"
        self.cluster = cluster.RayCluster(settings)
        self.actors: list[Any] = []
        self.target: ShardState | None = None
        self._statistics: Any = None  # object ref of the corpus statistics (None: not supported)
        self._shard_locks = [threading.Lock() for _ in range(self.n_shards)]
        self._facade = ShardedEngine(self)
        self.directories = [str(self.root / f"shard-{i}") for i in range(self.n_shards)]

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, *, progress: bool = False) -> None:
        """Start the shard actors (each loads its saved index), then go on from that build when
        every shard belongs to it and to this database; else build all shards afresh."""
        self.cluster.connect()
        self.actors = self.cluster.shard_actors(self.directories)
        with self._lock.write():
            with Session(self.db) as session:
                db_state = read_state(session)
            saved = self._saved_build()
            states = cluster.fetch([a.state.remote() for a in self.actors], timeout=cluster.BUILD_TIMEOUT_S)
            statistics = self._load_statistics(saved)
            usable = saved is not None and (statistics is not None or not statistics_supported())
            target = ShardState(
                saved or "", db_state.instance, db_state.relations_revision, db_state.revision, None
            )
            if not usable or any(
                s is None or not s.same_build(target) or s.revision > target.revision for s in states
            ):
                logger.info("shards on disk do not belong to this database: building all %d", self.n_shards)
                self._rebuild(progress=progress)
                return
            self._statistics = None if statistics is None else cluster.put_object(statistics)
            self.target = target
            self.origin = "loaded"
            self._built_firms = self._count_firms()
            for i, state in enumerate(states):
                self._sync_shard(i, state)
        self.refresh()

    def _rebuild(self, *, progress: bool) -> dict[str, Any]:
        """Caller holds the write lock: build every shard and serve them."""
        started = time.perf_counter()
        build = self._build_all()
        self._install(*build)
        seconds = time.perf_counter() - started
        logger.info("%d shards built: %d firms in %.1fs", self.n_shards, self._built_firms, seconds)
        return {"firms": self._built_firms, "shards": self.n_shards, "seconds": round(seconds, 2)}

    def _build_all(self) -> tuple[ShardState, Any, list[Any]]:
        """Fit the statistics, then build every shard, as Ray tasks: (target, statistics, builds)."""
        with Session(self.db) as session:
            db_state = read_state(session)
        target = ShardState(
            uuid.uuid4().hex[:12], db_state.instance, db_state.relations_revision, db_state.revision, None
        )
        statistics = self.cluster.fit_statistics()
        builds = [
            self.cluster.build(i, self.n_shards, target, statistics, self.actors[i], self.directories[i])
            for i in range(self.n_shards)
        ]
        cluster.wait_all(builds)
        return target, statistics, builds

    def _install(self, target: ShardState, statistics: Any, builds: list[Any]) -> None:
        """Caller holds the write lock. A shard that fails to take its index is rebuilt when a
        query next reaches it."""
        installs = [a.install.remote(b, target) for a, b in zip(self.actors, builds, strict=True)]
        try:
            cluster.fetch(installs, timeout=cluster.BUILD_TIMEOUT_S)
        except ShardUnavailable:
            logger.warning("a shard did not take its new index; it is rebuilt when next asked")
        fitted = cluster.get_object(statistics)
        self._statistics = None if fitted is None else statistics
        self._save_build(target.build_id, fitted)
        self.target = target
        self._understood_clear()
        self._built_firms, self._changed_since_build = self._count_firms(), 0
        self.origin = "rebuilt"
        self._catch_up_all()

    def _start_background_rebuild(self) -> None:
        if self._background is not None and self._background.is_alive():
            return
        self._background = threading.Thread(
            target=self._background_rebuild, name="shards-rebuild", daemon=True
        )
        self._background.start()

    def _background_rebuild(self) -> None:
        try:
            build = self._build_all()
            with self._lock.write():
                current = self.target
                if current is None or not (
                    current.instance == build[0].instance
                    and current.relations_revision == build[0].relations_revision
                ):
                    return  # the graph changed meanwhile and a foreground rebuild replaced the shards
                self._install(*build)
        except Exception:  # the current shards keep serving; the next threshold crossing retries
            logger.exception("background rebuild of the shards failed")

    # -- build and statistics on disk ----------------------------------------------------------
    def _saved_build(self) -> str | None:
        try:
            data = json.loads((self.root / "build.json").read_text(encoding="utf-8"))
            return str(data["build_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _load_statistics(self, build_id: str | None) -> Any:
        directory = self.root / "statistics"
        if build_id is None or not statistics_supported() or not directory.is_dir():
            return None
        try:
            return engine_module.CorpusStatistics.load(directory)
        except Exception:  # unreadable: a full build refits them
            logger.exception("could not load the corpus statistics at %s", directory)
            return None

    def _save_build(self, build_id: str, statistics: Any) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if statistics is not None:
            statistics.save(self.root / "statistics")
        tmp = self.root / "build.json.tmp"
        tmp.write_text(json.dumps({"build_id": build_id, "shards": self.n_shards}), encoding="utf-8")
        tmp.replace(self.root / "build.json")

    # -- keeping the shards current -----------------------------------------------------------
    def _is_current(self) -> bool:
        if self.target is None:
            return False
        with Session(self.db) as session:
            s = read_state(session)
        t = self.target
        return (s.instance, s.relations_revision, s.revision, s.aliases_revision) == (
            t.instance,
            t.relations_revision,
            t.revision,
            t.aliases_revision,
        )

    def refresh(self, *, checkpoint: bool = False) -> None:
        if self._is_current():
            return
        with self._lock.write():
            if self.target is None:
                self._rebuild(progress=False)
            else:
                self._catch_up_all()

    def _catch_up_all(self) -> None:
        """Caller holds the write lock: push what the database has beyond the target."""
        assert self.target is not None
        t = self.target
        with Session(self.db) as session:
            s = read_state(session)
            if (s.instance, s.relations_revision) != (t.instance, t.relations_revision):
                self._rebuild(progress=False)
                return
            upserts, removed = (
                ([], []) if s.revision == t.revision else load_changed_firms(session, t.revision)
            )
            aliases = None if s.aliases_revision == t.aliases_revision else load_user_aliases(session)
        new = replace(t, revision=s.revision, aliases_revision=s.aliases_revision)
        ups = partition(upserts, lambda f: f.id, self.n_shards)
        rms = partition(removed, lambda i: i, self.n_shards)
        refs = [a.update.remote(t, new, ups[i], rms[i], aliases) for i, a in enumerate(self.actors)]
        for i, ref in enumerate(refs):
            try:
                cluster.fetch(ref, timeout=cluster.BUILD_TIMEOUT_S)
            except ShardUnavailable:  # caught up when a query next reaches it
                logger.warning("shard %d missed revision %d; caught up when next asked", i, s.revision)
        self.target = new
        self._understood_clear()
        changed = len(upserts) + len(removed)
        self._changed_since_build += changed
        if changed:
            self.origin = "caught-up"
            logger.info(
                "shards caught up to revision %d: %d upserted, %d removed",
                s.revision,
                len(upserts),
                len(removed),
            )
        if self._changed_since_build > max(50, REBUILD_FRACTION * max(self._built_firms, 1)):
            if self.serving:
                self._start_background_rebuild()
            else:
                self._rebuild(progress=False)

    def sync_shard(self, shard: int) -> None:
        """Bring one shard to the target (a query found it in another state)."""
        self._sync_shard(shard, None, ask=True)

    def _sync_shard(self, shard: int, reported: ShardState | None, *, ask: bool = False) -> None:
        actor, target = self.actors[shard], self.target
        assert target is not None
        with self._shard_locks[shard]:
            state = cluster.fetch(actor.state.remote()) if ask else reported
            if state == target:
                return
            if state is None or not state.same_build(target) or state.revision > target.revision:
                logger.info("shard %d is in state %s: rebuilding it", shard, state)
                built = self.cluster.build(
                    shard,
                    self.n_shards,
                    replace(target, aliases_revision=None),
                    self._statistics,
                    actor,
                    self.directories[shard],
                )
                state = cluster.fetch(actor.install.remote(built, target), timeout=cluster.BUILD_TIMEOUT_S)
            assert state is not None
            with Session(self.db) as session:
                upserts: list[FirmDoc] = []
                removed: list[str] = []
                if state.revision != target.revision:
                    upserts, removed = load_changed_firms(session, state.revision)
                stale_aliases = state.aliases_revision != target.aliases_revision
                aliases = load_user_aliases(session) if stale_aliases else None
            mine = [f for f in upserts if shard_of(f.id, self.n_shards) == shard]
            gone = [i for i in removed if shard_of(i, self.n_shards) == shard]
            after = cluster.fetch(
                actor.update.remote(state, target, mine, gone, aliases), timeout=cluster.BUILD_TIMEOUT_S
            )
            if after != target:
                raise cluster.unavailable(f"分片 {shard} 正在更新，请稍后重试 (shard {shard} is catching up)")
            logger.info(
                "shard %d caught up from revision %d (%d changed firms)",
                shard,
                state.revision,
                len(mine) + len(gone),
            )

    # -- serving -----------------------------------------------------------------------------
    @contextmanager
    def searching(self) -> Iterator[Recommender]:
        self.refresh()
        with self._lock.read():
            if self.target is None:
                from recommender.errors import IndexNotFound

                raise IndexNotFound("索引尚未建立 (the index has not been built)")
            # The facade answers what callers ask of a Recommender (recommend, match, understand,
            # get_firm, product_makers, n_firms, config, aliases) from the shards.
            yield cast(Recommender, self._facade)

    def rebuild(self, *, progress: bool = False) -> dict[str, Any]:
        with self._lock.write():
            return self._rebuild(progress=progress)

    def flush(self) -> None:
        """Save each shard's unsaved changes, then leave Ray (at shutdown)."""
        self.wait_idle()  # a background catch-up (refresh_soon) still pushing writes to the shards
        with self._lock.write():
            try:
                cluster.fetch([a.save.remote() for a in self.actors], timeout=cluster.BUILD_TIMEOUT_S)
            except ShardUnavailable:
                logger.warning("a shard could not save; it catches up from the database when restarted")

    def close(self) -> None:
        self.cluster.shutdown()

    def _count_firms(self) -> int:
        try:
            return self._facade.n_firms
        except ShardUnavailable:  # a shard is down: the rebuild threshold uses the last count
            return self._built_firms

    def _understood_clear(self) -> None:
        self._facade.forget()

    def status(self) -> dict[str, Any]:
        with Session(self.db) as session:
            s = read_state(session)
        t = self.target
        try:
            firms: int | None = self._facade.n_firms if t is not None else 0
        except ShardUnavailable:
            firms = None
        return {
            "loaded": t is not None and firms is not None,
            "origin": self.origin,
            "firms_indexed": firms or 0,
            "index_revision": t.revision if t else None,
            "db_revision": s.revision,
            "in_step": bool(
                t is not None
                and firms is not None
                and (t.instance, t.revision, t.relations_revision)
                == (s.instance, s.revision, s.relations_revision)
            ),
            "shards": self.n_shards,
        }
