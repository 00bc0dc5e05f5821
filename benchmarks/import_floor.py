"""Benchmark: the least any order import can cost, against the raw load of the same file.

The 1/3-of-raw target of the order import (``import_orders.py``) is only reachable if
writing the file's orders and lines into the real tables fits in three raw loads. This
script measures that floor on the same database and file as ``import_orders.py``: the
orders and lines are parsed, grouped and given their ids *before* the clock starts (no
reading, no validation, no matching, no upkeep), then only written:

(a) raw: the same raw load as ``import_orders.py`` (parse + ``executemany`` / ``COPY``
    into a plain table without indexes);
(w) writes, indexes live: every order and line written straight into ``sales_order`` and
    ``sales_orderline`` with their indexes (SQLite ``executemany``, foreign keys off;
    PostgreSQL ``COPY``, row triggers off, orders and lines on two connections at once);
(d) writes, indexes deferred: the same into the tables with every secondary index and
    unique constraint dropped, then all of them built again (PostgreSQL: the builds spread
    over two connections) — what a bulk load that may lock the tables could do, on empty
    tables, its best case;
(p) parse: the file read with the ``csv`` module into a list of rows, nothing else — the
    least reading any import of the file does (part of (a) too);
(s) start-up: ``python -m guanxi import --help`` as a whole process, the least a command
    costs before it reads a line.

Every figure is taken with the cyclic garbage collector off (the prepared rows frozen out of
its reach), as the import runs too, so that none of them pays for walking the others' rows.

Usage (from the repository root, with the project's virtualenv)::

    .venv/bin/python benchmarks/import_floor.py --backend sqlite
    .venv/bin/python benchmarks/import_floor.py --backend postgresql \\
        --database-url postgres://postgres@127.0.0.1:5432/guanxi_bench_import
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_orders import empty_database, load_customers, raw_load, write_orders  # noqa: E402

ORDER_COLUMNS = (
    "id, external_id, customer_id, ordered_at, channel, currency, total_amount, kind, "
    "reverses_id, created_at, created_by_id"
)
LINE_COLUMNS = "id, order_id, line_number, product_id, description, quantity, unit_price, amount"


def grouped(path: Path, customer_ids: dict[str, int], product_ids: dict[str, int]):
    """The file's orders and lines as rows of the two tables, ids assigned from 1."""
    now = dt.datetime.now(dt.UTC).isoformat()
    orders: list[tuple] = []
    lines: list[tuple] = []
    totals: dict[int, int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        current = None
        for number, customer, when, line, sku, quantity, price, amount in reader:
            if number != current:
                current = number
                orders.append(
                    [
                        len(orders) + 1,
                        number,
                        customer_ids[customer],
                        f"{when}:00+08:00",
                        "direct",
                        "CNY",
                        0,
                        "sale",
                        None,
                        now,
                        None,
                    ]
                )
            order = orders[-1]
            cents = int(amount.replace(".", ""))
            totals[order[0]] = totals.get(order[0], 0) + cents
            lines.append(
                (len(lines) + 1, order[0], int(line), product_ids[sku], "", quantity, price, amount)
            )
    for order in orders:
        cents = totals[order[0]]
        order[6] = f"{cents // 100}.{cents % 100:02d}"
    return [tuple(order) for order in orders], lines


def secondary_objects(cursor, vendor: str, table: str) -> list[tuple[str, str]]:
    """(name, definition) of every index and unique constraint of ``table`` but its key."""
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            [table],
        )
        return [(name, sql) for name, sql in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'u'",
        [table],
    )
    found = [
        (name, f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        for name, definition in cursor.fetchall()
    ]
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
        "AND NOT x.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        [table],
    )
    return found + list(cursor.fetchall())


def drop(cursor, vendor: str, table: str, objects: list[tuple[str, str]]) -> None:
    """Drop the secondary indexes and unique constraints found by :func:`secondary_objects`."""
    for name, definition in objects:
        if vendor != "sqlite" and definition.startswith("ALTER TABLE"):
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        else:
            cursor.execute(f"DROP INDEX {name}")


def sqlite_writes(raw, orders, lines, objects=None) -> float:
    """Seconds to write every order and line in one transaction (indexes rebuilt if given)."""
    cursor = raw.cursor()
    cursor.execute("PRAGMA foreign_keys = OFF")
    started = time.perf_counter()
    cursor.execute("BEGIN IMMEDIATE")
    if objects is not None:
        for table, found in objects.items():
            drop(cursor, "sqlite", table, found)
    cursor.executemany(
        f"INSERT INTO sales_order ({ORDER_COLUMNS}) VALUES ({','.join('?' * 11)})", orders
    )
    cursor.executemany(
        f"INSERT INTO sales_orderline ({LINE_COLUMNS}) VALUES ({','.join('?' * 8)})", lines
    )
    if objects is not None:
        for found in objects.values():
            for _name, sql in found:
                cursor.execute(sql)
    cursor.execute("COMMIT")
    seconds = time.perf_counter() - started
    cursor.execute("PRAGMA foreign_keys = ON")
    return seconds


def as_csv(rows) -> str:
    """``rows`` as CSV text for COPY: None an empty cell (NULL), "" a quoted one (empty text).

    The benchmark's cells hold no comma, quote or line break, so none needs quoting.
    """
    cell = {None: "", "": '""'}
    return "".join(
        ",".join(cell.get(value, str(value)) if value in cell else str(value) for value in row)
        + "\n"
        for row in rows
    )


def copy_rows(conn, table: str, columns: str, text: str) -> None:
    """COPY CSV ``text`` into ``table`` inside the connection's open transaction, triggers off."""
    with conn.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(text)


def on_two_connections(url: str, jobs: list) -> None:
    """Run ``jobs`` (callables taking a connection) on two connections, one commit each side.

    Every job of a side runs in that side's one transaction; both sides commit once their
    jobs are done.
    """
    import psycopg

    sides = [jobs[0::2], jobs[1::2]]
    errors: list[BaseException] = []

    def run(side):
        try:
            with psycopg.connect(url) as conn:
                for job in side:
                    job(conn)
                conn.commit()
        except BaseException as error:  # reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(side,)) for side in sides]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def postgres_writes(url: str, orders, lines, objects=None) -> float:
    """Seconds to COPY every order and line (indexes dropped and rebuilt if given)."""
    import psycopg

    order_text, line_text = as_csv(orders), as_csv(lines)
    if objects is not None:
        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            for table, found in objects.items():
                drop(cursor, "postgresql", table, found)
    started = time.perf_counter()
    on_two_connections(
        url,
        [
            lambda conn: copy_rows(conn, "sales_order", ORDER_COLUMNS, order_text),
            lambda conn: copy_rows(conn, "sales_orderline", LINE_COLUMNS, line_text),
        ],
    )
    if objects is not None:
        builds = [definition for found in objects.values() for _name, definition in found]
        on_two_connections(url, [lambda conn, sql=sql: conn.execute(sql) for sql in builds])
    return time.perf_counter() - started


def parse(path: Path) -> float:
    """Seconds to read the file into a list of rows with the ``csv`` module."""
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        deque(csv.reader(handle), maxlen=0)  # every row made, none kept (as a stream would)
    return time.perf_counter() - started


def empty_tables(vendor: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("DELETE FROM sales_orderline")
            cursor.execute("DELETE FROM sales_order")
        else:
            cursor.execute("TRUNCATE sales_orderline, sales_order")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/guanxi_bench_import"
    )
    args = parser.parse_args()

    home, env, guanxi = empty_database(args.backend, args.database_url, "guanxi-bench-floor-")
    load_customers(guanxi, env, args.customers)

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from guanxi.customers.models import Customer
    from guanxi.sales.models import Product

    customer_ids = dict(Customer.objects.values_list("external_id", "id"))
    product_ids = dict(Product.objects.values_list("sku", "id"))
    path = home / "orders.csv"
    write_orders(path, list(customer_ids), list(product_ids), args.lines, args.seed)
    orders, lines = grouped(path, customer_ids, product_ids)
    print(f"{args.backend}: {len(lines):,} lines in {len(orders):,} orders", flush=True)

    figures: dict[str, list[float]] = {
        "raw": [],
        "parse": [],
        "live": [],
        "deferred": [],
        "startup": [],
    }
    with connection.cursor() as cursor:
        objects = {
            table: secondary_objects(cursor, connection.vendor, table)
            for table in ("sales_order", "sales_orderline")
        }
    # The floor leaves out what an import could avoid: the cyclic collector walking the
    # prepared rows again and again (the import pauses it too).
    gc.collect()
    gc.freeze()
    gc.disable()
    for run in range(args.repeat):
        figures["raw"].append(raw_load(path)[1])
        figures["parse"].append(parse(path))
        for kind, dropped in (("live", None), ("deferred", objects)):
            empty_tables(connection.vendor)
            if connection.vendor == "sqlite":
                connection.ensure_connection()
                seconds = sqlite_writes(connection.connection, orders, lines, dropped)
            else:
                connection.close()
                seconds = postgres_writes(args.database_url, orders, lines, dropped)
            figures[kind].append(seconds)
        started = time.perf_counter()
        subprocess.run(
            [*guanxi, "import", "--help"], env=env, check=True, capture_output=True, cwd=ROOT
        )
        figures["startup"].append(time.perf_counter() - started)
        print(
            f"run {run + 1}: "
            + ", ".join(f"{kind} {values[-1]:.2f} s" for kind, values in figures.items()),
            flush=True,
        )

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    raw = median(figures["raw"])
    budget = 3 * raw
    print(
        f"\nmedians of {args.repeat}: raw {raw:.2f} s ({args.lines / raw:,.0f} lines/s); "
        f"budget at 1/3 of raw {budget:.2f} s"
    )
    startup, reading = median(figures["startup"]), median(figures["parse"])
    for kind in ("live", "deferred"):
        writes = median(figures[kind])
        floor = startup + reading + writes
        print(
            f"indexes {kind}: start-up {startup:.2f} s + parse {reading:.2f} s + writes "
            f"{writes:.2f} s = {floor:.2f} s = {floor / budget:.2f} of the budget; the best "
            f"ratio any import could reach {raw / floor:.2f} ({raw / writes:.2f} for the "
            f"writes alone)"
        )
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    target = out / f"import_floor_{args.backend}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(
        json.dumps(
            {
                "backend": args.backend,
                "lines": len(lines),
                "orders": len(orders),
                "seconds": figures,
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )
    print(f"figures written to {target}")


if __name__ == "__main__":
    main()
