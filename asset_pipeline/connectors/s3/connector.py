"""The ``s3`` connector: a bucket, its prefixes and its objects, in any S3-compatible store.

Identity is ``bucket``, ``bucket/prefix/`` and ``bucket/key``, keys exactly as the store lists
them (case-sensitive). Listing runs in parallel over the bucket's prefixes
(:mod:`asset_pipeline.connectors.s3.listing`); an object's ETag, size, storage class and last
modified time are its description, so a rewritten object is "changed" and an untouched one is not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asset_pipeline.connectors.base import AssetRecord, Connector, ConnectorReport
from asset_pipeline.connectors.s3.client import make_client
from asset_pipeline.connectors.s3.config import S3Config, resolve_credentials
from asset_pipeline.connectors.s3.listing import ParallelLister

#: Bounds of the sampled change token: pages per level, prefixes sampled, levels descended.
TOKEN_PAGES = 10
TOKEN_PREFIXES = 32
TOKEN_DEPTH = 8


class S3Connector(Connector[S3Config]):
    kind = "s3"
    config_model = S3Config
    case_policy = ("case-sensitive keys, exactly as listed; identity bucket, bucket/prefix/ "
                   "(with its trailing '/'), bucket/key")

    def discover(self, report: ConnectorReport) -> Iterator[AssetRecord]:
        """Stream the bucket, its prefixes and its objects, listing prefixes in parallel.

        A prefix whose listing fails after the first (access denied, 5xx after retries) is a
        failure on ``report``: the scan is incomplete and nothing is marked removed. Objects
        deleted while the scan runs are simply not seen.

        Raises:
            SourceError: wrong credentials, no such bucket, access denied to the bucket, missing
                boto3 or environment variable; TransientSourceError: the endpoint cannot be
                reached. Messages never hold a key or secret.
        """
        client, secrets = make_client(self.config, resolve_credentials(self.config))
        try:
            yield from ParallelLister(client, self.config, secrets).records(report)
        finally:
            client.close()

    def change_token(self) -> str | None:
        """A cheap value that moves when the bucket changes; None when it cannot be read.

        With ``change_marker_key``: that object's ETag (one HEAD). Otherwise a digest of a
        bounded sample (at most ~130 requests, run on the worker pool): the scan root's direct
        objects and child prefixes, the first page (1,000 keys with ETags) of up to 32 child
        prefixes, and the last page along the last-named path, where date-partitioned layouts
        add data. It moves when a top-level prefix appears or goes, when anything in a small
        prefix changes and when keys land at the end of the key order; other changes wait for
        the freshness sensor or the schedule.
        """
        try:
            client, _ = make_client(self.config, resolve_credentials(self.config))
        except Exception:
            return None
        try:
            parts = [self.config.model_dump_json()]
            if self.config.change_marker_key is not None:
                parts.append(_marker(client, self.config))
            else:
                parts.extend(_sample(client, self.config))
            return hashlib.sha1("\n".join(parts).encode()).hexdigest()
        except Exception:  # the sensor must go on without it
            return None
        finally:
            client.close()


def _marker(client: Any, config: S3Config) -> str:
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=config.bucket, Key=config.change_marker_key)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return "absent"
        raise
    return f"{head.get('ETag')} {head.get('LastModified')}"


def _level(client: Any, config: S3Config, prefix: str) -> tuple[list[str], list[str], str]:
    """(direct objects as 'key etag', child prefixes, last page's digest) of up to TOKEN_PAGES
    pages of a delimiter listing."""
    objects: list[str] = []
    children: list[str] = []
    last_page = ""
    kwargs: dict[str, Any] = {"Bucket": config.bucket, "Prefix": prefix, "Delimiter": "/",
                              "MaxKeys": config.page_size}
    for _ in range(TOKEN_PAGES):
        page = client.list_objects_v2(**kwargs)
        entries = [f"{o['Key']} {o.get('ETag')} {o.get('Size')}" for o in page.get("Contents", ())]
        objects.extend(entries)
        children.extend(p["Prefix"] for p in page.get("CommonPrefixes", ()))
        last_page = "\n".join(entries + children[-1000:])
        if not page.get("IsTruncated"):
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    return objects, children, last_page


def _first_page(client: Any, config: S3Config, prefix: str) -> str:
    page = client.list_objects_v2(Bucket=config.bucket, Prefix=prefix, MaxKeys=1000)
    return "\n".join(f"{o['Key']} {o.get('ETag')} {o.get('Size')}"
                     for o in page.get("Contents", ()))


def _sample(client: Any, config: S3Config) -> list[str]:
    objects, children, _ = _level(client, config, config.prefix)
    parts = objects + children
    step = max(1, len(children) // TOKEN_PREFIXES)
    sampled = children[::step][:TOKEN_PREFIXES]
    with ThreadPoolExecutor(max_workers=min(config.workers, 8)) as pool:
        parts.extend(pool.map(lambda p: _first_page(client, config, p), sampled))
    # The tail: descend into the last child prefix, level by level.
    for _ in range(TOKEN_DEPTH):
        if not children:
            break
        _, children, last_page = _level(client, config, children[-1])
        parts.append(last_page)
    return parts
