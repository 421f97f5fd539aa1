"""The synthetic connector: deterministic tree, exact count, controlled change and removal."""

from collections import Counter

import pytest
from pydantic import ValidationError

from asset_pipeline.connectors.base import ConnectorReport
from asset_pipeline.connectors.registry import ConnectorConfigError, build_connector
from asset_pipeline.connectors.synthetic import SyntheticError


def scan(**config):  # type: ignore[no-untyped-def]
    return list(build_connector("s", "synthetic", config).discover(ConnectorReport()))


def test_tree_shape_golden() -> None:
    records = scan(count=8, schemas_per_catalog=2, tables_per_schema=1, columns_per_table=2)
    assert [(r.qualified_name, r.type, r.parent) for r in records] == [
        ("db_0_0000", "database", None),
        ("db_0_0000.schema_000", "schema", "db_0_0000"),
        ("db_0_0000.schema_000.table_00000", "table", "db_0_0000.schema_000"),
        ("db_0_0000.schema_000.table_00000.col_00", "column", "db_0_0000.schema_000.table_00000"),
        ("db_0_0000.schema_000.table_00000.col_01", "column", "db_0_0000.schema_000.table_00000"),
        ("db_0_0000.schema_001", "schema", "db_0_0000"),
        ("db_0_0000.schema_001.table_00000", "table", "db_0_0000.schema_001"),
        ("db_0_0000.schema_001.table_00000.col_00", "column", "db_0_0000.schema_001.table_00000"),
    ]


def test_same_config_same_assets_and_exact_count() -> None:
    assert scan(count=5_000) == scan(count=5_000)
    assert len(scan(count=12_345)) == 12_345
    kinds = Counter(r.type for r in scan(count=20_000))
    assert kinds["column"] > kinds["table"] > kinds["schema"] > 0


def test_change_and_drop_shares_are_deterministic_and_proportional() -> None:
    base = {r.qualified_name: r for r in scan(count=20_000)}
    varied = scan(count=20_000, change_share=0.05, drop_share=0.02, round=2)
    assert varied == scan(count=20_000, change_share=0.05, drop_share=0.02, round=2)
    kept = {r.qualified_name: r for r in varied}
    dropped = set(base) - set(kept)
    changed = [qn for qn, r in kept.items() if r != base[qn]]
    assert 300 <= len(dropped) <= 500 and 800 <= len(changed) <= 1_200


def test_invalid_and_failing_knobs() -> None:
    assert sum(1 for r in scan(count=1_000, invalid_every=100) if r.type == "bogus") == 10
    with pytest.raises(SyntheticError, match="after 10 assets"):
        scan(count=100, fail_after=10)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConnectorConfigError, match="count: Input should be greater than 0"):
        build_connector("s", "synthetic", {"count": 0})
    with pytest.raises(ConnectorConfigError, match="colour: Extra inputs are not permitted"):
        build_connector("s", "synthetic", {"count": 1, "colour": "red"})
    with pytest.raises(ConnectorConfigError, match="known kinds: filesystem, s3, sql, synthetic"):
        build_connector("s", "oracle", {})
    with pytest.raises(ValidationError):
        from asset_pipeline.connectors.synthetic import SyntheticConfig

        SyntheticConfig(count=1, change_share=2)
