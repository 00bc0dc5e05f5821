"""Benchmark: ``guanxi import orders`` on a 1,000,000-line CSV against the raw load speed.

Usage (from the repository root, with the project's virtualenv)::

    .venv/bin/python benchmarks/import_orders.py --backend sqlite
    .venv/bin/python benchmarks/import_orders.py --backend postgresql \\
        --database-url postgres://postgres@127.0.0.1:5432/guanxi_bench_import

Each run starts from an empty database (a new SQLite file in a temporary GUANXI_HOME, or
the PostgreSQL database dropped and created again), loads the customers the orders refer
to with ``guanxi demo --customers N --order-lines 0 --no-insights`` (no orders yet, so
nothing to score), writes the orders CSV (one row per
order line, 1 to 4 lines per order), then measures in the same run:

(a) raw load: parse the CSV with the ``csv`` module and insert every line into a plain
    table without indexes (SQLite ``executemany`` / PostgreSQL ``COPY``), one transaction;
(b) the whole ``guanxi import orders FILE`` process (start-up, hashing, validation,
    matching, writing orders + lines with their indexes and constraints, resume points).

It prints lines per second of both and the ratio, and writes the figures as JSON to
``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def fresh_postgres(url: str) -> None:
    """Drop and create the database named in ``url``."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def empty_database(
    backend: str, database_url: str, prefix: str
) -> tuple[Path, dict[str, str], list[str]]:
    """A new temporary GUANXI_HOME and an empty database of ``backend`` (SQLite in that home,
    or the PostgreSQL database of ``database_url`` dropped and created again), set in this
    process's environment: (home, environment, the ``guanxi`` command)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    env = {**os.environ, "GUANXI_HOME": str(home)}
    if backend == "postgresql":
        env["DATABASE_URL"] = database_url
        fresh_postgres(database_url)
    else:
        env.pop("DATABASE_URL", None)
    os.environ.clear()
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    return home, env, [sys.executable, "-m", "guanxi"]


def load_customers(guanxi: list[str], env: dict[str, str], customers: int) -> None:
    """``customers`` demo customers and products, no orders, nothing scored."""
    subprocess.run(
        [*guanxi, "demo", "--customers", str(customers), "--order-lines", "0",
         "--no-insights", "--verbosity", "0"],
        env=env, check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip


def write_orders(path: Path, customers: list[str], skus: list[str], lines: int, seed: int) -> int:
    """The orders file: returns the number of orders."""
    rng = random.Random(seed)
    written = orders = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("订单号,客户编号,下单时间,行号,产品编码,数量,单价,金额\n")
        while written < lines:
            orders += 1
            customer = customers[rng.randrange(len(customers))]
            when = f"20{rng.randint(21, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(8, 20):02d}:{rng.randint(0, 59):02d}"
            for line in range(1, min(rng.randint(1, 4), lines - written) + 1):
                quantity = rng.randint(1, 5)
                cents = rng.randint(100, 99_999)
                amount = quantity * cents
                handle.write(
                    f"B{orders:08d},{customer},{when},{line},{skus[rng.randrange(len(skus))]},"
                    f"{quantity},{cents // 100}.{cents % 100:02d},{amount // 100}.{amount % 100:02d}\n"
                )
                written += 1
    return orders


def raw_load(path: Path) -> tuple[int, float]:
    """Parse the file and insert every line into a plain table; (lines, seconds)."""
    from django.db import connection, transaction

    connection.ensure_connection()
    raw = connection.connection
    columns = "order_no, customer, ordered_at, line, sku, quantity, unit_price, amount"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_lines")
        cursor.execute(
            "CREATE TABLE bench_raw_lines (order_no varchar(100), customer varchar(100), "
            "ordered_at varchar(40), line integer, sku varchar(64), quantity numeric(12,3), "
            "unit_price numeric(14,2), amount numeric(14,2))"
        )
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle, transaction.atomic():
        reader = csv.reader(handle)
        next(reader)
        if connection.vendor == "sqlite":
            raw.executemany(
                f"INSERT INTO bench_raw_lines ({columns}) VALUES (?,?,?,?,?,?,?,?)", reader
            )
        else:
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY bench_raw_lines ({columns}) FROM STDIN") as copy,
            ):
                for row in reader:
                    copy.write_row(row)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM bench_raw_lines")
        count = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_raw_lines")
    return count, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/guanxi_bench_import"
    )
    parser.add_argument(
        "--without-orders-hook",
        action="store_true",
        help="run the imports with no orders_changed callback registered (the insights "
        "app's per-batch upkeep), to measure the import path alone",
    )
    args = parser.parse_args()

    home, env, guanxi = empty_database(args.backend, args.database_url, "guanxi-bench-import-")
    t0 = time.perf_counter()
    load_customers(guanxi, env, args.customers)
    customers_seconds = time.perf_counter() - t0

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from guanxi.customers.models import Customer
    from guanxi.sales.models import Product

    customers = list(Customer.objects.values_list("external_id", flat=True))
    skus = list(Product.objects.values_list("sku", flat=True))
    path = home / "orders.csv"
    t0 = time.perf_counter()
    orders = write_orders(path, customers, skus, args.lines, args.seed)
    print(
        f"{args.backend}: {len(customers):,} customers loaded in {customers_seconds:.1f} s; "
        f"{args.lines:,} order lines in {orders:,} orders written "
        f"({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    load_before = os.getloadavg()

    raw_lines, raw_seconds = raw_load(path)
    from django.db import connection

    connection.close()
    print(f"(a) raw parse + load: {raw_lines:,} lines in {raw_seconds:.2f} s = "
          f"{raw_lines / raw_seconds:,.0f} lines/s", flush=True)  # fmt: skip

    command = [*guanxi, "import", "orders", str(path)]
    if args.without_orders_hook:
        command = [
            sys.executable, "-c",
            "import sys, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'guanxi.settings'); django.setup(); from guanxi.core import hooks; "
            "hooks._ORDERS_CHANGED.clear(); from django.core.management import call_command; "
            "call_command('import', 'orders', sys.argv[1])", str(path),
        ]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    import_seconds = time.perf_counter() - t0
    print(done.stdout.strip())
    if done.returncode != 0:
        print(done.stderr[-2000:])
        raise SystemExit(done.returncode)
    print(f"(b) guanxi import orders (whole process): {args.lines:,} lines in "
          f"{import_seconds:.2f} s = {args.lines / import_seconds:,.0f} lines/s", flush=True)  # fmt: skip

    t0 = time.perf_counter()
    again = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    reimport_seconds = time.perf_counter() - t0
    print(again.stdout.strip())
    ratio = (args.lines / import_seconds) / (raw_lines / raw_seconds)
    load_after = os.getloadavg()
    print(f"ratio import / raw = {ratio:.2f} (target >= 0.33); re-import (all unchanged) "
          f"{reimport_seconds:.1f} s; load average {load_before[0]:.1f} -> {load_after[0]:.1f}")  # fmt: skip

    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    figures = {
        "backend": args.backend,
        "orders_hook": not args.without_orders_hook,
        "lines": args.lines,
        "orders": orders,
        "customers": len(customers),
        "raw_seconds": raw_seconds,
        "raw_lines_per_second": raw_lines / raw_seconds,
        "import_seconds": import_seconds,
        "import_lines_per_second": args.lines / import_seconds,
        "ratio": ratio,
        "reimport_seconds": reimport_seconds,
        "import_summary": done.stdout.strip(),
        "reimport_summary": again.stdout.strip(),
        "load_average": [load_before, load_after],
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    target = out / f"import_orders_{args.backend}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps(figures, indent=2))
    print(f"figures written to {target}")


if __name__ == "__main__":
    main()
