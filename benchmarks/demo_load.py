"""Benchmark: generate and bulk-load the demo company into a fresh database.

Usage (from the repository root, with the project's virtualenv)::

    .venv/bin/python benchmarks/demo_load.py --backend sqlite --size 1m
    .venv/bin/python benchmarks/demo_load.py --backend postgresql --size 1m \\
        --database-url postgres://postgres@127.0.0.1:5432/guanxi_bench

Each run starts from an empty database (a new SQLite file in a temporary GUANXI_HOME, or
the PostgreSQL database dropped and created again), applies the migrations (timed apart),
creates the demo users, then times generation + load exactly as ``guanxi demo`` does it.
It prints rows and rows/second per table and overall, and writes the figures as JSON to
``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def fresh_postgres(url: str) -> None:
    """Drop and create the database named in ``url`` (connecting to ``postgres``)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--size", default="1m")
    parser.add_argument("--customers", type=int)
    parser.add_argument("--order-lines", type=int)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/guanxi_bench")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="guanxi-bench-"))
    os.environ["GUANXI_HOME"] = str(home)
    if args.backend == "postgresql":
        os.environ["DATABASE_URL"] = args.database_url
        fresh_postgres(args.database_url)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from guanxi.demo.generator import SIZES, DemoSpec
    from guanxi.demo.loader import TABLE_LABELS, Progress, load_demo
    from guanxi.demo.users import ensure_demo_users

    customers, lines = SIZES[args.size]
    customers = args.customers or customers
    lines = args.order_lines or (lines if not args.customers else customers * 10)

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrate_seconds = time.perf_counter() - t0
    _logins, staff = ensure_demo_users()

    spec = DemoSpec(customers=customers, order_lines=lines, seed=args.seed)
    stats = load_demo(spec, staff=staff, chunk_size=args.chunk_size, progress=Progress(customers))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(stats.summary())
    print(f"{'table':<16}{'rows':>12}{'write s':>10}{'rows/s':>12}")
    for name, label in TABLE_LABELS.items():
        rows, seconds = stats.rows.get(name, 0), stats.write_seconds.get(name, 0.0)
        rate = f"{rows / seconds:,.0f}" if seconds else "-"
        print(f"{label:<16}{rows:>12,}{seconds:>10.1f}{rate:>12}")
    write_seconds = sum(stats.write_seconds.values())
    print(
        f"generate {stats.generate_seconds:.1f} s, write {write_seconds:.1f} s, "
        f"indexes/constraints/statistics {stats.finish_seconds:.1f} s, "
        f"total {stats.total_seconds:.1f} s; migrate {migrate_seconds:.1f} s; "
        f"peak memory {peak_mb:,.0f} MB"
    )

    size_bytes = None
    if connection.vendor == "sqlite":
        size_bytes = Path(connection.settings_dict["NAME"]).stat().st_size
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            size_bytes = cursor.fetchone()[0]
    result = {
        "backend": connection.vendor,
        "server_version": connection.cursor().connection.info.server_version
        if connection.vendor == "postgresql"
        else None,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "customers": customers,
        "order_lines_target": lines,
        "seed": args.seed,
        "chunk_size": args.chunk_size,
        "rows": stats.rows,
        "write_seconds": stats.write_seconds,
        "generate_seconds": stats.generate_seconds,
        "finish_seconds": stats.finish_seconds,
        "total_seconds": stats.total_seconds,
        "total_rows": stats.total_rows,
        "rows_per_second": stats.total_rows / stats.total_seconds,
        "migrate_seconds": migrate_seconds,
        "peak_memory_mb": peak_mb,
        "database_bytes": size_bytes,
    }
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"demo_load_{connection.vendor}_{customers}.json"
    target.write_text(json.dumps(result, indent=2))
    print(f"figures written to {target}")
    print(f"database size {size_bytes / 1e9:.2f} GB")
    connection.close()
    if args.keep:
        print(f"kept GUANXI_HOME {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
