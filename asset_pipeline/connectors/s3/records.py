"""What a bucket's keys become in the catalog: the bucket, its prefixes and its objects.

Identity: ``bucket``, ``bucket/prefix/`` (always ending in '/'), ``bucket/key``. Keys are
case-sensitive and kept exactly as listed. A key ending in '/' (a "folder" marker that consoles
create) is the prefix itself, not an object, so a prefix and an object never share an identity.
A prefix's name is its last segment with the '/' ("2024/"), which tells it apart from an object
named "2024" beside it and is never empty, even for the empty segment of ``a//b``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from asset_pipeline.connectors.base import AssetRecord
from asset_pipeline.connectors.filesystem import file_format
from asset_pipeline.connectors.s3.config import S3Config


def parent_prefix(key: str) -> str | None:
    """The prefix directly above a key or prefix ('a/b/c' -> 'a/b/', 'a/b/' -> 'a/'), or None
    at the top of the bucket."""
    cut = key.rfind("/", 0, len(key) - 1)
    return key[: cut + 1] if cut >= 0 else None


def prefixes_of(path: str) -> list[str]:
    """Every prefix of ``path`` that ends in '/': 'a/b/c' -> ['a/', 'a/b/']; 'a/b/' -> both."""
    out, at = [], path.find("/")
    while at != -1:
        out.append(path[: at + 1])
        at = path.find("/", at + 1)
    return out


def _timestamp(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None if value is None else str(value)


class Keys:
    """Builds records for one bucket and applies the include / exclude patterns."""

    def __init__(self, config: S3Config) -> None:
        self.bucket = config.bucket
        self.include = tuple(config.include)
        self.exclude = tuple(config.exclude)
        self.endpoint = config.endpoint_url
        self.region = config.region

    def key_kept(self, key: str) -> bool:
        """An object's key matches an include pattern and no exclude pattern."""
        return (any(fnmatchcase(key, p) for p in self.include)
                and not any(fnmatchcase(key, p) for p in self.exclude))

    def prefix_excluded(self, prefix: str) -> bool:
        return any(fnmatchcase(prefix, p) for p in self.exclude)

    def _parent(self, key: str) -> str:
        parent = parent_prefix(key)
        return f"{self.bucket}/{parent}" if parent else self.bucket

    def bucket_record(self) -> AssetRecord:
        # Only what the config says: no resolved region or account, which could vary by host.
        return AssetRecord(self.bucket, "bucket", self.bucket, self.bucket,
                           properties={"endpoint": self.endpoint, "region": self.region})

    def prefix_record(self, prefix: str) -> AssetRecord:
        """A prefix ('a/b/'): a container with nothing of its own to describe."""
        name = prefix[prefix.rfind("/", 0, len(prefix) - 1) + 1:]
        return AssetRecord(f"{self.bucket}/{prefix}", "prefix", name, self.bucket,
                           parent=self._parent(prefix))

    def object_record(self, key: str, item: Mapping[str, Any]) -> AssetRecord:
        """An object from a ListObjectsV2 entry. ETag, size, storage class and last modified
        describe the object's content: a rewrite moves them, a re-scan does not."""
        name = key[key.rfind("/") + 1:]
        etag = str(item.get("ETag") or "").strip('"') or None
        return AssetRecord(
            f"{self.bucket}/{key}", "object", name, self.bucket, parent=self._parent(key),
            size_bytes=item.get("Size"),
            properties={"etag": etag, "last_modified": _timestamp(item.get("LastModified")),
                        # S3 leaves StorageClass out for some STANDARD listings.
                        "storage_class": item.get("StorageClass") or "STANDARD",
                        "format": file_format(name)},
        )


class Chain:
    """The prefixes derived from a stream of sorted keys, each emitted once.

    Keys under one prefix are contiguous in S3's (UTF-8 binary) order, so only the current path
    of prefixes is remembered, never a set of all of them: memory stays flat. Prefixes not longer
    than ``base`` belong to whoever listed the keys' parent, and are not emitted here.
    """

    def __init__(self, keys: Keys, base: int) -> None:
        self.keys, self.base = keys, base
        self.path: list[tuple[str, bool]] = []  # (prefix, excluded), outermost first

    def records(self, key: str, item: Mapping[str, Any]) -> list[AssetRecord]:
        """Records for ``key``: prefixes entered for the first time, then the object if kept."""
        out: list[AssetRecord] = []
        depth, excluded = 0, False
        at = key.find("/", self.base)
        while at != -1:
            prefix = key[: at + 1]
            if depth < len(self.path) and self.path[depth][0] == prefix:
                excluded = self.path[depth][1]
            else:
                del self.path[depth:]
                excluded = excluded or self.keys.prefix_excluded(prefix)
                self.path.append((prefix, excluded))
                if not excluded:
                    out.append(self.keys.prefix_record(prefix))
            depth += 1
            at = key.find("/", at + 1)
        del self.path[depth:]
        if not key.endswith("/") and not excluded and self.keys.key_kept(key):
            out.append(self.keys.object_record(key, item))
        return out
