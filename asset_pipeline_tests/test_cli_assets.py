"""The read path's commands as a user runs them: assets list / show, and serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from asset_pipeline.cli import main

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with its own Dagster home and a catalog holding 300 synthetic assets."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("ASSET_PIPELINE_DATABASE_URL", sqlite_url)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert main(["connector", "add", "syn", "--kind", "synthetic",
                 "--config", '{"count": 300}']) == 0
    assert main(["run", "syn"]) == 0
    return tmp_path


def test_assets_list_pages_with_the_printed_cursor(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    ids: list[int] = []
    args = ["assets", "list", "--limit", "120", "--json"]
    while True:
        assert main(args) == 0
        page = json.loads(capsys.readouterr().out)
        ids += [i["id"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        args = ["assets", "list", "--limit", "120", "--json", "--cursor", page["next_cursor"]]
    assert sorted(ids, reverse=True) == ids and len(set(ids)) == 300

    assert main(["assets", "list", "--type", "table", "--limit", "2", "--total", "exact"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "id\ttype\tstatus\tdiscovered_at\tconnector\tqualified_name"
    assert [line.split("\t")[1] for line in out[1:3]] == ["table", "table"]
    assert out[3] == "total (exact): 34" and out[4].startswith("next page: --cursor ")
    cursor = out[4].split()[-1]
    assert main(["assets", "list", "--type", "table", "--limit", "2", "--cursor", cursor]) == 0
    assert int(capsys.readouterr().out.splitlines()[1].split("\t")[0]) < int(out[2].split("\t")[0])


@pytest.mark.parametrize("args,message", [
    (["--status", "gone"], "invalid choice: 'gone'"),
    (["--type", "tabel"], "type must be one of"),
    (["--limit", "0"], "limit must be an integer from 1 to 1000"),
    (["--discovered-after", "last week"], "--discovered-after must be an ISO 8601 timestamp"),
    (["--cursor", "forged.cursor"], "cursor is"),
])
def test_assets_list_refuses_bad_input(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    try:
        status = main(["assets", "list", *args])
    except SystemExit as exc:  # argparse refuses a value outside its choices itself
        status = exc.code  # type: ignore[assignment]
    assert status == 2
    assert message in capsys.readouterr().err


def test_assets_show_prints_the_asset_and_its_history(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["assets", "show", "1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == 1 and shown["type"] == "database"
    assert shown["connector_info"]["name"] == "syn"
    assert [h["status"] for h in shown["history"]] == ["new"]
    assert main(["assets", "show", "99999"]) == 2
    assert "no asset with id 99999" in capsys.readouterr().err


def test_serve_answers_http_and_refuses_a_bad_ttl(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--cache-ttl", "30"]) == 2
    assert "cache TTL must be 60 to 300 seconds" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "asset_pipeline.cli", "serve", "--port", str(port)],
        cwd=workdir, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/assets?limit=3") as r:
                    page = json.loads(r.read())
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert len(page["items"]) == 3 and page["next_cursor"]
    finally:
        server.terminate()
        server.wait(10)
