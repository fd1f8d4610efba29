"""One shard: an engine over the firms one shard holds, served from a Ray actor, and the Ray
tasks that build shards and fit the corpus statistics all shards share.

This module does not import Ray: :mod:`chainmatch.sharding.cluster` wraps these in ``ray.remote``.
A shard's index is built by a task on its actor's node, saved straight into a staging directory
beside the actor's, and swapped in by the actor (the engine holds locks and memory-mapped arrays,
so it is not pickled). Only when the task ran on another node (the actor's had no free CPU) does
the index travel as the bytes of its files through Ray's object store; an actor that received them
keeps those store pages resident (≈ its index size: 240 MB per 25k-firm shard at 100k firms).
The actor's directory is also what a restarted actor loads.
"""

from __future__ import annotations

import inspect
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from chainmatch.corpus_loader import _docs as firm_docs  # the loader of load_firm_docs, for a subset
from chainmatch.corpus_loader import load_firm_docs, load_relations
from chainmatch.db import make_engine
from chainmatch.indexing import CHECKPOINT_FRACTION, CHECKPOINT_MIN_CHANGES, engine_config
from chainmatch.rwlock import ReadWriteLock
from chainmatch.settings import Settings
from chainmatch.sharding.merge import shard_list
from chainmatch.sharding.placement import shard_of
from chainmatch.sharding.state import ShardState
from models.firm import Firm
from recommender import engine as engine_module
from recommender.aliases import Alias
from recommender.corpus import FirmDoc, MatchQuery, Relation
from recommender.engine import EngineConfig, Recommender
from recommender.errors import IndexCorrupt, IndexNotFound, RecommenderError

logger = logging.getLogger(__name__)

Snapshot = dict[str, bytes]  # a saved index: file path relative to its directory → content
_LOAD_CHUNK = 5000


def statistics_supported() -> bool:
    """Whether the engine can build an index over some firms with corpus-global statistics."""
    return (
        hasattr(engine_module, "fit_statistics")
        and "statistics" in inspect.signature(Recommender.build).parameters
    )


def load_shard_firms(session: Session, shard: int, n_shards: int) -> list[FirmDoc]:
    """The live firms one shard holds, in id order (as a full build orders its rows)."""
    ids = session.exec(select(Firm.id).where(col(Firm.deleted_at).is_(None)).order_by(Firm.id)).all()
    mine = [i for i in ids if shard_of(i, n_shards) == shard]
    docs: list[FirmDoc] = []
    for start in range(0, len(mine), _LOAD_CHUNK):
        chunk = mine[start : start + _LOAD_CHUNK]
        firms = session.exec(select(Firm).where(col(Firm.id).in_(chunk)).order_by(Firm.id)).all()
        docs.extend(firm_docs(session, firms))
    return docs


def fit_corpus_statistics(settings: Settings) -> Any:
    """Ray task: the statistics of the whole corpus (product vocabulary, aliases, document
    frequencies, the static encoder), fitted once and shared by every shard's build; None when
    the engine cannot build with given statistics (each shard then fits its own: approximate)."""
    if not statistics_supported():
        logger.warning("the engine has no fit_statistics: shards fit their own statistics")
        return None
    db = make_engine(settings)
    try:
        with Session(db) as session:
            firms = load_firm_docs(session)
            relations = load_relations(session)
    finally:
        db.dispose()
    return engine_module.fit_statistics(firms, relations, engine_config(settings))


def build_engine(
    firms: list[FirmDoc], relations: list[Relation], config: EngineConfig, statistics: Any
) -> Recommender:
    extra: dict[str, Any] = {} if statistics is None else {"statistics": statistics}
    return Recommender.build(firms, relations, config, **extra)


def build_shard(
    settings: Settings,
    shard: int,
    n_shards: int,
    state: ShardState,
    statistics: Any,
    *,
    into: str | None = None,
) -> Snapshot | str:
    """Ray task: the index of one shard, read from the database now and stamped ``state`` (a
    firm written since is applied again by the catch-up from ``state.revision``: upserts and
    removals are idempotent). ``into``: the shard actor's directory on this node — the index is
    saved to a staging directory beside it, whose path is returned; else the snapshot's bytes."""
    started = time.perf_counter()
    db = make_engine(settings)
    try:
        with Session(db) as session:
            firms = load_shard_firms(session, shard, n_shards)
            relations = load_relations(session)
    finally:
        db.dispose()
    engine = build_engine(firms, relations, engine_config(settings), statistics)
    engine.manifest["shard_state"] = state.dumps()
    built: Snapshot | str
    if into is not None:
        target = Path(into)
        staging = target.parent / f".{target.name}.build-{uuid.uuid4().hex[:12]}"
        engine.save(staging)
        built = str(staging)
    else:
        with tempfile.TemporaryDirectory(prefix="chainmatch-shard-") as tmp:
            engine.save(Path(tmp) / "index")
            built = read_tree(Path(tmp) / "index")
    logger.info(
        "shard %d/%d built: %d firms in %.1fs", shard, n_shards, len(firms), time.perf_counter() - started
    )
    return built


def read_tree(directory: Path) -> Snapshot:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def write_tree(snapshot: Snapshot, directory: Path) -> None:
    """Replace ``directory`` with the snapshot's files: written beside it, then swapped in."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.in-", dir=directory.parent))
    try:
        for rel, data in snapshot.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, directory)


def swap_in(staged: Path, directory: Path) -> None:
    """Replace ``directory`` with ``staged`` (a directory beside it, same file system) by renames;
    ``staged`` is removed if the swap fails."""
    try:
        old = None
        if directory.exists():
            old = directory.parent / f".{directory.name}.old-{os.getpid()}-{time.time_ns()}"
            os.rename(directory, old)
        os.rename(staged, directory)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


STALE_BUILD_S = 2 * 3600  # older than any build: left by an install that never came


def remove_stale_builds(directory: Path) -> None:
    """Staging directories of builds whose install never came (the actor died meanwhile)."""
    now = time.time()
    for staged in directory.parent.glob(f".{directory.name}.build-*"):
        try:
            if now - staged.stat().st_mtime > STALE_BUILD_S:
                shutil.rmtree(staged, ignore_errors=True)
        except OSError:
            continue


class ShardServer:
    """The state of one shard actor. Ray runs several of its calls at once (a threaded actor),
    so a build or checkpoint never stops the queries; updates take the write lock.

    Every query names the :class:`ShardState` the coordinator expects; a shard in another state
    (restarted from an older save, or missed an update while it was down) answers with its own
    state and no value, and the coordinator catches it up before asking again.
    """

    def __init__(self, shard: int, n_shards: int, directory: str, settings: Settings) -> None:
        self.shard, self.n_shards = shard, n_shards
        self.directory = Path(directory)
        self.config = engine_config(settings)
        self._lock = ReadWriteLock()
        self._engine: Recommender | None = None
        self._state: ShardState | None = None
        self._unsaved = 0
        remove_stale_builds(self.directory)
        try:
            engine = Recommender.load(self.directory, self.config)
        except (IndexNotFound, IndexCorrupt) as exc:
            logger.info("shard %d: no usable saved index (%s)", shard, exc)
            return
        state = ShardState.loads(engine.manifest.get("shard_state"))
        if state is not None:
            self._engine, self._state = engine, state
            logger.info("shard %d loaded: %d firms at revision %d", shard, engine.n_firms, state.revision)

    # -- coordinator's side ------------------------------------------------------------------
    def state(self) -> ShardState | None:
        return self._state

    def install(self, built: Snapshot | str, state: ShardState) -> ShardState:
        """Serve a freshly built index (and keep it as this shard's saved state): ``built`` is the
        staging directory a build task on this node saved it to, or the snapshot's bytes."""
        if isinstance(built, str):
            swap_in(Path(built), self.directory)
        else:
            write_tree(built, self.directory)
        engine = Recommender.load(self.directory, self.config)
        with self._lock.write():
            self._engine, self._state = engine, replace(state, aliases_revision=None)
            self._unsaved = 0
        return self._state

    def update(
        self,
        expected: ShardState | None,
        target: ShardState,
        upserts: list[FirmDoc],
        removed: list[str],
        aliases: list[Alias] | None,
    ) -> ShardState | None:
        """Apply changed firms (and the user aliases, when given) if in the ``expected`` state;
        the state after (unchanged when the shard was not in the expected one)."""
        with self._lock.write():
            engine = self._engine
            if engine is None or self._state != expected:
                return self._state
            if removed:
                engine.remove_firms(removed)
            if upserts:
                engine.upsert_firms(upserts)
            if aliases is not None:
                engine.set_user_aliases(aliases)
            self._state = target
            self._unsaved += len(upserts) + len(removed)
            due = self._unsaved >= max(CHECKPOINT_MIN_CHANGES, CHECKPOINT_FRACTION * engine.n_firms)
        if due:
            self.save()
        return target

    def save(self) -> None:
        with self._lock.write():
            if self._engine is None or self._state is None or not self._unsaved:
                return
            self._engine.manifest["shard_state"] = self._state.dumps()
            self._engine.save(self.directory)
            self._unsaved = 0

    def memory(self) -> dict[str, Any]:
        """This actor's process: pid and resident memory (for the scaling figures)."""
        with open("/proc/self/status", encoding="ascii") as fh:
            rss_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
        return {"pid": os.getpid(), "rss_mb": round(rss_kb / 1024, 1), "firms": self._count()}

    def _count(self) -> int:
        return self._engine.n_firms if self._engine is not None else 0

    # -- queries -------------------------------------------------------------------------------
    def call(self, expected: ShardState, method: str, args: tuple[Any, ...]) -> tuple[ShardState | None, Any]:
        with self._lock.read():
            engine = self._engine
            if engine is None or self._state != expected:
                return self._state, None
            return self._state, _QUERIES[method](engine, *args)


def _floor(engine: Recommender, query: MatchQuery) -> float:
    return engine.config.min_score if query.min_score is None else query.min_score


def evidence_supported() -> bool:
    """Whether the engine answers a query in two rounds (``evidence`` from every shard, merged by
    ``recommender.merge.merge_evidence``, then passed back): the corpus-wide facts of a query
    (whether any firm lists the item, the channels' cut-offs) that one shard alone cannot know."""
    return hasattr(Recommender, "evidence")


def _given(evidence: Any) -> dict[str, Any]:
    return {} if evidence is None else {"evidence": evidence}


def _each(engine: Recommender, method: str, arg_lists: list[tuple[Any, ...]]) -> list[Any]:
    """``method`` asked once per argument tuple in one call (a batch's round): each answer, or the
    engine's own error for that query (an invalid query fails alone, not the batch)."""
    out: list[Any] = []
    for args in arg_lists:
        try:
            out.append(_QUERIES[method](engine, *args))
        except RecommenderError as exc:
            out.append(exc)
    return out


_QUERIES: dict[str, Callable[..., Any]] = {
    "each": _each,
    "evidence": lambda e, q, scopes: e.evidence(q, scopes),
    "recommend": lambda e, q, evidence: tuple(
        shard_list(part, _floor(e, q)) for part in e.recommend(q, **_given(evidence))
    ),
    "match": lambda e, q, evidence: shard_list(e.match(q, **_given(evidence)), _floor(e, q)),
    "match_many": lambda e, queries, evidence: [
        a if isinstance(a, RecommenderError) else shard_list(a, _floor(e, q))
        for q, a in zip(queries, e.match_many(queries, evidence), strict=True)
    ],
    "understand": lambda e, text, description: e.understand(text, description),
    "get_firm": lambda e, firm_id: e.get_firm(firm_id),
    "product_makers": lambda e, product: e.product_makers(product),
    "n_firms": lambda e: e.n_firms,
    "alias_entries": lambda e: e.aliases.entries(),
}
