"""Command line: register connectors, run partitions, run the demo.

    asset-pipeline connector add NAME --kind synthetic --config '{"count": 100000}'
    asset-pipeline connector list | show NAME | enable NAME | disable NAME | remove NAME [--purge]
    asset-pipeline run NAME [--allow-mass-removal] [--dry-run] [--batch-size N]
    asset-pipeline demo
    asset-pipeline assets list [--connector C] [--type T] [...] [--cursor C] [--json] | show ID
    asset-pipeline serve [--host H] [--port P] [--cache-ttl SECONDS]
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources as package_files
from pathlib import Path
from typing import Any

from dagster import DagsterInstance
from sqlalchemy import Engine

from asset_pipeline.catalog import connectors as registry
from asset_pipeline.catalog import queries as read_path
from asset_pipeline.catalog.db import make_engine, migrate, resolve_url, safe_url
from asset_pipeline.catalog.filters import AssetFilters, parse_timestamp
from asset_pipeline.connectors.registry import CONNECTOR_KINDS, ConnectorConfigError, build_connector
from asset_pipeline.local_home import ensure_dagster_home
from asset_pipeline.pipeline.handoff import LoadResult
from asset_pipeline.pipeline.partitions import CONNECTORS_PARTITIONS


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def _engine() -> Engine:
    engine = make_engine(resolve_url())
    migrate(engine)
    return engine


def _instance() -> DagsterInstance:
    ensure_dagster_home()
    return DagsterInstance.get()


def _parse_config(raw: str | None, path: str | None) -> dict[str, Any]:
    text = Path(path).read_text() if path else (raw or "{}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--config is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CliError("--config must be a JSON object")
    return value


def register(engine: Engine, instance: DagsterInstance, name: str, kind: str,
             config: dict[str, Any], **options: Any) -> registry.ConnectorRow:
    """Validate, store and add the partition. Nothing is written when the config is invalid."""
    try:
        registry.check_name(name)
        build_connector(name, kind, config)
    except (ConnectorConfigError, registry.InvalidConnectorName) as exc:
        raise CliError(str(exc)) from None
    row = registry.add_connector(engine, name, kind, config, **options)
    if not instance.has_dynamic_partition(CONNECTORS_PARTITIONS.name, name):
        instance.add_dynamic_partitions(CONNECTORS_PARTITIONS.name, [name])
    return row


def run_partition(instance: DagsterInstance, name: str,
                  run_config: dict[str, Any] | None = None, log_level: str = "WARNING") -> LoadResult:
    """Run discover_connector for one connector in this process, recorded in ``instance``.

    The run is a regular one (outputs kept by the filesystem IO manager), so it can be
    re-executed from a failed step in the UI. ``log_level`` is the console's; the run's full log
    is in the instance either way.
    """
    from dagster import execute_job
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from asset_pipeline.pipeline.job import failure_reason

    if not instance.has_dynamic_partition(CONNECTORS_PARTITIONS.name, name):
        registry.get_connector(_engine(), name)  # unknown: raises with the known names
        instance.add_dynamic_partitions(CONNECTORS_PARTITIONS.name, [name])
    run_config = {**(run_config or {}),
                  "loggers": {"console": {"config": {"log_level": log_level}}}}
    job = ReconstructableRepository.for_module(
        "asset_pipeline.definitions", "defs"
    ).get_reconstructable_job("discover_connector")
    with execute_job(job, instance, run_config=run_config,
                     tags={"dagster/partition": name}, raise_on_error=False) as result:
        if not result.success:
            raise CliError(f"run {result.run_id} for {name!r} failed: {failure_reason(result)}")
        return result.output_for_node("bulk_load")


def _summary(result: LoadResult) -> str:
    return (
        f"{result.connector}: {result.discovered:,} discovered, {result.new:,} new, "
        f"{result.changed:,} changed, {result.restored:,} restored, {result.unchanged:,} unchanged,"
        f" {result.removed:,} removed, {result.rejected:,} rejected"
        f"{'' if result.complete else ' (scan incomplete: nothing marked removed)'}\n"
        f"  discover {result.discover_seconds:.2f} s, dedup {result.dedup_seconds:.2f} s, "
        f"load {result.load_seconds:.2f} s, total {result.total_seconds:.2f} s "
        f"({result.seconds_per_10k:.3f} s per 10K, {result.assets_per_second:,.0f} assets/s), "
        f"peak RSS {result.peak_rss_mb:.0f} MB"
    )


def _log_level(args: argparse.Namespace) -> str:
    return "INFO" if args.verbose else "WARNING"


def cmd_add(args: argparse.Namespace) -> None:
    config = _parse_config(args.config, args.config_file)
    row = register(_engine(), _instance(), args.name, args.kind, config,
                   enabled=not args.disabled, refresh_interval_seconds=args.refresh_interval,
                   replace=args.replace)
    print(f"registered connector {row.name} ({row.kind})")


def cmd_list(args: argparse.Namespace) -> None:
    engine = _engine()
    rows = registry.list_connectors(engine)
    if not rows:
        print("no connectors; add one with 'asset-pipeline connector add'")
    for row in rows:
        counts = registry.asset_counts(engine, row.name)
        state = "enabled" if row.enabled else "disabled"
        print(f"{row.name}\t{row.kind}\t{state}\t{counts.get('active', 0):,} active assets")


def cmd_show(args: argparse.Namespace) -> None:
    engine = _engine()
    row = registry.get_connector(engine, args.name)
    print(json.dumps({
        "name": row.name, "kind": row.kind, "enabled": row.enabled,
        "refresh_interval_seconds": row.refresh_interval_seconds, "config": row.config,
        "assets": registry.asset_counts(engine, row.name),
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }, indent=2))


def cmd_enable(args: argparse.Namespace) -> None:
    engine = _engine()
    row = registry.get_connector(engine, args.name)
    registry.add_connector(engine, row.name, row.kind, row.config, enabled=args.enable,
                           refresh_interval_seconds=row.refresh_interval_seconds, replace=True)
    print(f"connector {row.name} {'enabled' if args.enable else 'disabled'}")


def cmd_remove(args: argparse.Namespace) -> None:
    engine = _engine()
    try:
        deleted = registry.remove_connector(engine, args.name, purge=args.purge)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    instance = _instance()
    if instance.has_dynamic_partition(CONNECTORS_PARTITIONS.name, args.name):
        instance.delete_dynamic_partition(CONNECTORS_PARTITIONS.name, args.name)
    print(f"removed connector {args.name}" + (f" and its {deleted:,} assets" if deleted else ""))


def cmd_run(args: argparse.Namespace) -> None:
    resources: dict[str, Any] = {}
    if args.batch_size:
        resources["batching"] = {"config": {"batch_size": args.batch_size}}
    policy = {k: True for k in ("allow_mass_removal", "dry_run") if getattr(args, k)}
    if policy:
        resources["removal_policy"] = {"config": policy}
    result = run_partition(_instance(), args.name, {"resources": resources} if resources else None,
                           _log_level(args))
    print(_summary(result))


DEMO_SQL_SOURCE = """
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    status VARCHAR(20) NOT NULL DEFAULT 'new',
    total NUMERIC(12, 2)
);
CREATE VIEW IF NOT EXISTS open_orders AS
    SELECT id, customer_id, total FROM orders WHERE status <> 'done';
"""


def demo_sql_source() -> Path:
    """The demo's small SQLite database, ``<catalog home>/demo_source.db`` (created once)."""
    import sqlite3
    from contextlib import closing

    from asset_pipeline.catalog.db import default_home

    path = default_home() / "demo_source.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(DEMO_SQL_SOURCE)
    return path


def demo_connectors() -> dict[str, tuple[str, dict[str, Any]]]:
    data = package_files.files("asset_pipeline") / "demo_data"
    return {
        "demo_synthetic": ("synthetic", {"count": 100_000}),
        "demo_files": ("filesystem", {"root": str(data)}),
        "demo_sql": ("sql", {"url": f"sqlite:///{demo_sql_source()}"}),
    }


def cmd_demo(args: argparse.Namespace) -> None:
    engine, instance = _engine(), _instance()
    print(f"catalog: {safe_url(engine.url)}\ndagster home: {instance.root_directory}")
    for name, (kind, config) in demo_connectors().items():
        register(engine, instance, name, kind, config, replace=True)
    for name in demo_connectors():
        print(_summary(run_partition(instance, name, log_level=_log_level(args))))
    print("Browse the runs: dagster dev  (then open http://127.0.0.1:3000)")


def cmd_assets_list(args: argparse.Namespace) -> None:
    def moment(value: str | None, flag: str) -> Any:
        return parse_timestamp(value, flag) if value else None

    filters = AssetFilters(
        connector=args.connector, catalog=args.catalog, schema=args.schema, type=args.type,
        status=args.status, name_prefix=args.name_prefix,
        discovered_after=moment(args.discovered_after, "--discovered-after"),
        discovered_before=moment(args.discovered_before, "--discovered-before"),
    )
    page = read_path.list_assets(_engine(), filters, limit=args.limit, cursor=args.cursor,
                                 fields="full" if args.full else "minimal", total=args.total)
    data = page.as_json()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if data["items"]:
        print("id\ttype\tstatus\tdiscovered_at\tconnector\tqualified_name")
    for i in data["items"]:
        print(f"{i['id']}\t{i['type']}\t{i['status']}\t{i['discovered_at']}\t{i['connector']}\t"
              f"{i['qualified_name']}")
    if page.total is not None:
        print(f"total ({page.total_kind}): {page.total:,}")
    if page.next_cursor:
        print(f"next page: --cursor {page.next_cursor}")


def cmd_assets_show(args: argparse.Namespace) -> None:
    try:
        asset = read_path.get_asset(_engine(), args.id, history=args.history)
    except read_path.AssetNotFound as exc:
        raise CliError(str(exc)) from None
    print(json.dumps(read_path.jsonable(asset), indent=2, ensure_ascii=False))


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from asset_pipeline.api.app import create_app

    app = create_app(_engine(), cache_ttl=args.cache_ttl)
    print(f"serving the catalog API on http://{args.host}:{args.port} "
          "(GET /assets, /health; described at /openapi.json)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info" if args.verbose else
                "warning", access_log=args.verbose)


def add_read_commands(sub: Any) -> None:
    """The read path's commands: ``assets list``, ``assets show`` and ``serve``."""
    acts = sub.add_parser("assets", help="browse the catalog").add_subparsers(
        dest="action", required=True)
    ls = acts.add_parser("list", help="one page of assets, newest first")
    for flag in ("connector", "catalog", "schema", "name-prefix", "discovered-after",
                 "discovered-before"):
        ls.add_argument(f"--{flag}")
    ls.add_argument("--type", help="database, schema, table, view, column, directory, file, ...")
    ls.add_argument("--status", choices=["active", "removed"])
    ls.add_argument("--limit", type=int, default=read_path.DEFAULT_LIMIT)
    ls.add_argument("--cursor", help="the 'next page' cursor printed by the previous page")
    ls.add_argument("--full", action="store_true", help="every field and the latest change")
    ls.add_argument("--total", choices=["none", "estimate", "exact"], default="none")
    ls.add_argument("--json", action="store_true", help="the page as the HTTP API returns it")
    ls.set_defaults(func=cmd_assets_list)
    show = acts.add_parser("show", help="one asset with its connector and history")
    show.add_argument("id", type=int)
    show.add_argument("--history", type=int, default=read_path.DEFAULT_HISTORY)
    show.set_defaults(func=cmd_assets_show)

    serve = sub.add_parser("serve", help="serve the HTTP JSON API (GET /assets, /openapi.json)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--cache-ttl", type=int, metavar="SECONDS",
                       help="response cache TTL, 60-300 s, 0 for none (default "
                            "$ASSET_PIPELINE_API_CACHE_TTL or 60)")
    serve.set_defaults(func=cmd_serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asset-pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the runs' progress log (every 10,000 assets)")
    sub = parser.add_subparsers(dest="command", required=True)

    conn = sub.add_parser("connector", help="register and inspect connectors").add_subparsers(
        dest="action", required=True)
    add = conn.add_parser("add", help="validate and register a connector (adds its partition)")
    add.add_argument("name")
    add.add_argument("--kind", required=True, help=f"one of: {', '.join(sorted(CONNECTOR_KINDS))}")
    add.add_argument("--config", help="connector config as a JSON object")
    add.add_argument("--config-file", help="read the JSON config from this file")
    add.add_argument("--refresh-interval", type=int, default=86_400, metavar="SECONDS")
    add.add_argument("--disabled", action="store_true", help="register without scheduling it")
    add.add_argument("--replace", action="store_true", help="update an existing connector")
    add.set_defaults(func=cmd_add)
    conn.add_parser("list", help="registered connectors").set_defaults(func=cmd_list)
    for action, func, extra in (("show", cmd_show, {}), ("enable", cmd_enable, {"enable": True}),
                                ("disable", cmd_enable, {"enable": False})):
        p = conn.add_parser(action)
        p.add_argument("name")
        p.set_defaults(func=func, **extra)
    rm = conn.add_parser("remove", help="delete a connector and its partition")
    rm.add_argument("name")
    rm.add_argument("--purge", action="store_true", help="also delete its catalog assets")
    rm.set_defaults(func=cmd_remove)

    run = sub.add_parser("run", help="run discover_connector for one connector now")
    run.add_argument("name")
    run.add_argument("--batch-size", type=int)
    run.add_argument("--allow-mass-removal", action="store_true")
    run.add_argument("--dry-run", action="store_true")
    run.set_defaults(func=cmd_run)

    sub.add_parser("demo", help="register the demo connectors and run each").set_defaults(
        func=cmd_demo)
    add_read_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CliError, registry.ConnectorExists, registry.ConnectorNotFound, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
