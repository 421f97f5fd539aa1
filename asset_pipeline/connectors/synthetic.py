"""A deterministic load generator: catalogs / schemas / tables / columns, as many as asked.

Same config, same assets, every run. ``change_share`` and ``drop_share`` alter a deterministic
share of the assets (chosen by ``round``), so tests and benchmarks can produce changes and removals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from pydantic import Field

from asset_pipeline.connectors.base import AssetRecord, Connector, ConnectorConfig, ConnectorReport

_SCALE = 1_000_000


class SyntheticConfig(ConnectorConfig):
    count: int = Field(gt=0, le=100_000_000, description="Total number of assets to produce.")
    seed: int = Field(0, ge=0, description="Varies names and properties; same seed, same assets.")
    schemas_per_catalog: int = Field(10, gt=0, description="Schemas in each catalog.")
    tables_per_schema: int = Field(100, gt=0, description="Tables in each schema.")
    columns_per_table: int = Field(8, ge=0, description="Columns in each table.")
    change_share: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of assets whose description differs in this round."
    )
    drop_share: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of assets left out of the scan in this round."
    )
    round: int = Field(
        1, ge=1, description="Picks which assets change_share and drop_share apply to."
    )
    invalid_every: int | None = Field(
        None, gt=0, description="Every Nth asset is emitted invalid (to exercise rejection)."
    )
    fail_after: int | None = Field(
        None, ge=0, description="Raise after this many assets (to exercise a failed scan)."
    )


def _picked(index: int, salt: int, share: float) -> bool:
    """Deterministic, well-spread choice of ``share`` of all indexes."""
    if share <= 0.0:
        return False
    return ((index * 2654435761 + salt * 40503) ^ (salt * 97)) % _SCALE < share * _SCALE


class SyntheticError(RuntimeError):
    """Raised by ``fail_after``: the scan stopped part-way."""


class SyntheticConnector(Connector[SyntheticConfig]):
    kind = "synthetic"
    config_model = SyntheticConfig
    case_policy = "lower case names, generated"

    def expected_count(self) -> int:
        return self.config.count

    def change_token(self) -> str:
        """The generator's whole config: same config, same assets."""
        return hashlib.sha1(self.config.model_dump_json().encode()).hexdigest()

    def discover(self, report: ConnectorReport) -> Iterator[AssetRecord]:
        c = self.config
        count, seed = c.count, c.seed
        emitted = 0
        index = 0
        catalog_no = 0
        while emitted < count:
            catalog = f"db_{seed}_{catalog_no:04d}"
            for item in self._catalog_tree(catalog):
                if emitted >= count:
                    return
                index += 1
                if c.fail_after is not None and index > c.fail_after:
                    raise SyntheticError(f"synthetic scan stopped after {c.fail_after} assets")
                if _picked(index, c.round * 2 + 1, c.drop_share):
                    emitted += 1
                    continue
                if c.invalid_every and index % c.invalid_every == 0:
                    item = item._replace(type="bogus", qualified_name="")
                elif _picked(index, c.round * 2, c.change_share):
                    item = item._replace(properties={**(item.properties or {}), "round": c.round})
                emitted += 1
                yield item
            catalog_no += 1

    def _catalog_tree(self, catalog: str) -> Iterator[AssetRecord]:
        c = self.config
        seed = c.seed
        yield AssetRecord(catalog, "database", catalog, catalog)
        for s in range(c.schemas_per_catalog):
            schema = f"schema_{s:03d}"
            schema_qn = f"{catalog}.{schema}"
            yield AssetRecord(schema_qn, "schema", schema, catalog, schema, catalog)
            for t in range(c.tables_per_schema):
                table = f"table_{t:05d}"
                table_qn = f"{schema_qn}.{table}"
                yield AssetRecord(
                    table_qn, "table", table, catalog, schema, schema_qn, None,
                    (t * 7919 + seed) % 100_000, {"columns": c.columns_per_table},
                )
                for k in range(c.columns_per_table):
                    column = f"col_{k:02d}"
                    yield AssetRecord(
                        f"{table_qn}.{column}", "column", column, catalog, schema, table_qn,
                        None, None,
                        {"data_type": _TYPES[(k + seed) % len(_TYPES)], "ordinal": k + 1,
                         "nullable": k % 3 != 0},
                    )


_TYPES = ("bigint", "text", "timestamp", "numeric(12,2)", "boolean", "date", "jsonb", "integer")
