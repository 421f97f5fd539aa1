"""What one op hands the next: small references to run-scoped tables plus counts, never rows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StagedScan:
    """discover -> dedup: the scan sits in ``stage_table``."""

    connector: str
    kind: str
    run_id: str
    stage_table: str
    diff_table: str
    batch_size: int
    discovered: int
    rejected: int
    rejected_samples: list[str]
    complete: bool
    failures: int
    failure_samples: list[str]
    skipped: int
    discover_seconds: float
    per_10k: list[dict[str, float | int]] = field(default_factory=list)


@dataclass(frozen=True)
class Difference:
    """dedup -> bulk_load: what to write sits in ``scan.diff_table``."""

    scan: StagedScan
    strategy: str
    preloaded: int
    new: int
    changed: int
    restored: int
    unchanged: int
    removed: int
    dedup_seconds: float

    @property
    def to_write(self) -> int:
        return self.new + self.changed + self.restored + self.removed


@dataclass(frozen=True)
class LoadResult:
    """bulk_load's output: what the run did to the catalog."""

    connector: str
    new: int
    changed: int
    restored: int
    unchanged: int
    removed: int
    rejected: int
    discovered: int
    written: int
    complete: bool
    dry_run: bool
    discover_seconds: float
    dedup_seconds: float
    load_seconds: float
    total_seconds: float
    seconds_per_10k: float
    assets_per_second: float
    peak_rss_mb: float
