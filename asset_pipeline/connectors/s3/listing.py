"""Lists one bucket with a bounded pool of threads, streaming records through a bounded queue.

One serial ListObjectsV2 loop takes ~10 s per 100,000 keys against AWS (a round trip per 1,000
keys). Here the work is split along the bucket's own prefixes:

1. The scan root (``prefix`` of the config) is listed with delimiter '/' (a *level*): its direct
   objects are emitted, its child prefixes go back to the coordinator (the consuming thread).
2. A level with few children (fewer than 4 x workers) that is not yet ``split_depth`` deep has
   each child emitted and listed as a level in turn: a bucket whose data sits under one top-level
   prefix still spreads over every worker.
3. Otherwise the children are dealt out as up to 256 (or 16 x workers) contiguous groups, each
   listed flat (no delimiter) as one key *range*: Prefix = the group's common prefix, StartAfter
   just before its first child, stopping past its last. A group of one child is a plain prefix
   listing. Deeper prefixes are derived from the keys (:class:`Chain`). So a level of 10,000 tiny
   prefixes costs ~256 + 10,000 keys / 1,000 requests, not 10,000.

Workers put pages of records on a queue of 2 x workers pages, so memory stays flat however big the
bucket is, and block when the consumer (the catalog write) is slower. Order across workers is not
deterministic; identities are, and each record is emitted exactly once.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from asset_pipeline.connectors.base import AssetRecord, ConnectorReport
from asset_pipeline.connectors.s3.client import classify
from asset_pipeline.connectors.s3.config import S3Config
from asset_pipeline.connectors.s3.records import Chain, Keys, prefixes_of

#: Child prefixes a level hands to the coordinator at once, bounding memory on very wide levels.
CHILD_CHUNK = 5_000
#: Key ranges a level's children are dealt into, at least. Up to this many children, each one is
#: listed by its own prefix: a few hundred requests more than the minimum at worst, and the
#: cheapest listing for stores that index by prefix (moto scans fewer keys, too).
MIN_RANGES = 256


@dataclass(frozen=True, slots=True)
class Level:
    """List ``prefix`` with delimiter '/'."""

    prefix: str
    depth: int


@dataclass(frozen=True, slots=True)
class Range:
    """List the keys under the child prefixes ``first`` .. ``last`` (inclusive) of ``owner``."""

    owner: str
    first: str
    last: str


Task = Level | Range


class _Stopped(Exception):
    """The consumer went away: a worker stops at its next page."""


def groups(items: list[str], count: int) -> list[list[str]]:
    """``items`` split into ``count`` (at most) contiguous groups of near-equal size."""
    count = max(1, min(count, len(items)))
    size, extra = divmod(len(items), count)
    out, at = [], 0
    for i in range(count):
        step = size + (1 if i < extra else 0)
        out.append(items[at:at + step])
        at += step
    return [g for g in out if g]


class ParallelLister:
    """One scan of one bucket. ``records()`` is the stream; call it once."""

    def __init__(self, client: Any, config: S3Config, secrets: tuple[str, ...]) -> None:
        self.client, self.config, self.secrets = client, config, secrets
        self.keys = Keys(config)
        self.root = Level(config.prefix, 0)
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=2 * config.workers)
        self._stop = threading.Event()

    def records(self, report: ConnectorReport) -> Iterator[AssetRecord]:
        """The bucket, the prefixes above the scan root, then everything below it.

        Raises:
            SourceError / TransientSourceError: see :mod:`asset_pipeline.connectors.s3.client`.
        """
        c = self.config
        pool = ThreadPoolExecutor(max_workers=c.workers, thread_name_prefix="s3-list")
        outstanding = 0

        def submit(task: Task) -> None:
            nonlocal outstanding
            outstanding += 1
            pool.submit(self._run, task)

        try:
            yield self.keys.bucket_record()
            for prefix in prefixes_of(c.prefix):
                yield self.keys.prefix_record(prefix)
            submit(self.root)
            while outstanding:
                message = self._queue.get()
                if message[0] == "records":
                    yield from message[1]
                elif message[0] == "children":
                    _, level, children, whole = message
                    yield from self._plan(level, children, whole, submit)
                else:
                    _, task, exc = message
                    outstanding -= 1
                    if exc is not None:
                        self._failed(task, exc, report)
        finally:
            self._stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def _plan(self, level: Level, children: list[str], whole: bool,
              submit: Any) -> Iterator[AssetRecord]:
        """Expand a level's children as levels, or deal them out as key ranges."""
        c = self.config
        kept = [p for p in children if not self.keys.prefix_excluded(p)]
        if whole and len(kept) < 4 * c.workers and level.depth + 1 < c.split_depth:
            for prefix in kept:
                yield self.keys.prefix_record(prefix)
                submit(Level(prefix, level.depth + 1))
            return
        for group in groups(kept, max(MIN_RANGES, 16 * c.workers)):
            submit(Range(level.prefix, group[0], group[-1]))

    def _failed(self, task: Task, exc: BaseException, report: ConnectorReport) -> None:
        where = task.prefix if isinstance(task, Level) else (
            task.first if task.first == task.last else f"{task.first} .. {task.last}")
        endpoint = f" at {self.config.endpoint_url}" if self.config.endpoint_url else ""
        problem = classify(exc, f"cannot list s3://{self.config.bucket}/{where}{endpoint}",
                           task == self.root, self.secrets)
        if problem.verdict != "item":
            raise problem.error() from None
        report.failure(f"{self.config.bucket}/{where}", problem.message)

    # --- in the worker threads --------------------------------------------------------------

    def _run(self, task: Task) -> None:
        try:
            if isinstance(task, Level):
                self._level(task)
            else:
                self._range(task)
            self._put(("done", task, None))
        except _Stopped:
            pass
        except Exception as exc:  # classified by the coordinator, which owns the report
            try:
                self._put(("done", task, exc))
            except _Stopped:
                pass

    def _put(self, message: tuple[Any, ...]) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            if self._stop.is_set():
                raise _Stopped
            page = self.client.list_objects_v2(
                Bucket=self.config.bucket, MaxKeys=self.config.page_size, **kwargs,
                **({"ContinuationToken": token} if token else {}))
            yield page
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                return

    def _level(self, task: Level) -> None:
        children: list[str] = []
        first_chunk = True
        base = len(task.prefix)
        pages = self._pages(Prefix=task.prefix, Delimiter="/")
        for page in pages:
            batch = [self.keys.object_record(item["Key"], item)
                     for item in page.get("Contents", ())
                     # a key ending in '/' here is the prefix's own folder marker
                     if "/" not in item["Key"][base:] and not item["Key"].endswith("/")
                     and self.keys.key_kept(item["Key"])]
            if batch:
                self._put(("records", batch))
            children.extend(p["Prefix"] for p in page.get("CommonPrefixes", ()))
            last = not page.get("IsTruncated")
            if len(children) >= CHILD_CHUNK or last:
                self._put(("children", task, children, first_chunk and last))
                children, first_chunk = [], False

    def _range(self, task: Range) -> None:
        base, first, last = len(task.owner), task.first, task.last
        kwargs: dict[str, Any] = {"Prefix": os.path.commonprefix([first, last])}
        if first != last:
            kwargs["StartAfter"] = first[:-1]  # sorts before every key under first
        chain = Chain(self.keys, base)
        for page in self._pages(**kwargs):
            batch: list[AssetRecord] = []
            past = False
            for item in page.get("Contents", ()):
                key = item["Key"]
                if key > last and not key.startswith(last):
                    past = True
                    break
                slash = key.find("/", base)
                if slash == -1 or key[:slash + 1] < first:
                    continue  # a direct object of owner (its level has it), or a sibling's key
                batch.extend(chain.records(key, item))
            if batch:
                self._put(("records", batch))
            if past:
                return
