"""The s3 connector against a real S3 protocol server on localhost (moto's server app).

One server for the session (``s3_server.py``: moto plus a small control API for fault injection
and bulk seeding); every test creates its own bucket. Nothing patches the client: every listing is
a ListObjectsV2 request over HTTP. Wrong credentials use moto's IAM authentication, switched on
for one test through moto's own ``/moto-api/reset-auth`` (moto accepts any key otherwise).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from asset_pipeline.connectors.base import (
    AssetRecord,
    ConnectorReport,
    SourceError,
    TransientSourceError,
)
from asset_pipeline.connectors.registry import ConnectorConfigError, build_connector
from asset_pipeline.connectors.s3.records import prefixes_of

from . import s3_server as s3_server_process
from .conftest import Pipeline, failure_message

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV, SECRET_ENV = "AP_TEST_S3_KEY", "AP_TEST_S3_SECRET"
PLANTED = f"planted-{uuid.uuid4().hex}-S3cr3t/+="


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: Any, raw: bool = False) -> bytes:
    data = body if raw else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return bytes(answer.read())


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server on a free port, for the whole session."""
    try:
        proc, url = s3_server_process.start(cwd=str(ROOT))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        s3_server_process.stop(proc)


class Bucket:
    """A fresh bucket on the test server, an admin client to shape it, connector configs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"ap-{uuid.uuid4().hex[:12]}"
        self.admin = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="admin",
            aws_secret_access_key="admin", config=Config(retries={"max_attempts": 1}))
        self.admin.create_bucket(Bucket=self.name)

    def put(self, key: str, body: bytes = b"x", **extra: Any) -> None:
        self.admin.put_object(Bucket=self.name, Key=key, Body=body, **extra)

    def seed(self, keys: list[str]) -> None:
        """Many objects at once (body 'x'), through moto's backend in the server process."""
        _post(f"{self.url}/_ap/seed", {"bucket": self.name, "keys": keys})

    def delete(self, key: str) -> None:
        self.admin.delete_object(Bucket=self.name, Key=key)

    def fault(self, prefix: str, after_pages: int = 1) -> None:
        _post(f"{self.url}/_ap/fault",
              {"bucket": self.name, "prefix": prefix, "after_pages": after_pages})

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"bucket": self.name, "endpoint_url": self.url, "access_key_env": KEY_ENV,
                "secret_key_env": SECRET_ENV, "max_attempts": 1, **extra}


@pytest.fixture
def bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    monkeypatch.setenv(KEY_ENV, "AKIAPLANTEDKEYID0001")
    monkeypatch.setenv(SECRET_ENV, PLANTED)  # moto accepts any secret while IAM auth is off
    return Bucket(s3_server)


def scan(config: dict[str, Any]) -> tuple[list[AssetRecord], ConnectorReport]:
    report = ConnectorReport()
    records = list(build_connector("src", "s3", config).discover(report))
    names = [r.qualified_name for r in records]
    assert len(names) == len(set(names)), "an identity was emitted twice"
    return sorted(records), report


def expected_names(bucket: str, keys: list[str]) -> list[str]:
    """Every identity a scan of ``keys`` must yield: bucket, each prefix once, each object."""
    names = {bucket}
    for key in keys:
        names.update(f"{bucket}/{p}" for p in prefixes_of(key))
        if not key.endswith("/"):
            names.add(f"{bucket}/{key}")
    return sorted(names)


# --- the tree ------------------------------------------------------------------------------------

def test_small_bucket_matches_golden(bucket: Bucket) -> None:
    bucket.put("readme.txt", b"hello")
    bucket.put("sales/2026/orders.csv", b"id,total\n1,10\n")
    bucket.put("sales/2026/orders.csv.gz", b"\x1f\x8b")
    bucket.put("sales/customers.jsonl", b"{}\n", StorageClass="STANDARD_IA")
    bucket.put("empty/", b"")  # a console "folder": the prefix, not an object
    bucket.put("Sales/UPPER.parquet", b"p")  # keys are case-sensitive
    bucket.put("ünïcödé/naïve café ✓.json", b"{}")
    bucket.put("odd/a+b%20c?&=.txt", b"o")
    records, report = scan(bucket.config())
    assert report.complete and report.skipped == 0
    b = bucket.name
    got = [(r.qualified_name.replace(b, "B", 1), r.type, r.name,
            r.parent.replace(b, "B", 1) if r.parent else None, r.size_bytes,
            (r.properties or {}).get("format"), (r.properties or {}).get("storage_class"))
           for r in records]
    assert got == [
        ("B", "bucket", b, None, None, None, None),
        ("B/Sales/", "prefix", "Sales/", "B", None, None, None),
        ("B/Sales/UPPER.parquet", "object", "UPPER.parquet", "B/Sales/", 1, "parquet", "STANDARD"),
        ("B/empty/", "prefix", "empty/", "B", None, None, None),
        ("B/odd/", "prefix", "odd/", "B", None, None, None),
        ("B/odd/a+b%20c?&=.txt", "object", "a+b%20c?&=.txt", "B/odd/", 1, "txt", "STANDARD"),
        ("B/readme.txt", "object", "readme.txt", "B", 5, "txt", "STANDARD"),
        ("B/sales/", "prefix", "sales/", "B", None, None, None),
        ("B/sales/2026/", "prefix", "2026/", "B/sales/", None, None, None),
        ("B/sales/2026/orders.csv", "object", "orders.csv", "B/sales/2026/", 14, "csv",
         "STANDARD"),
        ("B/sales/2026/orders.csv.gz", "object", "orders.csv.gz", "B/sales/2026/", 2,
         "csv.gzip", "STANDARD"),
        ("B/sales/customers.jsonl", "object", "customers.jsonl", "B/sales/", 3, "jsonl",
         "STANDARD_IA"),
        ("B/ünïcödé/", "prefix", "ünïcödé/", "B", None, None, None),
        ("B/ünïcödé/naïve café ✓.json", "object", "naïve café ✓.json", "B/ünïcödé/", 2,
         "json", "STANDARD"),
    ]
    assert all(r.catalog == b and r.schema is None for r in records)
    readme = next(r for r in records if r.name == "readme.txt")
    assert readme.properties is not None
    assert readme.properties["etag"] == hashlib.md5(b"hello").hexdigest()
    assert len(readme.properties["last_modified"]) == 20  # 2026-12-04T21:33:36Z, UTC seconds
    assert records[0].properties == {"endpoint": bucket.url, "region": None}

    # One worker, no level expansion, 1-key pages: the same records, only slower.
    serial, _ = scan(bucket.config(workers=1, split_depth=1, page_size=1))
    assert serial == records


def test_paging_wide_levels_and_deep_prefixes(bucket: Bucket) -> None:
    keys = [f"big/part-{i:05d}.csv" for i in range(2_500)]  # three 1,000-key pages
    keys += [f"wide/w{i:03d}/f.json" for i in range(300)]  # more children than ranges
    keys += ["/".join(f"d{i}" for i in range(14)) + "/leaf.txt", "deep/x/", "top.txt"]
    bucket.seed(keys)
    records, report = scan(bucket.config())
    assert report.complete
    assert [r.qualified_name for r in records] == expected_names(bucket.name, keys)
    leaf = next(r for r in records if r.name == "leaf.txt")
    assert leaf.parent == f"{bucket.name}/" + "/".join(f"d{i}" for i in range(14)) + "/"

    # Every plan (levels only, ranges only, tiny pages) yields the same identities.
    for extra in ({"workers": 1}, {"split_depth": 1, "page_size": 250}, {"split_depth": 10},
                  {"prefix": "wide/w1"}):
        again, report = scan(bucket.config(**extra))
        want = expected_names(bucket.name, keys)
        if "prefix" in extra:
            want = [bucket.name, f"{bucket.name}/wide/"] + [
                n for n in want if n.startswith(f"{bucket.name}/wide/w1")]
        assert report.complete and [r.qualified_name for r in again] == want, extra


def test_include_and_exclude(bucket: Bucket) -> None:
    bucket.seed(["a/data.csv", "a/notes.md", "a/tmp/x.csv", "logs/app.csv", "logs/sub/y.csv",
                 "b/c/z.json", "b/c/skip.tmp.csv"])
    records, report = scan(bucket.config(include=["*.csv", "*.json"],
                                         exclude=["*/tmp/", "logs/*", "*.tmp.csv"]))
    assert report.complete
    assert [r.qualified_name.split("/", 1)[-1] for r in records[1:]] == [
        "a/", "a/data.csv", "b/", "b/c/", "b/c/z.json"]  # excluded prefixes are pruned
    flat, _ = scan(bucket.config(include=["*.csv", "*.json"], split_depth=1,
                                 exclude=["*/tmp/", "logs/*", "*.tmp.csv"]))
    assert flat == records


def test_object_deleted_during_the_scan(bucket: Bucket) -> None:
    keys = [f"p/obj{i:03d}.csv" for i in range(60)] + [f"q{i}/o.csv" for i in range(40)]
    bucket.seed(keys)
    report = ConnectorReport()
    stream = build_connector("src", "s3", bucket.config(workers=1, page_size=5)).discover(report)
    seen: list[str] = []
    for record in stream:
        if record.type == "object" and not any("/p/obj" in name for name in seen):
            bucket.delete("p/obj059.csv")  # listed pages later, from another client
            bucket.delete("q39/o.csv")  # and the only key of a prefix
        seen.append(record.qualified_name)
    assert report.complete
    gone = {f"{bucket.name}/p/obj059.csv", f"{bucket.name}/q39/o.csv", f"{bucket.name}/q39/"}
    assert sorted(seen) == [n for n in expected_names(bucket.name, keys) if n not in gone]


def test_closing_the_stream_early_stops_the_workers(bucket: Bucket) -> None:
    bucket.seed([f"p{i:02d}/o{k}.csv" for i in range(40) for k in range(50)])
    stream = build_connector("src", "s3", bucket.config(page_size=10)).discover(
        ConnectorReport())
    first = [next(stream) for _ in range(5)]
    assert first[0].type == "bucket"
    started = time.perf_counter()
    stream.close()
    deadline = time.monotonic() + 5
    while any(t.name.startswith("s3-list") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "listing threads still running"
        time.sleep(0.05)
    assert time.perf_counter() - started < 5


# --- failures ------------------------------------------------------------------------------------

def test_prefix_failing_part_way_makes_the_scan_incomplete(
    pipeline: Pipeline, bucket: Bucket
) -> None:
    bucket.seed([f"a/{i}.csv" for i in range(3)] + [f"b/{i:02d}.csv" for i in range(30)])
    pipeline.add("s3src", "s3", bucket.config(page_size=10))
    assert pipeline.run("s3src").output_for_node("bulk_load").new == 1 + 2 + 33

    bucket.fault("b/", after_pages=1)  # a deny on b/ from its second page on
    bucket.delete("a/0.csv")
    records, report = scan(bucket.config(page_size=10))
    assert report.failures == 1 and not report.complete
    assert report.failure_samples[0].startswith(f"{bucket.name}/b/: cannot list s3://")
    assert "AccessDenied" in report.failure_samples[0]
    assert len([r for r in records if r.qualified_name.startswith(f"{bucket.name}/b/")]) == 11

    out = pipeline.run("s3src").output_for_node("bulk_load")
    assert not out.complete and out.removed == 0  # a/0.csv is not marked removed either
    assert {r[-1] for r in pipeline.catalog("s3src")} == {"active"}


def test_wrong_credentials_missing_bucket_and_denied_fail_at_once(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket.put("a/b.csv")
    iam = boto3.client("iam", endpoint_url=bucket.url, region_name="us-east-1",
                       aws_access_key_id="admin", aws_secret_access_key="admin")
    reader, nobody = f"reader-{uuid.uuid4().hex[:8]}", f"nobody-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=reader)
    iam.put_user_policy(UserName=reader, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    good = iam.create_access_key(UserName=reader)["AccessKey"]
    iam.create_user(UserName=nobody)
    powerless = iam.create_access_key(UserName=nobody)["AccessKey"]

    def fails(key: str, secret: str, **extra: Any) -> SourceError:
        monkeypatch.setenv(KEY_ENV, key)
        monkeypatch.setenv(SECRET_ENV, secret)
        started = time.perf_counter()
        with pytest.raises(SourceError) as err:
            scan(bucket.config(max_attempts=3, **extra))
        assert time.perf_counter() - started < 3  # answered, so never retried
        assert type(err.value) is SourceError  # permanent
        assert secret not in str(err.value) and key not in str(err.value)
        return err.value

    # moto checks signatures against IAM's keys and policies from here on (its own switch).
    _post(f"{bucket.url}/moto-api/reset-auth", b"0", raw=True)
    try:
        monkeypatch.setenv(KEY_ENV, good["AccessKeyId"])
        monkeypatch.setenv(SECRET_ENV, good["SecretAccessKey"])
        records, report = scan(bucket.config())
        assert report.complete and len(records) == 3  # the right keys work
        assert build_connector("s", "s3", bucket.config()).change_token() is not None

        wrong = fails(good["AccessKeyId"], "wrong-" + good["SecretAccessKey"])
        assert "SignatureDoesNotMatch" in str(wrong) and f"s3://{bucket.name}/" in str(wrong)
        assert "InvalidAccessKeyId" in str(fails("AKIAUNKNOWN000000000", PLANTED))
        assert "AccessDenied" in str(fails(powerless["AccessKeyId"],
                                           powerless["SecretAccessKey"]))
        monkeypatch.setenv(SECRET_ENV, "wrong")
        assert build_connector("s", "s3", bucket.config()).change_token() is None
    finally:
        _post(f"{bucket.url}/moto-api/reset-auth", b"inf", raw=True)
    missing = fails("AKIAANYKEY0000000000", PLANTED, bucket="no-such-bucket-here")
    assert "NoSuchBucket" in str(missing)


def test_unreachable_endpoint_fails_fast_as_transient(bucket: Bucket) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens once the socket closed
    started = time.perf_counter()
    with pytest.raises(TransientSourceError) as refused:
        scan(bucket.config(endpoint_url=closed, max_attempts=3))
    message = str(refused.value)
    assert f"cannot list s3://{bucket.name}/ at {closed}: cannot reach the endpoint" in message
    assert "Could not connect" in message and PLANTED not in message
    assert time.perf_counter() - started < 8
    assert build_connector("s", "s3", bucket.config(endpoint_url=closed)).change_token() is None

    with socket.socket() as silent:  # accepts TCP, never answers: only the timeout ends it
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.perf_counter()
        with pytest.raises(TransientSourceError) as timeout:
            scan(bucket.config(endpoint_url=f"http://127.0.0.1:{port}", read_timeout=1,
                               connect_timeout=1))
    assert "timeout" in str(timeout.value).lower()
    assert time.perf_counter() - started < 5


def test_config_is_validated_and_holds_no_secret(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rejected(config: dict[str, Any]) -> str:
        with pytest.raises(ConnectorConfigError) as err:
            build_connector("src", "s3", config)
        return str(err.value)

    assert "bucket: Field required" in rejected({})
    assert "bucket: Value error, must be a bucket name" in rejected({"bucket": "a/b"})
    assert "give both access_key_env and secret_key_env" in rejected(
        {"bucket": "bkt", "access_key_env": "K"})
    pasted = rejected({"bucket": "bkt", "access_key_env": PLANTED, "secret_key_env": "S"})
    assert "access_key_env: Value error, must be the name of an environment variable" in pasted
    assert PLANTED not in pasted
    in_url = rejected({"bucket": "bkt", "endpoint_url": f"http://AKIA:{PLANTED}@minio:9000"})
    assert "endpoint_url" in in_url and "must not contain credentials" in in_url
    assert PLANTED not in in_url
    assert "endpoint_url" in rejected({"bucket": "bkt", "endpoint_url": "minio:9000"})
    assert "workers: Input should be less than or equal to 64" in rejected(
        {"bucket": "bkt", "workers": 65})
    assert "secret_key: Extra inputs are not permitted" in rejected(
        {"bucket": "bkt", "secret_key": PLANTED})

    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(SourceError, match=f"environment variable {SECRET_ENV} "
                                          r"\(secret_key_env\) is not set"):
        scan(bucket.config())

    monkeypatch.setitem(sys.modules, "boto3", None)  # as if the extra were not installed
    assert "install asset_pipeline[s3]" in rejected({"bucket": "bkt"})


def test_missing_boto3_fails_the_run_clearly(
    pipeline: Pipeline, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    pipeline.add("s3src", "s3", bucket.config())  # stored without validation
    assert "install asset_pipeline[s3]" in failure_message(pipeline.run("s3src", False))


# --- the job and the change sensor ---------------------------------------------------------------

@pytest.mark.parametrize("catalog_url", ["sqlite", "postgresql"], indirect=True)
def test_new_changed_and_removed_objects_are_recorded(pipeline: Pipeline, bucket: Bucket) -> None:
    for key in ("data/a.csv", "data/b.csv", "data/2026/c.parquet", "top.json"):
        bucket.put(key, b"v1")
    pipeline.add("s3src", "s3", bucket.config())
    first = pipeline.run("s3src").output_for_node("bulk_load")
    assert (first.new, first.complete) == (7, True)  # bucket, 2 prefixes, 4 objects
    again = pipeline.run("s3src").output_for_node("bulk_load")  # stable fingerprints: no churn
    assert (again.new, again.changed, again.removed, again.unchanged) == (0, 0, 0, 7)

    bucket.put("data/a.csv", b"v2 rewritten")  # a new ETag and size
    bucket.delete("data/2026/c.parquet")  # its prefix goes with it
    bucket.put("data/d.csv", b"v1")
    out = pipeline.run("s3src").output_for_node("bulk_load")  # 2 removals: always allowed
    assert (out.new, out.changed, out.removed) == (1, 1, 2)
    b = bucket.name
    assert [(qn.replace(b, "B", 1), s) for qn, s in pipeline.history("s3src") if s != "new"
            or qn.endswith("d.csv")] == [
        ("B/data/2026/", "removed"), ("B/data/2026/c.parquet", "removed"),
        ("B/data/a.csv", "changed"), ("B/data/d.csv", "new")]
    row = next(r for r in pipeline.catalog("s3src") if r[0] == f"{b}/data/a.csv")
    assert row[6] == 12 and json.loads(row[8])["etag"] == hashlib.md5(b"v2 rewritten").hexdigest()
    assert (row[1], row[4], row[5]) == (b, "object", f"{b}/data/")


def test_change_token(bucket: Bucket) -> None:
    for key in ("a/x.csv", "b/y.csv", "logs/2026-12-01/z.json"):
        bucket.put(key)
    connector = build_connector("s", "s3", bucket.config())
    token = connector.change_token()
    assert token is not None and connector.change_token() == token

    bucket.put("a/x.csv", b"rewritten")  # something in a small prefix changed
    rewritten = connector.change_token()
    assert rewritten not in (None, token)
    bucket.put("logs/2026-12-02/z.json")  # data landing at the end of the key order
    landed = connector.change_token()
    assert landed not in (None, rewritten)
    bucket.put("c/new.csv")  # a new top-level prefix
    assert connector.change_token() not in (None, landed)

    marked = build_connector("s", "s3", bucket.config(change_marker_key="_SUCCESS"))
    absent = marked.change_token()
    bucket.put("a/unseen.csv")
    assert marked.change_token() == absent  # only the marker counts
    bucket.put("_SUCCESS", b"1")
    present = marked.change_token()
    bucket.put("_SUCCESS", b"2")
    assert present not in (None, absent) and marked.change_token() not in (None, present)


def test_planted_secret_appears_nowhere(pipeline: Pipeline, bucket: Bucket) -> None:
    bucket.put("a/b.csv")
    pipeline.add("ok", "s3", bucket.config())
    ok = pipeline.run("ok")
    assert ok.output_for_node("bulk_load").new == 3
    pipeline.add("bad", "s3", bucket.config(bucket="no-such-bucket-here"))
    bad = pipeline.run("bad", expect_success=False)
    message = failure_message(bad)
    assert "NoSuchBucket" in message

    with pytest.raises(SourceError) as direct:
        scan(bucket.config(bucket="no-such-bucket-here"))
    places = {"exception": str(direct.value), "failure": message}
    places.update(pipeline.written_text((ok, bad)))
    assert "materialization" in places[f"logs {ok.run_id}"].lower()
    assert places["catalog connectors"].count(SECRET_ENV) == 2
    secret = os.environ[SECRET_ENV]
    assert [where for where, text_ in places.items() if secret in text_] == []
