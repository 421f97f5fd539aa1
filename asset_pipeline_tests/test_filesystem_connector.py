"""The filesystem connector against real trees under tmp_path, compared with golden expectations."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from asset_pipeline.connectors import filesystem
from asset_pipeline.connectors.base import AssetRecord, ConnectorReport
from asset_pipeline.connectors.filesystem import (
    FilesystemConfig,
    FilesystemConnector,
    FilesystemScanError,
    file_format,
)

# (qualified_name, type, name, parent, size_bytes, format), in discovery order.
GOLDEN = [
    ("archive.csv.gz", "file", "archive.csv.gz", None, 3, "csv.gzip"),
    ("data", "directory", "data", None, None, None),
    ("data/2024", "directory", "2024", "data", None, None),
    ("data/2024/events.parquet", "file", "events.parquet", "data/2024", 4, "parquet"),
    ("data/orders.csv", "file", "orders.csv", "data", 7, "csv"),
    ("docs", "directory", "docs", None, None, None),
    ("docs/readme.json", "file", "readme.json", "docs", 2, "json"),
    ("empty", "directory", "empty", None, None, None),
    ("notes.xyz", "file", "notes.xyz", None, 5, "unknown"),
]
FIXED_MTIME = 1796378400  # 2026-12-04T10:00:00Z


def make_tree(root: Path) -> Path:
    files = {
        "archive.csv.gz": b"\x1f\x8b\x08",
        "data/2024/events.parquet": b"PAR1",
        "data/orders.csv": b"id\n1\n2\n",
        "docs/readme.json": b"{}",
        "notes.xyz": b"hello",
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    (root / "empty").mkdir()
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "root")


def scan(root: Path, **config: object) -> tuple[list[AssetRecord], ConnectorReport]:
    conn = FilesystemConnector("fs", FilesystemConfig(root=str(root), **config))
    report = ConnectorReport()
    return list(conn.discover(report)), report


def summary(records: list[AssetRecord]) -> list[tuple[object, ...]]:
    return [
        (r.qualified_name, r.type, r.name, r.parent, r.size_bytes,
         r.properties["format"] if r.properties else None)
        for r in records
    ]


def test_tree_matches_golden(tree: Path) -> None:
    records, report = scan(tree)
    assert summary(records) == GOLDEN
    assert report.complete and report.skipped == 0
    files = [r for r in records if r.type == "file"]
    assert {r.properties["modified"] for r in files} == {"2026-12-04T10:00:00Z"}
    dirs = [r for r in records if r.type == "directory"]
    assert all(r.properties is None and r.size_bytes is None for r in dirs)


def test_rescan_is_stable_and_a_touch_changes_only_that_file(tree: Path) -> None:
    first, _ = scan(tree)
    assert scan(tree)[0] == first

    os.utime(tree / "data/orders.csv", (FIXED_MTIME + 60, FIXED_MTIME + 60))
    (tree / "docs/readme.json").write_bytes(b'{"a": 1}')
    os.utime(tree / "docs/readme.json", (FIXED_MTIME, FIXED_MTIME))
    changed = {
        new.qualified_name: new for old, new in zip(first, scan(tree)[0], strict=True) if old != new
    }
    assert sorted(changed) == ["data/orders.csv", "docs/readme.json"]
    assert changed["data/orders.csv"].properties["modified"] == "2026-12-04T10:01:00Z"
    assert changed["docs/readme.json"].size_bytes == 8


def test_exclude_prunes_a_directory_with_its_children(tree: Path) -> None:
    records, report = scan(tree, exclude=["data", "*.xyz"])
    assert summary(records) == [
        row for row in GOLDEN if not row[0].startswith("data") and row[0] != "notes.xyz"
    ]
    assert report.skipped == 0 and report.complete


def test_include_keeps_matching_files_and_every_directory(tree: Path) -> None:
    records, report = scan(tree, include=["*.csv"])
    assert [r.qualified_name for r in records] == [
        "data", "data/2024", "data/orders.csv", "docs", "empty"
    ]
    assert report.skipped == 0


def test_symlinks_are_skipped_by_default(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("x")
    (tree / "link_file").symlink_to(tree / "notes.xyz")
    (tree / "link_out").symlink_to(outside)

    records, report = scan(tree)
    assert summary(records) == GOLDEN
    assert report.skipped == 2
    assert report.skipped_samples == [
        "link_file: symlink not followed", "link_out: symlink not followed"
    ]


def test_followed_symlinks_stay_inside_the_root(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("x")
    (tree / "link_dir").symlink_to(tree / "data")
    (tree / "link_file").symlink_to("notes.xyz")
    (tree / "link_out").symlink_to(outside)
    (tree / "link_out_file").symlink_to(outside / "secret.csv")
    (tree / "dangling").symlink_to(tree / "missing")

    records, report = scan(tree, follow_symlinks=True)
    names = [r.qualified_name for r in records]
    assert names == [row[0] for row in GOLDEN[:8]] + [
        "link_dir", "link_dir/2024", "link_dir/2024/events.parquet", "link_dir/orders.csv",
        "link_file", "notes.xyz",
    ]
    link_file = records[names.index("link_file")]
    assert (link_file.type, link_file.size_bytes, link_file.parent) == ("file", 5, None)
    assert not any("secret" in n for n in names)
    assert report.skipped == 3 and report.complete
    assert report.skipped_samples[0].startswith("dangling: broken symlink")
    assert report.skipped_samples[1:] == [
        "link_out: symlink points outside the root",
        "link_out_file: symlink points outside the root",
    ]


def test_a_directory_loop_is_cut(tree: Path) -> None:
    (tree / "data/2024/up").symlink_to(tree / "data")
    (tree / "docs/root").symlink_to(tree)

    records, report = scan(tree, follow_symlinks=True)
    assert summary(records) == GOLDEN
    assert report.skipped_samples == [
        "data/2024/up: symlink loop: target is an ancestor directory",
        "docs/root: symlink loop: target is an ancestor directory",
    ]


def test_an_unreadable_directory_is_a_failure_and_the_rest_is_scanned(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chmod 000 does not stop root, which runs these tests: fail the listing itself instead.
    real_scandir = os.scandir
    blocked = os.path.realpath(tree / "data")

    def scandir(path: str) -> object:
        if os.path.realpath(path) == blocked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(filesystem.os, "scandir", scandir)
    records, report = scan(tree)
    assert summary(records) == [row for row in GOLDEN if not row[0].startswith("data/")]
    assert not report.complete
    assert report.failure_samples == ["data: Permission denied"]


def test_an_unlistable_root_raises(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = FilesystemConnector("fs", FilesystemConfig(root=str(tree)))

    def scandir(path: str) -> object:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(filesystem.os, "scandir", scandir)
    with pytest.raises(FilesystemScanError, match="cannot list root .*Permission denied"):
        list(conn.discover(ConnectorReport()))
    monkeypatch.undo()

    os.rename(tree, tree.with_name("gone"))
    with pytest.raises(OSError, match=re.escape(f"cannot list root '{tree}'")):
        list(conn.discover(ConnectorReport()))


def test_special_files_and_undecodable_names_are_skipped(tree: Path) -> None:
    os.mkfifo(tree / "pipe.csv")
    try:
        os.close(os.open(os.fsencode(tree) + b"/bad\xff.csv", os.O_CREAT | os.O_WRONLY))
        bad_name = True
    except OSError:  # a filesystem that enforces UTF-8 names cannot hold one
        bad_name = False

    records, report = scan(tree)
    assert summary(records) == GOLDEN
    assert "pipe.csv: not a regular file" in report.skipped_samples
    assert report.skipped == (2 if bad_name else 1)
    assert report.complete


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.CSV", "csv"), ("a.ndjson", "jsonl"), ("a.xls", "excel"), ("a.yml", "yaml"),
        ("a.gz", "gzip"), ("a.csv.gz", "csv.gzip"), ("a.tar.zst", "tar.zstd"),
        ("a.weird.bz2", "bzip2"), ("Makefile", "unknown"), (".env", "unknown"),
    ],
)
def test_file_format(name: str, fmt: str) -> None:
    assert file_format(name) == fmt


def test_invalid_configs_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(ValidationError, match=re.escape(f"root '{missing}' does not exist")):
        FilesystemConfig(root=str(missing))
    a_file = tmp_path / "a.csv"
    a_file.write_text("x")
    with pytest.raises(ValidationError, match=re.escape(f"root '{a_file}' is not a directory")):
        FilesystemConfig(root=str(a_file))
    with pytest.raises(ValidationError, match="recursive"):
        FilesystemConfig(root=str(tmp_path), recursive=True)


def test_config_is_documented_and_keeps_the_root_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert all(f.description for f in FilesystemConfig.model_fields.values())
    monkeypatch.chdir(tmp_path)
    make_tree(tmp_path / "root")
    config = FilesystemConfig(root="root")
    assert config.root == "root"
    records, _ = scan(Path("root"))
    assert summary(records) == GOLDEN
