"""Keeps a serving process's loaded index out of the garbage collector's full passes.

A loaded index is Python objects that live as long as it does: ~1M tracked by the cyclic
collector at 100k firms (firm ids and rows, dictionaries, jieba's words). CPython runs a full
collection whenever the objects that survived since the last one exceed a quarter of the old
generation, and each pass walks every tracked object with the GIL held: ~0.8 s at 100k firms,
twice per 5,000 ingested firms (1.55 s of 6.8 s of request and catch-up work, measured in
process). Once an engine is loaded, and after each catch-up, what is alive is collected once and
moved to the permanent generation (``gc.freeze``), so later passes walk only what is newer; that
collection walks only the objects since the last freeze (~10-30 ms after 1,000 firms).

Frozen objects are still freed by reference counting; only cycles among them wait. So before an
engine is replaced (a rebuild), everything is unfrozen again, and the next :func:`settle` collects
the old engine's cycles before freezing what remains.
"""

from __future__ import annotations

import gc
import logging
import time

logger = logging.getLogger(__name__)

# Below this many firms a full collection costs little (~8 ms per 1,000 firms' objects), and a
# process that loads many small engines (the tests) keeps the collector as it is.
MIN_FIRMS = 10_000


def settle(n_firms: int) -> bool:
    """Collect, then freeze what is alive, when the engine is big enough; True when it did."""
    if n_firms < MIN_FIRMS:
        return False
    started = time.perf_counter()
    found = gc.collect()
    gc.freeze()
    # (not gc.get_freeze_count(): it walks the whole permanent generation, ~0.1 s at 100k firms)
    logger.debug("heap settled: %d unreachable collected in %.3f s", found, time.perf_counter() - started)
    return True


def release() -> None:
    """Before an engine is dropped: its objects return to the collector, which frees their cycles
    at the next :func:`settle` (or full collection)."""
    gc.unfreeze()
