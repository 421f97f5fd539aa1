"""One boto3 S3 client per scan, and what its errors mean to the pipeline.

botocore retries throttling, 5xx answers and connection errors itself (``max_attempts``, standard
mode, with backoff), with a short connect timeout, so an unreachable endpoint costs seconds, not
minutes. What is left after its retries is classified here:

- the endpoint cannot be reached (refused, timed out, TLS, dropped): :class:`TransientSourceError`
  wherever it happens; the discover op retries the whole scan (2, 4, 8 s). An endpoint that stays
  down fails the run after those retries, with the reason. A typo in ``endpoint_url`` looks the
  same as an outage from here, and a run that retries it costs ~15 s, while a permanent verdict
  on a MinIO restarting for a few seconds would fail a nightly run for nothing.
- the store answered that the credentials or the bucket are wrong: :class:`SourceError`
  (permanent, no retry), wherever it happens.
- any other answer (access denied, throttled or 5xx after the retries): permanent if the scan's
  first listing gets it; for a later prefix, a failure on the report, so the scan is incomplete
  and nothing is marked removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from asset_pipeline.connectors.base import SourceError, TransientSourceError
from asset_pipeline.connectors.s3.config import Credentials, S3Config, import_boto3
from asset_pipeline.connectors.base import scrub

#: Error codes that no retry and no other prefix can fix: the whole scan fails at once.
FATAL_CODES = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "InvalidClientTokenId", "AuthorizationHeaderMalformed",
    "NoSuchBucket", "AllAccessDisabled", "AccountProblem", "InvalidBucketName",
    "PermanentRedirect", "IllegalLocationConstraintException", "InvalidRequest",
})
Verdict = Literal["transient", "fatal", "item"]


@dataclass(frozen=True)
class Problem:
    """A classified failure: what to do with it and a one-line message free of secrets."""

    verdict: Verdict
    message: str

    def error(self) -> SourceError:
        """The exception to raise for it (raise it ``from None``: the cause is not scrubbed)."""
        if self.verdict == "transient":
            return TransientSourceError(self.message)
        return SourceError(self.message)


def make_client(config: S3Config, credentials: Credentials) -> tuple[Any, tuple[str, ...]]:
    """A thread-safe S3 client for one scan (a connection per worker), and every secret it signs
    with (the chain's too), so messages can be scrubbed of them.

    Raises:
        SourceError: boto3 is missing, the profile does not exist, or no credentials are found.
    """
    boto3 = import_boto3()
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    style = config.addressing_style
    if style == "auto" and config.endpoint_url is not None:
        style = "path"  # MinIO / Ceph endpoints rarely have wildcard DNS for virtual hosts
    options: dict[str, Any] = {
        "connect_timeout": config.connect_timeout,
        "read_timeout": config.read_timeout,
        "retries": {"max_attempts": config.max_attempts, "mode": "standard"},
        "max_pool_connections": config.workers + 2,
        "s3": {"addressing_style": style},
        "user_agent_extra": "asset_pipeline",
    }
    if config.anonymous:
        options["signature_version"] = UNSIGNED
    secrets = credentials.secrets
    try:
        # A session of its own: boto3's default session is not thread-safe; its clients are.
        session = boto3.session.Session(**credentials.session_kwargs)
        if not config.anonymous:
            found = session.get_credentials()
            if found is None:
                raise SourceError(
                    "no AWS credentials found: name the variables in access_key_env / "
                    "secret_key_env, set a profile, or configure the AWS chain "
                    "(AWS_ACCESS_KEY_ID, ~/.aws, an instance or container role)")
            frozen = found.get_frozen_credentials()
            secrets += tuple(s for s in (frozen.access_key, frozen.secret_key, frozen.token)
                             if s)
        region = config.region or session.region_name or "us-east-1"
        client = session.client("s3", endpoint_url=config.endpoint_url, region_name=region,
                                config=Config(**options), verify=config.verify_tls)
    except BotoCoreError as exc:
        raise SourceError(scrub(f"cannot create an S3 client: {type(exc).__name__}: {exc}",
                                secrets)) from None
    return client, secrets


def classify(exc: BaseException, doing: str, first: bool, secrets: tuple[str, ...]) -> Problem:
    """What ``exc``, raised while ``doing`` something, means for the scan (see module doc).

    ``first``: the scan's first listing, whose failure means nothing could be listed at all.
    """
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, (ConnectionError, ConnectionClosedError, ReadTimeoutError)):
        return Problem("transient", scrub(f"{doing}: cannot reach the endpoint: "
                                          f"{_one_line(str(exc))}", secrets))
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return Problem("fatal", scrub(f"{doing}: {exc}", secrets))
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.get("Code") or status or "error")
        message = _one_line(str(error.get("Message") or ""))
        text = scrub(f"{doing}: {code}" + (f": {message}" if message else "")
                     + (f" (HTTP {status})" if status else ""), secrets)
        if code in FATAL_CODES or (code == "404" and first):
            return Problem("fatal", text)
        if first:
            transient = status is not None and (status >= 500 or status == 429)
            return Problem("transient" if transient else "fatal", text)
        return Problem("item", text)
    # Anything else (a parser error, a bug): never retried forever, never silently partial.
    return Problem("fatal", scrub(f"{doing}: {type(exc).__name__}: {_one_line(str(exc))}",
                                  secrets))


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
