"""Per-key token buckets (per process): a runaway script gets 429s, not the whole service."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, last refill)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, key_id: int, cost: float = 1.0) -> float:
        """0 when the call may proceed (``cost`` tokens taken), else the seconds to wait before
        retrying. A cost above the burst is charged as the burst, so every call can succeed."""
        if not self.enabled:
            return 0.0
        cost = min(max(cost, 0.0), self.burst)
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._buckets[key_id] = (tokens - cost, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (cost - tokens) / self.rate
