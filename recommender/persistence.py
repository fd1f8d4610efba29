"""An index on disk: written atomically (temp dir + fsync + rename, under a file lock shared by
the worker processes of a host), read back with every file checked against the others."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import errors
from .channels import load_channel
from .config import EngineConfig
from .entry_table import EntryTable
from .filters import FirmAttrs, FirmFilters
from .graph import ProductGraph
from .parts import FORMAT_VERSION, EngineParts, channel_context
from .postings import ProductPostings
from .segmenter import WordSegmenter
from .statistics import CorpusStatistics
from .textcolumn import TextColumn

# One index read or write at a time per process. Both build Python ASTs (np.load parses every
# array header with ast.literal_eval; saving the dense model renders huggingface_hub's model-card
# Jinja template), and on CPython 3.11 two threads building ASTs at once can fail with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905). Loads and saves
# are rare (start-up, checkpoints), so serialising them within a process costs nothing; the swap
# of the directory between processes stays under the file lock (_swap_lock).
_INDEX_IO_LOCK = threading.Lock()


def save_index(parts: EngineParts, directory: Path, firm_attrs: FirmAttrs | None = None) -> None:
    """Atomically (temp dir + fsync + rename) writes the whole index with a manifest.json
    (``firm_attrs``: the filter columns of its rows, else they are computed from the firms)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        os.chmod(tmp, 0o755)
        with _INDEX_IO_LOCK:
            _write(parts, tmp, firm_attrs or FirmFilters(parts.table).attrs())
        for p in tmp.rglob("*"):
            if p.is_file():
                with open(p, "rb") as fh:
                    os.fsync(fh.fileno())
        old = None
        with _swap_lock(directory, exclusive=True):  # several worker processes save one index
            if directory.exists():
                old = directory.parent / f".{directory.name}.old-{os.getpid()}-{time.time_ns()}"
                os.rename(directory, old)
            os.rename(tmp, directory)
            _fsync_dir(directory.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write(parts: EngineParts, d: Path, firm_attrs: FirmAttrs | None) -> None:
    t = parts.table
    t.save_rows(d)
    if firm_attrs is not None:
        firm_attrs.save(d)
    np.savez(d / "entries.npz", firm=t.firm, kind=t.kind, share=t.share, alive=t.alive)
    t.postings.save(d, t.alive)
    t.text.save(d)
    (d / "graph.json").write_text(json.dumps(parts.graph.to_state(), ensure_ascii=False), encoding="utf-8")
    for channel in parts.channels.values():
        channel.save(d)
    parts.segmenter.save(d)
    if parts.statistics is not None:
        parts.statistics.save(d / "statistics")
    manifest = dict(parts.manifest)
    manifest.update(
        format=FORMAT_VERSION,
        n_firms=t.n_firms,
        n_entries=t.n_entries,
        n_rows=t.n_rows,
        n_entry_rows=len(t.firm),
        dense="dense" in parts.channels,
        saved_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    (d / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def load_index(directory: Path, config: EngineConfig) -> EngineParts:
    directory = Path(directory)
    with _INDEX_IO_LOCK, _swap_lock(directory, exclusive=False):
        mpath = directory / "manifest.json"
        if not mpath.is_file():
            raise errors.IndexNotFound(f"no index at {directory}")
        try:
            return _read(directory, config, json.loads(mpath.read_text(encoding="utf-8")))
        except errors.RecommenderError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise errors.IndexCorrupt(f"cannot read index at {directory}: {exc}") from exc


def _read(directory: Path, config: EngineConfig, manifest: dict) -> EngineParts:
    if manifest.get("format") != FORMAT_VERSION:
        raise errors.IndexCorrupt(f"unsupported index format {manifest.get('format')!r}")
    statistics = None
    if manifest.get("frozen_statistics"):
        statistics = CorpusStatistics.load(directory / "statistics", config.device)
    table, mined = EntryTable.restore(directory)
    firm_attrs = FirmAttrs.load(directory)
    if len(firm_attrs.alive) != table.n_rows:
        raise errors.IndexCorrupt("index files disagree in size")
    with np.load(directory / "entries.npz") as z:
        firm, kind, share, alive = z["firm"], z["kind"], z["share"], z["alive"]
    text = TextColumn.load(directory)
    table.postings = ProductPostings.load(directory)
    try:
        table.set_entries(firm, kind, share, alive, text)
    except ValueError as exc:
        raise errors.IndexCorrupt("index files disagree in size") from exc
    graph = ProductGraph.from_state(json.loads((directory / "graph.json").read_text("utf-8")))
    segmenter = WordSegmenter.load(directory)
    ctx = channel_context(config, table, graph, segmenter, mined, statistics)
    names = ["tfidf", "bm25", *(["dense"] if manifest.get("dense") else []), "graph"]
    channels = {name: load_channel(name, directory, config, table, ctx) for name in names[:2]}
    if table.n_rows != manifest.get("n_rows", table.n_rows):
        raise errors.IndexCorrupt("index files disagree in size")
    for name in names[2:]:
        channels[name] = load_channel(name, directory, config, table, ctx)
    return EngineParts(
        table, graph, segmenter, ctx.aliases, ctx.catalog, channels, manifest, statistics, firm_attrs
    )


@contextmanager
def _swap_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """An advisory lock (a file beside the index) held while the directory is swapped or read."""
    if not directory.parent.exists():
        yield
        return
    with open(directory.parent / f".{directory.name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
