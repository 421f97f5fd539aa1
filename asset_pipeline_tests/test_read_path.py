"""The read path as a library, on SQLite and PostgreSQL: paging, filters, counting, detail,
the indexes behind them and migration 0003."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select

from asset_pipeline.catalog.cursor import encode_cursor
from asset_pipeline.catalog.db import downgrade, migrate
from asset_pipeline.catalog.filters import AssetFilters
from asset_pipeline.catalog.queries import get_asset, list_assets, page_query
from asset_pipeline.catalog.read_errors import AssetNotFound, InvalidCursor, InvalidQuery
from asset_pipeline.catalog.run_history import list_runs
from asset_pipeline.catalog.schema import assets, data_discovery
from asset_pipeline_tests.conftest import Pipeline
from asset_pipeline_tests.read_catalog import Filled, filled_catalog


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           pg_server: str) -> Iterator[Filled]:
    with filled_catalog(request.param, tmp_path_factory.mktemp("read")) as catalog:
        yield catalog


def walk(engine: Any, filters: AssetFilters | None = None, limit: int = 700,
         between_pages: Any = None, **options: Any) -> list[dict[str, Any]]:
    """Every item of a listing, following next_cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        page = list_assets(engine, filters, limit=limit, cursor=cursor, **options)
        assert len(page.items) <= limit
        items += page.items
        pages += 1
        if page.next_cursor is None:
            return items
        assert len(page.items) == limit  # a short page is the last one
        if between_pages:
            between_pages(pages)
        cursor = page.next_cursor


def test_walking_every_page_sees_each_asset_once_newest_first(filled: Filled) -> None:
    expected = filled.rows()
    assert len(expected) > 10_000
    seen = walk(filled.engine, limit=97)
    assert [i["id"] for i in seen] == [r["id"] for r in expected]
    keys = [(i["discovered_at"], i["id"]) for i in seen]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    # One load stamps all its rows with one time: the id tie-breaker orders them.
    assert Counter(i["discovered_at"] for i in seen)[filled.syn_loaded_at] == 10_000


def test_paging_stays_exact_while_loads_run(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", {"count": 10_000})
    pipeline.run("syn")
    engine = pipeline.engine
    with engine.connect() as conn:
        before = set(conn.scalars(select(assets.c.id)))
    late: set[int] = set()

    def load(page: int) -> None:
        if page == 2:  # a new connector's first load
            pipeline.add("late", "synthetic", {"count": 3_000, "seed": 1})
            pipeline.run("late")
            with engine.connect() as conn:
                late.update(conn.scalars(select(assets.c.id).where(assets.c.connector == "late")))
        elif page == 4:  # the paged connector changes and loses assets
            pipeline.add("syn", "synthetic", {"count": 10_000, "change_share": 0.05,
                                              "drop_share": 0.03, "round": 2})
            pipeline.run("syn")
        elif page == 6:  # a long load that stamped its rows before paging began commits now
            with engine.begin() as conn:
                conn.execute(insert(assets).values(
                    connector="slow", qualified_name="t", name="t", type="table",
                    fingerprint="f", status="active", last_run_id="r",
                    discovered_at=datetime(2000, 1, 1, tzinfo=UTC),
                    updated_at=datetime(2000, 1, 1, tzinfo=UTC)))

    seen = [i["id"] for i in walk(engine, limit=1_000, between_pages=load)]
    counts = Counter(seen)
    assert max(counts.values()) == 1  # nothing repeated
    assert before <= set(seen)  # nothing that existed when paging began is skipped
    assert len(late) == 3_000 and not late & set(seen)  # newer loads sort before the cursor
    with engine.connect() as conn:
        removed = conn.scalar(select(assets.c.id).where(assets.c.status == "removed").limit(1))
    assert removed in seen


def _matches(row: dict[str, Any], f: AssetFilters) -> bool:
    return all((
        f.connector in (None, row["connector"]), f.catalog in (None, row["catalog"]),
        f.schema in (None, row["schema"]), f.type in (None, row["type"]),
        f.status in (None, row["status"]),
        f.name_prefix is None or row["name"].startswith(f.name_prefix),
        f.discovered_after is None or row["discovered_at"] >= f.discovered_after,
        f.discovered_before is None or row["discovered_at"] < f.discovered_before,
    ))


FILTER_CASES = {
    "connector": AssetFilters(connector="files"),
    "catalog": AssetFilters(catalog="db_0_0001"),
    "schema": AssetFilters(schema="schema_003"),
    "catalog+schema": AssetFilters(catalog="db_0_0000", schema="schema_003"),
    "type": AssetFilters(type="table"),
    "status removed": AssetFilters(status="removed"),
    "status active": AssetFilters(status="active"),
    "prefix _ is literal": AssetFilters(name_prefix="a_"),
    "prefix % is literal": AssetFilters(name_prefix="a%"),
    "prefix is case-sensitive": AssetFilters(name_prefix="A"),
    "prefix non-ASCII": AssetFilters(name_prefix="ü"),
    "prefix within connector": AssetFilters(connector="syn", name_prefix="table_0001"),
    "connector+type+status": AssetFilters(connector="syn", type="column", status="removed"),
}


@pytest.mark.parametrize("case", list(FILTER_CASES))
def test_each_filter_pages_exactly_its_assets(filled: Filled, case: str) -> None:
    f = FILTER_CASES[case]
    everything = filled.rows()
    expected = [r["id"] for r in everything if _matches(r, f)]
    assert 0 < len(expected) < len(everything)  # the filter really filters
    assert [i["id"] for i in walk(filled.engine, f, limit=300)] == expected


def test_discovered_window_filters(filled: Filled) -> None:
    files_at = filled.files_loaded_at
    after = walk(filled.engine, AssetFilters(discovered_after=files_at))
    assert {i["connector"] for i in after} == {"files"}
    before = walk(filled.engine, AssetFilters(discovered_before=files_at))
    assert {i["connector"] for i in before} == {"syn"} and len(before) == 10_000
    window = AssetFilters(discovered_after=filled.syn_loaded_at,
                          discovered_before=filled.syn_loaded_at + timedelta(microseconds=1))
    assert len(walk(filled.engine, window, limit=1_000)) == 10_000
    assert list_assets(filled.engine, AssetFilters(connector="nobody")).items == []


def test_counting_none_estimate_exact(filled: Filled) -> None:
    rows = filled.rows()
    page = list_assets(filled.engine, limit=5)
    assert (page.total, page.total_kind) == (None, "none")
    exact = list_assets(filled.engine, AssetFilters(type="table"), total="exact")
    assert (exact.total, exact.total_kind) == (sum(r["type"] == "table" for r in rows), "exact")
    estimate = list_assets(filled.engine, total="estimate")
    if filled.engine.dialect.name == "postgresql":
        assert estimate.total_kind == "estimate"  # planner statistics, not a count
        assert abs(estimate.total - len(rows)) <= 0.1 * len(rows)  # type: ignore[operator]
        by_connector = list_assets(filled.engine, AssetFilters(connector="files"),
                                   total="estimate")
        assert by_connector.total is not None and by_connector.total < 1_000
    else:
        assert (estimate.total, estimate.total_kind) == (len(rows), "exact")


def test_full_fields_carry_properties_and_the_latest_change(filled: Filled) -> None:
    minimal = list_assets(filled.engine, AssetFilters(connector="syn"), limit=1_000)
    assert set(minimal.items[0]) == {"id", "connector", "qualified_name", "name", "type",
                                     "status", "discovered_at"}
    page = list_assets(filled.engine, AssetFilters(connector="syn"), limit=1_000, fields="full")
    assert [i["id"] for i in page.items] == [i["id"] for i in minimal.items]
    with filled.engine.connect() as conn:
        d = data_discovery.c
        latest: dict[int, str] = {}
        for asset_id, status in conn.execute(select(d.asset_id, d.status).order_by(d.id)):
            latest[asset_id] = status
    assert {i["latest_change"]["status"] for i in page.items} >= {"new", "changed", "removed"}
    for item in page.items:
        assert item["latest_change"]["status"] == latest[item["id"]]
        assert item["properties"] is None or isinstance(item["properties"], dict)
    assert json.dumps(page.as_json())  # JSON-ready


def test_asset_detail_by_id_and_by_name(filled: Filled) -> None:
    with filled.engine.connect() as conn:
        d = data_discovery.c
        changed = conn.scalar(select(d.asset_id).where(d.status == "changed").limit(1))
    detail = get_asset(filled.engine, changed)
    assert [h["status"] for h in detail["history"]] == ["changed", "new"]
    assert detail["history_truncated"] is False
    assert detail["connector_info"]["kind"] == "synthetic"
    assert detail["properties"]["round"] == 2  # the change the second run made
    same = get_asset(filled.engine, connector="syn", qualified_name=detail["qualified_name"])
    assert same == detail
    short = get_asset(filled.engine, changed, history=1)
    assert [h["status"] for h in short["history"]] == ["changed"] and short["history_truncated"]
    with pytest.raises(AssetNotFound, match="no asset with id 999999999"):
        get_asset(filled.engine, 999_999_999)
    with pytest.raises(AssetNotFound, match="'nope' in connector 'syn'"):
        get_asset(filled.engine, connector="syn", qualified_name="nope")
    with pytest.raises(InvalidQuery):
        get_asset(filled.engine)
    with pytest.raises(InvalidQuery):
        get_asset(filled.engine, changed, history=-1)


def _tamper(cursor: str) -> str:
    body, sig = cursor.split(".")
    flipped = body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:]
    return f"{flipped}.{sig}"


def test_bad_inputs_are_refused_with_a_message(
    filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = filled.engine
    cursor = list_assets(e, AssetFilters(connector="syn"), limit=10).next_cursor
    assert cursor is not None
    bad: list[tuple[dict[str, Any], str]] = [
        ({"cursor": _tamper(cursor)}, "cursor is invalid"),
        ({"cursor": cursor.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAA"}, "cursor is invalid"),
        ({"cursor": "not a cursor"}, "cursor is"),
        ({"cursor": cursor, "filters": AssetFilters(connector="files")}, "another query"),
        ({"cursor": cursor, "filters": AssetFilters()}, "another query"),
        ({"cursor": encode_cursor(["x", 1], "elsewhere")}, "another query"),
        ({"limit": 0}, "limit must be"), ({"limit": 1001}, "limit must be"),
        ({"fields": "everything"}, "fields must be"), ({"total": "maybe"}, "total must be"),
        ({"filters": AssetFilters(status="gone")}, "status must be one of active, removed"),
        ({"filters": AssetFilters(type="tabel")}, "type must be one of"),
        ({"filters": AssetFilters(connector="")}, "connector must be 1 to"),
        ({"filters": AssetFilters(discovered_after=datetime(2030, 1, 1, tzinfo=UTC),
                                  discovered_before=datetime(2020, 1, 1, tzinfo=UTC))},
         "discovered_after must be earlier"),
        ({"filters": AssetFilters(discovered_after=datetime(2030, 1, 1))}, "time zone"),
    ]
    for kwargs, message in bad:
        kwargs.setdefault("filters", AssetFilters(connector="syn"))
        filters = kwargs.pop("filters")
        with pytest.raises(InvalidQuery, match=message):
            list_assets(e, filters, **kwargs)
    with pytest.raises(InvalidCursor):
        list_assets(e, AssetFilters(connector="syn"), cursor=_tamper(cursor))
    monkeypatch.setenv("ASSET_PIPELINE_CURSOR_SECRET", "another server's key")
    with pytest.raises(InvalidCursor, match="cursor is invalid"):
        list_assets(e, AssetFilters(connector="syn"), cursor=cursor)


def test_runs_are_listed_newest_first_with_a_cursor(filled: Filled) -> None:
    runs, cursor = list_runs(filled.engine, "syn", limit=1)
    assert runs[0]["new"] == 0 and runs[0]["removed"] > 0 and cursor is not None
    older, last = list_runs(filled.engine, "syn", limit=1, cursor=cursor)
    assert older[0]["new"] == 10_000 and last is None
    with pytest.raises(InvalidCursor, match="another query"):
        list_runs(filled.engine, "files", cursor=cursor)


#: filter -> the index a page halfway down must range-scan (in the page order, no sort).
#: Sparse values, so that the planner prefers the filter's own index to the general one
#: (for a dense value, walking the general index and filtering is as cheap, and PostgreSQL
#: rightly picks either).
PLAN_CASES = {
    "none": (AssetFilters(), "ix_assets_discovered_at_id"),
    "connector": (AssetFilters(connector="files"), "ix_assets_connector_discovered"),
    "type": (AssetFilters(type="schema"), "ix_assets_type_discovered_at_id"),
    "catalog": (AssetFilters(catalog="db_0_0001"), "ix_assets_catalog_discovered_at_id"),
    "removed": (AssetFilters(status="removed"), "ix_assets_removed_discovered"),
}


def _plan(engine: Any, query: Any, settings: tuple[str, ...] = ()) -> str:
    with engine.begin() as conn:
        compiled = query.compile(dialect=conn.dialect)
        if conn.dialect.name == "sqlite":
            params = tuple(compiled.params[k] for k in compiled.positiontup)
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
            return "\n".join(str(r[-1]) for r in rows)
        for setting in settings:
            conn.exec_driver_sql(f"SET LOCAL {setting} = off")
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).all()
        return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize("case", list(PLAN_CASES))
def test_a_deep_page_is_one_index_range_scan(filled: Filled, case: str) -> None:
    f, index = PLAN_CASES[case]
    matching = [r for r in filled.rows() if _matches(r, f)]
    middle = matching[len(matching) // 2]
    deep = (middle["discovered_at"], middle["id"])
    plan = _plan(filled.engine, page_query(f, filled.engine.dialect.name, deep, "minimal", 51),
                 ("enable_seqscan", "enable_sort", "enable_bitmapscan"))
    assert index in plan, plan
    if filled.engine.dialect.name == "sqlite":  # two seeks: the cursor's timestamp, then older
        assert "discovered_at=? AND id" in plan and "discovered_at<?)" in plan, plan
        assert "SCAN assets" not in plan, plan
    else:  # the keyset is where the index scan starts, not a filter over skipped rows
        assert "Sort" not in plan and "Index Cond" in plan and "ROW(discovered_at, id) <" in plan


def test_name_prefix_is_an_index_range_whatever_the_collation(filled: Filled) -> None:
    f = AssetFilters(name_prefix="a_")
    plan = _plan(filled.engine, page_query(f, filled.engine.dialect.name, None, "minimal", 51),
                 ("enable_seqscan", "enable_bitmapscan"))
    assert "ix_assets_name_connector" in plan, plan
    if filled.engine.dialect.name == "postgresql":
        assert "~>=~ 'a_'" in plan and "~<~ 'a`'" in plan, plan  # byte-order range
    else:
        assert "name>? AND name<?" in plan, plan


def test_latest_change_is_joined_for_the_page_only(filled: Filled) -> None:
    if filled.engine.dialect.name == "sqlite":
        # The page is limited first (a co-routine over the index); data_discovery is only
        # searched through its index for the page's rows, never scanned.
        plan = _plan(filled.engine, page_query(AssetFilters(), "sqlite", None, "full", 51))
        assert "CO-ROUTINE page" in plan and "SEARCH data_discovery" in plan, plan
        assert "SCAN data_discovery" not in plan, plan
        return
    with filled.engine.connect() as conn:
        query = page_query(AssetFilters(), "postgresql", None, "full", 51)
        compiled = query.compile(dialect=conn.dialect)
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}",
                                    compiled.params).scalar()

    def limits(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if node["Node Type"] == "Limit":
            yield node
        for child in node.get("Plans", []):
            yield from limits(child)

    def relations(node: dict[str, Any]) -> set[str]:
        found = {node["Relation Name"]} if "Relation Name" in node else set()
        for child in node.get("Plans", []):
            found |= relations(child)
        return found

    root = plan[0]["Plan"]
    pages = [node for node in limits(root) if "assets" in relations(node)]
    assert len(pages) == 1  # the page is cut before data_discovery is read
    assert relations(pages[0]) == {"assets"} and "data_discovery" in relations(root)


def test_migration_0003_upgrades_and_downgrades(engine: Any) -> None:
    def names() -> set[str]:
        return {ix["name"] for ix in inspect(engine).get_indexes("assets")}

    assert {"ix_assets_discovered_at_id", "ix_assets_name_connector"} <= names()
    downgrade(engine, "0002")
    assert {"ix_assets_discovered_at", "ix_assets_catalog", "ix_assets_type"} <= names()
    assert "ix_assets_name_connector" not in names()
    migrate(engine)
    assert "ix_assets_discovered_at" not in names()
    assert "ix_discovery_runs_finished_at" in {
        ix["name"] for ix in inspect(engine).get_indexes("discovery_runs")}
