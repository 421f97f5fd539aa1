"""Scans a local directory tree: every directory and regular file under ``root`` is an asset.

Identities are paths relative to the root, '/' separated; the root itself is not an asset. Entries
are listed in name order, depth first, so the same tree always yields the same records in the same
order. Directories carry no mtime: it changes whenever a child does, which would be churn.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from fnmatch import fnmatchcase

from pydantic import Field, field_validator

from asset_pipeline.connectors.base import AssetRecord, Connector, ConnectorConfig, ConnectorReport

_FORMATS = {
    "csv": "csv", "tsv": "tsv", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl",
    "parquet": "parquet", "avro": "avro", "orc": "orc", "feather": "arrow", "arrow": "arrow",
    "xlsx": "excel", "xls": "excel", "txt": "txt", "xml": "xml", "yaml": "yaml", "yml": "yaml",
    "tar": "tar", "sqlite": "sqlite", "pdf": "pdf",
}
_COMPRESSIONS = {"gz": "gzip", "zip": "zip", "bz2": "bzip2", "zst": "zstd", "xz": "xz"}


class FilesystemConfig(ConnectorConfig):
    root: str = Field(
        description="Directory to scan; must exist. Kept as given, scanned at its resolved path."
    )
    include: list[str] = Field(
        ["*"],
        description="fnmatch patterns (case-sensitive) on a file's path relative to root; a file "
        "is kept if it matches any. '*' also matches '/'. Directories are kept unless excluded.",
    )
    exclude: list[str] = Field(
        [],
        description="fnmatch patterns on the relative path of files and directories, e.g. "
        "'build', '*/node_modules', '*.tmp'. An excluded directory is not walked.",
    )
    follow_symlinks: bool = Field(
        False,
        description="Follow symlinks whose resolved target lies inside root; other symlinks "
        "are skipped.",
    )

    @field_validator("root")
    @classmethod
    def _root_is_directory(cls, root: str) -> str:
        if not os.path.exists(root):
            raise ValueError(f"root {root!r} does not exist")
        if not os.path.isdir(root):
            raise ValueError(f"root {root!r} is not a directory")
        return root


class FilesystemScanError(OSError):
    """The root itself could not be listed: nothing was scanned."""


def file_format(name: str) -> str:
    """The data format named by a file's extension: 'csv', 'jsonl', 'csv.gzip', or 'unknown'."""
    stem, ext = os.path.splitext(name.lower())
    ext = ext[1:]
    if ext in _COMPRESSIONS:
        inner = _FORMATS.get(os.path.splitext(stem)[1][1:])
        return f"{inner}.{_COMPRESSIONS[ext]}" if inner else _COMPRESSIONS[ext]
    return _FORMATS.get(ext, "unknown")


def _modified(st: os.stat_result) -> str:
    return datetime.fromtimestamp(int(st.st_mtime), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _listing(path: str) -> list[os.DirEntry[str]]:
    with os.scandir(path) as entries:
        return sorted(entries, key=lambda e: e.name)


#: Directories the change token looks at, at most: bounded work per sensor tick.
TOKEN_DIRECTORIES = 10_000


class FilesystemConnector(Connector[FilesystemConfig]):
    kind = "filesystem"
    config_model = FilesystemConfig
    case_policy = "case as the filesystem reports it; paths relative to root, '/' separated"

    def change_token(self) -> str | None:
        """A digest of the modification times of up to TOKEN_DIRECTORIES directories.

        A directory's mtime moves when an entry in it is added, removed or renamed; a file
        rewritten in place is seen by the next scheduled or fresh-enough run instead. None when
        the root cannot be read.
        """
        root = os.path.realpath(self.config.root)
        digest = hashlib.sha1()
        pending, seen = [root], 0
        while pending and seen < TOKEN_DIRECTORIES:
            path = pending.pop()
            seen += 1
            try:
                digest.update(f"{path}\0{os.stat(path).st_mtime_ns}\0".encode(errors="replace"))
                with os.scandir(path) as entries:
                    pending.extend(
                        e.path for e in entries
                        if e.is_dir(follow_symlinks=False)
                        and not any(fnmatchcase(os.path.relpath(e.path, root), p)
                                    for p in self.config.exclude)
                    )
            except OSError:
                if path == root:
                    return None
        return digest.hexdigest()

    def discover(self, report: ConnectorReport) -> Iterator[AssetRecord]:
        """Walk the tree under ``root``, yielding directories and regular files.

        Unreadable entries are failures on ``report``; symlinks not followed, special files and
        names that are not valid UTF-8 are skips. Excluded entries are neither.

        Raises:
            FilesystemScanError: the root itself cannot be listed.
        """
        c = self.config
        root = os.path.realpath(c.root)
        try:
            root_st = os.stat(root)
            top = _listing(root)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise FilesystemScanError(f"cannot list root {c.root!r}: {reason}") from exc
        # Directory loops can only close on an ancestor, so only the current path is tracked:
        # a link to a sibling is walked again under its own name, the real directory still is.
        ancestors = {(root_st.st_dev, root_st.st_ino)}
        stack: list[tuple[str | None, tuple[int, int], Iterator[os.DirEntry[str]]]] = [
            (None, (root_st.st_dev, root_st.st_ino), iter(top))
        ]
        while stack:
            parent, key, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                ancestors.discard(key)
                continue
            rel = f"{parent}/{entry.name}" if parent else entry.name
            if any(fnmatchcase(rel, p) for p in c.exclude):
                continue
            try:
                rel.encode()
            except UnicodeEncodeError:
                report.skip(repr(rel), "name is not valid UTF-8")
                continue
            try:
                if entry.is_symlink():
                    if not c.follow_symlinks:
                        report.skip(rel, "symlink not followed")
                        continue
                    try:
                        target = os.path.realpath(entry.path, strict=True)
                    except OSError as exc:
                        # Nothing is hidden: a target inside root is also reached directly.
                        report.skip(rel, f"broken symlink: {exc.strerror or exc}")
                        continue
                    if os.path.commonpath([root, target]) != root:
                        report.skip(rel, "symlink points outside the root")
                        continue
                    st = entry.stat()
                else:
                    st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                report.failure(rel, exc.strerror or str(exc))
                continue
            if stat.S_ISDIR(st.st_mode):
                dir_key = (st.st_dev, st.st_ino)
                if dir_key in ancestors:
                    report.skip(rel, "symlink loop: target is an ancestor directory")
                    continue
                yield AssetRecord(rel, "directory", entry.name, parent=parent)
                try:
                    children = _listing(entry.path)
                except OSError as exc:
                    report.failure(rel, exc.strerror or str(exc))
                    continue
                ancestors.add(dir_key)
                stack.append((rel, dir_key, iter(children)))
            elif not any(fnmatchcase(rel, p) for p in c.include):
                continue
            elif stat.S_ISREG(st.st_mode):
                yield AssetRecord(
                    rel, "file", entry.name, parent=parent, size_bytes=st.st_size,
                    properties={"format": file_format(entry.name), "modified": _modified(st)},
                )
            else:
                report.skip(rel, "not a regular file")
