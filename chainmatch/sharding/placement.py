"""Which shard holds a firm: a stable hash of its id, the same in every process and on every node.

Python's ``hash()`` is salted per process, so it cannot place firms; CRC-32 of the UTF-8 id is
stable, fast and spreads the registry's ids (stock codes, USCCs, ``AH-0001`` …) evenly.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def shard_of(firm_id: str, n_shards: int) -> int:
    return zlib.crc32(firm_id.encode("utf-8")) % n_shards


def partition(items: Iterable[T], firm_id_of: Callable[[T], str], n_shards: int) -> list[list[T]]:
    """``items`` split into one list per shard, by the firm id ``firm_id_of`` reads from each."""
    parts: list[list[T]] = [[] for _ in range(n_shards)]
    for item in items:
        parts[shard_of(firm_id_of(item), n_shards)].append(item)
    return parts
