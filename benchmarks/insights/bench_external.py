"""Benchmark: the insight summary through DuckDB over Parquet and PySpark local, against the
database path and a plain GROUP BY on each engine, on the same orders.

Usage (from the repository root; the database holds the demo set, see README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench \\
        .venv/bin/python benchmarks/insights/bench_external.py --parquet /tmp/gx-orders

The first run exports the database's orders to Parquet in ``--parquet`` (customer external
id, time in UTC, amount, order id, reversed order id: docs/insights-scale-out.md), once;
later runs reuse the files. Then, in one process: the database's ``fetch_summary`` (and its
plain GROUP BY), DuckDB (summary and plain GROUP BY over the files), Spark ``local[N]``
(session start, summary and plain GROUP BY over the files). Each summary is mapped to
customer ids and checked equal to the database's, array for array. Prints JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _jvm_peak_mb(spark: Any) -> float | None:
    """Peak resident memory of the Spark driver JVM (local mode: the executors too)."""
    try:
        pid = spark.sparkContext._gateway.proc.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except Exception:  # not a local JVM, or no /proc
        return None
    return None


def export_parquet(folder: Path, rows_per_file: int = 1_000_000) -> dict[str, Any]:
    """Every order of the database as Parquet files in ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.db import connection

    from guanxi.customers.models import Customer
    from guanxi.sales.models import Order

    orders, customers = Order._meta.db_table, Customer._meta.db_table
    if connection.vendor == "postgresql":
        micros = "CAST(floor(date_part('epoch', o.ordered_at) * 1000000) AS bigint)"
        amount = "CAST(o.total_amount AS double precision)"
    else:
        micros = "CAST(round((julianday(o.ordered_at) - 2440587.5) * 86400000000) AS INTEGER)"
        amount = "CAST(o.total_amount AS REAL)"
    sql = (
        f"SELECT c.external_id, {micros}, {amount}, o.external_id, r.external_id "  # noqa: S608
        f'FROM "{orders}" o JOIN "{customers}" c ON c.id = o.customer_id '
        f'LEFT JOIN "{orders}" r ON r.id = o.reverses_id'
    )
    schema = pa.schema(
        [
            ("customer", pa.string()),
            ("ordered_at", pa.timestamp("us", tz="UTC")),
            ("amount", pa.float64()),
            ("order_id", pa.string()),
            ("reverses", pa.string()),
        ]
    )
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    total = files = 0
    cursor_factory = (
        connection.chunked_cursor if connection.vendor == "postgresql" else connection.cursor
    )
    with cursor_factory() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(rows_per_file):
            columns = list(zip(*rows, strict=True))
            table = pa.table(
                [
                    pa.array(col, type=field.type)
                    for col, field in zip(columns, schema, strict=True)
                ],
                schema=schema,
            )
            pq.write_table(table, folder / f"orders-{files:03d}.parquet")
            files += 1
            total += len(rows)
    size = sum(p.stat().st_size for p in folder.glob("*.parquet"))
    return {
        "rows": total,
        "files": files,
        "megabytes": round(size / 2**20, 1),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _same(external: Any, database: Any) -> bool:
    """Whether two summaries are equal array for array (spend to the cent)."""
    import numpy as np

    if external is None or database is None:
        return external is database
    names = ("customer", "first", "last", "first_day", "last_day", "periods", "orders",
             "periods_cal", "last_cal", "periods_holdout")  # fmt: skip
    equal = all(np.array_equal(getattr(external, n), getattr(database, n)) for n in names)
    repeat = database.periods > 1
    return bool(
        equal
        and np.allclose(external.spend, database.spend, rtol=0, atol=1e-6)
        and np.allclose(
            external.first_spend[repeat], database.first_spend[repeat], rtol=0, atol=1e-6
        )
        and external.calibration_end == database.calibration_end
    )


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", default="2026-11-23")
    parser.add_argument("--parquet", required=True, type=Path, help="folder of the Parquet files")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--skip", action="append", default=[], choices=["db", "duckdb", "spark"])
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.db import connection

    from guanxi.insights import summary as summary_module
    from guanxi.insights.conf import refresh_settings
    from guanxi.insights.external import Columns
    from guanxi.insights.external.duckdb_source import DuckDBSource, parquet_glob
    from guanxi.insights.external.spark_source import SparkSource, spark_session

    as_of = dt.date.fromisoformat(args.as_of)
    params = refresh_settings()
    out: dict[str, Any] = {"vendor": connection.vendor, "as_of": args.as_of}
    out["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    if not any(args.parquet.glob("*.parquet")):
        out["export"] = export_parquet(args.parquet)
    out["parquet"] = str(args.parquet)
    plain = (
        "SELECT {k}, COUNT(*), SUM(amount), MIN(ordered_at), MAX(ordered_at) FROM {t} GROUP BY {k}"
    )
    database = None

    if "db" not in args.skip:
        # The database path, as the refresh runs it, and the plain GROUP BY on the same engine.
        def db_plain() -> int:
            n = 0
            with connection.cursor() as cursor:
                cursor.execute(summary_module.plain_group_by_sql(connection.vendor))
                while rows := cursor.fetchmany(50_000):
                    n += len(rows)
            return n

        _n, out["db_plain_group_by_seconds"] = _timed(db_plain)
        database, out["db_summary_seconds"] = _timed(
            lambda: summary_module.fetch_summary(
                period=params.period, as_of=as_of, holdout=params.holdout
            )
        )
        out["customers_with_orders"] = len(database) if database is not None else 0
        out["orders_counted"] = int(database.orders.sum()) if database is not None else 0

    if "duckdb" not in args.skip:
        import duckdb

        con = duckdb.connect(":memory:")
        con.sql(f"SET threads = {args.threads}")
        files = parquet_glob(str(args.parquet)).replace("'", "''")
        con.sql(f"CREATE VIEW h AS SELECT * FROM read_parquet('{files}')")  # noqa: S608
        _t, out["duckdb_plain_group_by_seconds"] = _timed(
            lambda: con.sql(plain.format(k="customer", t="h")).to_arrow_table()
        )
        con.close()
        source = DuckDBSource(path=str(args.parquet), columns=Columns(), threads=args.threads)
        summary, out["duckdb_summary_seconds"] = _timed(lambda: source(params, as_of))
        out["duckdb_peak_mb"] = _peak_mb()
        out["duckdb_stages"] = {k: v for k, v in source.report.items() if k.endswith("seconds")}
        if database is not None:
            out["duckdb_equals_db"] = _same(summary, database)

    if "spark" not in args.skip:
        spark, out["spark_session_start_seconds"] = _timed(
            lambda: spark_session(
                args.spark_master,
                {
                    "spark.ui.enabled": "false",
                    "spark.sql.shuffle.partitions": "8",
                    "spark.driver.memory": "3g",
                    "spark.driver.host": "127.0.0.1",
                    "spark.driver.bindAddress": "127.0.0.1",
                },
            )
        )
        spark.sparkContext.setLogLevel("ERROR")
        spark.read.parquet(str(args.parquet)).createOrReplaceTempView("h")
        _t, out["spark_plain_group_by_seconds"] = _timed(
            lambda: spark.sql(plain.format(k="customer", t="h")).toArrow()
        )
        source = SparkSource(master=args.spark_master, path=str(args.parquet), session=spark)
        summary, out["spark_summary_seconds"] = _timed(lambda: source(params, as_of))
        out["spark_driver_jvm_peak_mb"] = _jvm_peak_mb(spark)
        out["spark_stages"] = {k: v for k, v in source.report.items() if k.endswith("seconds")}
        if database is not None:
            out["spark_equals_db"] = _same(summary, database)
        spark.stop()

    out["python_peak_mb"] = _peak_mb()
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out["numpy"] = np.__version__
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
