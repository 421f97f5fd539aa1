"""An in-process response cache: a TTL bounds staleness, the catalog version ends it early.

Each entry remembers the catalog version (``catalog_version``: latest finished run, connector
registrations) it was computed under; a request first reads the current version (one indexed
query) and an entry made under another version is a miss. So a run that finishes loading
invalidates every cached page at once, and the TTL only bounds how stale a page can get while a
load is still committing its batches. The version is read *before* the response is computed, so
a response that raced a finishing run is stored under the old version and never served after it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

TTL_ENV = "ASSET_PIPELINE_API_CACHE_TTL"
DEFAULT_TTL = 60
MIN_TTL, MAX_TTL = 60, 300


def resolve_ttl(ttl: int | None = None) -> int:
    """``ttl``, else ``$ASSET_PIPELINE_API_CACHE_TTL``, else 60 s; 0 turns the cache off.

    Raises:
        ValueError: a TTL outside 60-300 s (and not 0).
    """
    if ttl is None:
        raw = os.environ.get(TTL_ENV, "").strip()
        try:
            ttl = int(raw) if raw else DEFAULT_TTL
        except ValueError:
            raise ValueError(f"{TTL_ENV} must be a number of seconds, got {raw!r}") from None
    if ttl != 0 and not MIN_TTL <= ttl <= MAX_TTL:
        raise ValueError(f"cache TTL must be {MIN_TTL} to {MAX_TTL} seconds (or 0 for no cache), "
                         f"got {ttl}")
    return ttl


@dataclass
class _Entry:
    version: Hashable
    expires: float
    body: bytes


class ResponseCache:
    """Bodies of successful responses by request key, at most ``max_entries`` (LRU)."""

    def __init__(self, ttl: float, max_entries: int = 2048,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable) -> bytes | None:
        """The cached body, unless absent, expired or computed under another version."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.version != version or entry.expires <= self.clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.body

    def put(self, key: Hashable, version: Hashable, body: bytes) -> None:
        with self._lock:
            self._entries[key] = _Entry(version, self.clock() + self.ttl, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
