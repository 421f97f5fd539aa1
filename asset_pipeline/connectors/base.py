"""The connector contract: a typed config, a stream of asset records, and a report.

Connectors know nothing of Dagster or of the catalog. A connector kind is a pydantic config model,
a ``discover()`` generator of :class:`AssetRecord`, and a :class:`ConnectorReport` on which per-item
problems are recorded. A failure to list anything at all raises.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, ConfigDict

ASSET_TYPES = frozenset(
    {"database", "schema", "table", "view", "materialized_view", "column", "directory", "file",
     # Object stores: a prefix exists only while a key is under it and has no metadata of its
     # own, and an object has an ETag and a storage class; neither is a directory or a file.
     "bucket", "prefix", "object"}
)
SAMPLE_LIMIT = 20


class AssetRecord(NamedTuple):
    """One discovered asset, as a connector reports it.

    ``qualified_name`` is the asset's identity inside its connector (``db.schema.table.column``,
    ``dir/sub/file.csv``). ``properties`` must not hold volatile values (scan or access times):
    everything here is fingerprinted.
    """

    qualified_name: str
    type: str
    name: str
    catalog: str | None = None
    schema: str | None = None
    parent: str | None = None
    size_bytes: int | None = None
    row_count: int | None = None
    properties: Mapping[str, Any] | None = None


class SourceError(RuntimeError):
    """The source could not be listed (bad credentials, missing path, missing driver).

    Permanent: the run fails at once with this message. The message must never hold a secret.
    """


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret, raw or URL-encoded, replaced by ``***``.

    Every connector kind runs its error messages through this before they leave the connector.
    """
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "***")
    return text


class TransientSourceError(SourceError):
    """A failure worth retrying with backoff: a timeout, a dropped connection, a throttled API."""


class ConnectorConfig(BaseModel):
    """Base of every connector config: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class ConnectorReport:
    """What happened during one scan: counters and capped samples of problems.

    ``failures`` are entries the connector could not read. Any failure makes the scan incomplete:
    assets under an unreadable entry were not seen, so nothing may be marked removed.
    """

    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    skipped: int = 0
    skipped_samples: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.failures == 0

    def failure(self, where: str, reason: str) -> None:
        self.failures += 1
        if len(self.failure_samples) < SAMPLE_LIMIT:
            self.failure_samples.append(f"{where}: {reason}")

    def skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_samples) < SAMPLE_LIMIT:
            self.skipped_samples.append(f"{where}: {reason}")


ConfigT = TypeVar("ConfigT", bound=ConnectorConfig)


class Connector(ABC, Generic[ConfigT]):
    """A configured source of assets. Subclasses set ``kind`` and ``config_model``."""

    kind: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]
    #: How the kind treats case in identities, stated once per kind.
    case_policy: ClassVar[str] = "case-sensitive, as the source reports it"

    def __init__(self, name: str, config: ConfigT) -> None:
        self.name = name
        self.config = config

    def expected_count(self) -> int | None:
        """A cheap estimate of how many assets a scan yields, or None when unknown."""
        return None

    def change_token(self) -> str | None:
        """A cheap value that moves when the source changes; None when the kind cannot tell.

        The change sensor compares it between ticks, so it must cost far less than a scan.
        """
        return None

    @abstractmethod
    def discover(self, report: ConnectorReport) -> Iterator[AssetRecord]:
        """Stream every asset of the source. Per-item problems go on ``report``."""
