"""Config of the ``s3`` connector, and the credentials it reads when a scan starts.

The catalog stores a connector's config as given, so the config never holds a secret: only the
*names* of the environment variables that hold the keys, or nothing at all (boto3's standard chain:
``AWS_*`` variables, shared config files, container and instance roles).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from asset_pipeline.connectors.base import ConnectorConfig, SourceError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Lenient on purpose: AWS's rules (lower case, 3-63) plus what older AWS buckets, MinIO and Ceph
# accept. '/' is never allowed: it separates the bucket from the key in identities.
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")
INSTALL_HINT = "install asset_pipeline[s3]"


def import_boto3() -> Any:
    """The boto3 module; a SourceError naming the extra to install when it is missing."""
    try:
        import boto3
    except ImportError:
        raise SourceError(f"the s3 connector needs boto3, which is not installed: "
                          f"{INSTALL_HINT}") from None
    return boto3


class S3Config(ConnectorConfig):
    bucket: str = Field(description="Bucket to scan.")
    prefix: str = Field(
        "", description="Only scan keys that start with this (e.g. 'warehouse/'); identities stay "
        "full keys, so narrowing or widening it later keeps every asset's identity."
    )
    endpoint_url: str | None = Field(
        None, description="S3 API endpoint for MinIO, Ceph and the like "
        "(http://minio.internal:9000). Default: AWS S3 for the region."
    )
    region: str | None = Field(
        None, description="Region to sign requests for (eu-west-1). Default: the AWS chain's "
        "(AWS_REGION, the profile), else us-east-1."
    )
    access_key_env: str | None = Field(
        None, description="Name of the environment variable holding the access key id. With "
        "secret_key_env; both unset: boto3's standard credential chain."
    )
    secret_key_env: str | None = Field(
        None, description="Name of the environment variable holding the secret access key. Read "
        "when a scan starts; the key itself is never stored or logged."
    )
    session_token_env: str | None = Field(
        None, description="Name of the environment variable holding a session token (temporary "
        "credentials), with access_key_env and secret_key_env."
    )
    profile: str | None = Field(
        None, description="Profile of the shared AWS config files to take credentials and region "
        "from, instead of the default chain."
    )
    anonymous: bool = Field(
        False, description="Send unsigned requests (a public bucket); no credentials are read."
    )
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="'path' (endpoint/bucket/key) or 'virtual' (bucket.endpoint/key). "
        "'auto': path style with endpoint_url (MinIO, Ceph), boto3's choice without."
    )
    verify_tls: bool = Field(
        True, description="Verify the endpoint's TLS certificate. Turn off only for a test "
        "server with a self-signed certificate."
    )
    include: list[str] = Field(
        ["*"], description="fnmatch patterns (case-sensitive) on an object's key; an object is "
        "kept if it matches any. '*' also matches '/'. Prefixes are kept unless excluded."
    )
    exclude: list[str] = Field(
        [], description="fnmatch patterns on object keys and on prefixes (which end in '/'), "
        "e.g. '*.tmp', '*/_temporary/*', 'logs/*'. Nothing under an excluded prefix is kept."
    )
    workers: int = Field(
        8, ge=1, le=64, description="Prefixes listed in parallel (threads and connections)."
    )
    split_depth: int = Field(
        3, ge=1, le=10, description="Levels of prefixes that may be listed with a delimiter to "
        "find parallel work when a level holds few prefixes; below, key ranges are listed flat."
    )
    page_size: int = Field(
        1000, ge=1, le=1000, description="Keys asked per ListObjectsV2 request (S3's maximum is "
        "1000)."
    )
    connect_timeout: float = Field(
        5.0, gt=0, le=120, description="Seconds to wait for a connection to the endpoint."
    )
    read_timeout: float = Field(
        60.0, gt=0, le=600, description="Seconds to wait for an answer to one request."
    )
    max_attempts: int = Field(
        3, ge=1, le=10, description="Attempts per request, first included (botocore's standard "
        "retry mode: throttling, 5xx and connection errors, with backoff)."
    )
    change_marker_key: str | None = Field(
        None, description="Key of an object the writers of this bucket rewrite after every change "
        "(a _SUCCESS file, an S3 Inventory manifest.checksum): the change token is then its ETag, "
        "one HEAD request. Default: a bounded sample of listings."
    )

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, bucket: str) -> str:
        if not _BUCKET.match(bucket):
            raise ValueError("must be a bucket name: 2-255 letters, digits, '.', '-' or '_', "
                             "starting with a letter or digit, no '/'")
        return bucket

    @field_validator("access_key_env", "secret_key_env", "session_token_env")
    @classmethod
    def _env_name(cls, name: str | None) -> str | None:
        if name is not None and not _ENV_NAME.match(name):
            # Never echo the value: someone may have pasted the key itself here.
            raise ValueError("must be the name of an environment variable (letters, digits, _)")
        return name

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if "@" in url:
            # Never echo it: the part before '@' may be a key.
            raise ValueError("must not contain credentials; name environment variables in "
                             "access_key_env / secret_key_env")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. "
                             "http://minio.internal:9000")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("has an invalid port") from None
        return url.rstrip("/")

    @model_validator(mode="after")
    def _credential_rules(self) -> S3Config:
        if (self.access_key_env is None) != (self.secret_key_env is None):
            raise ValueError("give both access_key_env and secret_key_env, or neither (boto3's "
                             "credential chain)")
        if self.session_token_env is not None and self.access_key_env is None:
            raise ValueError("session_token_env goes with access_key_env and secret_key_env")
        if self.anonymous and (self.access_key_env or self.profile):
            raise ValueError("anonymous reads no credentials: drop access_key_env / "
                             "secret_key_env / profile")
        if self.profile is not None and self.access_key_env is not None:
            raise ValueError("give either profile or access_key_env / secret_key_env")
        try:
            import_boto3()  # a missing extra fails at 'connector add', not at the first run
        except SourceError as exc:
            raise ValueError(str(exc)) from None
        return self


@dataclass(frozen=True)
class Credentials:
    """Keyword arguments for a boto3 session, and the secrets to keep out of every message."""

    session_kwargs: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()


def resolve_credentials(config: S3Config) -> Credentials:
    """Read the named environment variables. Called when a scan starts.

    Raises:
        SourceError: a named variable is unset or empty (the message names the variable only).
    """
    if config.anonymous or config.access_key_env is None:
        return Credentials({"profile_name": config.profile} if config.profile else {})
    assert config.secret_key_env is not None  # the model validator guarantees it
    names = {"aws_access_key_id": ("access_key_env", config.access_key_env),
             "aws_secret_access_key": ("secret_key_env", config.secret_key_env)}
    if config.session_token_env is not None:
        names["aws_session_token"] = ("session_token_env", config.session_token_env)
    kwargs: dict[str, str] = {}
    for argument, (field_name, env) in names.items():
        value = os.environ.get(env)
        if not value:
            raise SourceError(f"environment variable {env} ({field_name}) is not set")
        kwargs[argument] = value
    return Credentials(kwargs, tuple(kwargs.values()))
