"""Benchmark: server time and SQL queries of the customer list and the customer 360 page.

Usage (from the repository root; the database holds the 1M-customer demo set, see
``benchmarks/web/README.md``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench \\
    GUANXI_HOME=/tmp/guanxi-bench-pg \\
        .venv/bin/python benchmarks/web/bench_pages.py --requests 200

Each page is requested in-process through Django's test ``Client`` (the whole middleware
stack, view, template rendering; no network) by a logged-in administrator (sees every
customer) and a sales rep (sees their own). The database connection is kept open between
requests, as ``CONN_MAX_AGE`` does in production. Pages:

* the customer list with two filters: region + ABC grade, and owner + ladder stage (the
  full page, and the HTMX partial the filter form asks for);
* the customer 360 page, cycling over a sample of the rep's customers.

After a few warm-up requests, ``--requests`` timed requests per page give the median and
p95. The SQL queries of each page are counted for a customer with one order and for the one
with the most orders (they must be equal: no query per order, contact or interaction).
Prints a table and writes JSON with ``--json``. Only reads; nothing is written except the
users' sessions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def check_migrated() -> None:
    """Stop with a clear message when the database lacks migrations of this code."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    plan = MigrationExecutor(connection).migration_plan(
        MigrationExecutor(connection).loader.graph.leaf_nodes()
    )
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan)
        sys.exit(f"The database lacks migrations ({names}): run `guanxi migrate` first.")


def timed_requests(client: Any, urls: list[str], count: int, warmup: int, **headers: Any) -> dict:
    """GET ``count`` URLs (cycling over ``urls``) after ``warmup`` untimed ones; returns the
    median, p95, min and max server time in milliseconds."""
    for i in range(warmup):
        client.get(urls[i % len(urls)], **headers)
    times: list[float] = []
    cpu: list[float] = []
    for i in range(count):
        url = urls[i % len(urls)]
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, **headers)
        elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu_started
        if response.status_code != 200:
            sys.exit(f"GET {url} answered {response.status_code}, not 200")
        times.append(elapsed * 1000)
        cpu.append(cpu_used * 1000)
    return {
        "requests": count,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
        # CPU of this process only (Python: middleware, view, templates); the database's
        # work is in the PostgreSQL process. On a shared machine, wall time minus this is
        # SQL plus waiting for a core.
        "python_cpu_median_ms": round(statistics.median(cpu), 1),
    }


def counted_queries(client: Any, url: str, **headers: Any) -> dict:
    """The SQL statements one GET of ``url`` runs: count, total and the three slowest."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, **headers)  # warm: the counted request is a repeat visit
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    if response.status_code != 200:
        sys.exit(f"GET {url} answered {response.status_code}, not 200")
    queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    slowest = sorted(queries, reverse=True)[:3]
    return {
        "queries": len(queries),
        "sql_ms": round(sum(t for t, _ in queries), 1),
        "slowest": [{"ms": round(t, 1), "sql": sql[:600]} for t, sql in slowest],
    }


def pick_customers(rep: Any, sample: int, seed: int) -> tuple[int, int, list[int]]:
    """The rep's customer with one order, the one with the most orders, and a random sample
    of the rep's customers (the 360 pages the timing cycles over)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, COUNT(o.id) FROM customers_customer c "
            "JOIN sales_order o ON o.customer_id = c.id "
            "WHERE c.owner_id = %s AND c.deleted_at IS NULL GROUP BY c.id",
            [rep.pk],
        )
        counts = cursor.fetchall()
    if not counts:
        sys.exit(f"{rep.username} owns no customer with orders: load the demo set first.")
    small = min(counts, key=lambda row: (row[1], row[0]))[0]
    big = max(counts, key=lambda row: (row[1], -row[0]))[0]
    rng = random.Random(seed)
    ids = sorted(row[0] for row in counts)
    return small, big, rng.sample(ids, min(sample, len(ids)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests per page")
    parser.add_argument("--admin", default="admin", help="username of the administrator")
    parser.add_argument("--rep", default="sales_rep", help="username of the sales rep")
    parser.add_argument("--sample", type=int, default=50, help="customers the 360 cycles over")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--region", default="California", help="province of the list filter")
    parser.add_argument("--grade", default="A", help="ABC grade of the list filter")
    parser.add_argument("--stage", default="client", help="ladder stage of the list filter")
    parser.add_argument("--only", choices=["list", "360"], help="measure one page only")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.requests < 1 or args.warmup < 0 or args.sample < 1:
        parser.error("--requests and --sample must be at least 1, --warmup at least 0")

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from guanxi.accounts.models import User
    from guanxi.customers.models import Customer

    check_migrated()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    users = {}
    for role, username in (("admin", args.admin), ("rep", args.rep)):
        try:
            users[role] = User.objects.get(username=username)
        except User.DoesNotExist:
            sys.exit(f"No user {username!r}: load the demo set (guanxi demo --size 1m) first.")
    rep = users["rep"]
    small, big, sample = pick_customers(rep, args.sample, args.seed)
    list_url = reverse("customer_list")
    lists = {
        "list: region + ABC grade": f"{list_url}?province={args.region}&abc_grade={args.grade}",
        "list: owner + ladder stage": f"{list_url}?owner={rep.pk}&ladder_stage={args.stage}",
    }

    out: dict[str, Any] = {
        "vendor": connection.vendor,
        "customers": Customer.objects.count(),
        "requests_per_page": args.requests,
        "small_customer": {"id": small, "orders": None},
        "big_customer": {"id": big, "orders": None},
        "pages": [],
    }
    from guanxi.sales.models import Order

    out["small_customer"]["orders"] = Order.objects.filter(customer_id=small).count()
    out["big_customer"]["orders"] = Order.objects.filter(customer_id=big).count()

    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "object-table"}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        if args.only in (None, "list"):
            for name, url in lists.items():
                for variant, headers in (("page", {}), ("htmx", htmx)):
                    row = {"page": name, "variant": variant, "user": role, "url": url}
                    row.update(timed_requests(client, [url], args.requests, args.warmup, **headers))
                    row.update(counted_queries(client, url, **headers))
                    out["pages"].append(row)
                    print_row(row)
        if args.only in (None, "360"):
            urls = [reverse("customer_detail", args=[pk]) for pk in sample]
            row = {"page": "customer 360", "variant": "page", "user": role, "url": urls[0]}
            row.update(timed_requests(client, urls, args.requests, args.warmup))
            for size, pk in (("small", small), ("big", big)):
                counted = counted_queries(client, reverse("customer_detail", args=[pk]))
                row[f"queries_{size}"] = counted["queries"]
                row[f"sql_ms_{size}"] = counted["sql_ms"]
                row[f"slowest_{size}"] = counted["slowest"]
            out["pages"].append(row)
            print_row(row)
    print(
        f"\n{out['customers']:,} customers on {out['vendor']}; small customer {small} "
        f"({out['small_customer']['orders']} orders), big customer {big} "
        f"({out['big_customer']['orders']} orders)"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


def print_row(row: dict) -> None:
    """One result line, with the slowest statement when the page misses 150 ms at p95."""
    queries = (
        f"{row['queries']} queries ({row['sql_ms']} ms SQL)"
        if "queries" in row
        else f"{row['queries_small']}/{row['queries_big']} queries small/big customer "
        f"({row['sql_ms_small']}/{row['sql_ms_big']} ms SQL)"
    )
    print(
        f"{row['page']:<28} {row['variant']:<5} {row['user']:<5} median {row['median_ms']:7.1f} ms"
        f"  p95 {row['p95_ms']:7.1f} ms  max {row['max_ms']:7.1f} ms"
        f"  Python CPU {row['python_cpu_median_ms']:6.1f} ms  {queries}",
        flush=True,
    )
    if row["p95_ms"] >= 150:
        slowest = row.get("slowest") or row.get("slowest_big") or []
        for query in slowest[:2]:
            print(f"    slowest {query['ms']} ms: {query['sql'][:300]}")


if __name__ == "__main__":
    main()
