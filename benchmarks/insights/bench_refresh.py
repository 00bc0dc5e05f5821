"""Benchmark: full insight refresh on the demo set, by stage, against a plain GROUP BY.

Usage (from the repository root; the database already holds the demo set, see README)::

    GUANXI_HOME=/tmp/gx-bench-sqlite .venv/bin/python benchmarks/insights/bench_refresh.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench_insights \\
        .venv/bin/python benchmarks/insights/bench_refresh.py

In one process, in this order: the hand-written GROUP BY (orders per customer: count, sum,
first and last order time) fetched into numpy arrays; the insight summary query fetched the
same way (``fetch_summary``); a full refresh (summary, fit, score, write, with peak memory);
the incremental upkeep (orders recorded through ``order_create`` per second, with and
without the insights hook). Prints JSON.
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", default="2026-11-23")
    parser.add_argument("--orders", type=int, default=300, help="orders for the upkeep test")
    parser.add_argument("--skip-refresh", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.db import connection

    from guanxi.insights import summary as summary_module
    from guanxi.insights.conf import refresh_settings
    from guanxi.insights.services import insight_refresh_request, insight_refresh_run

    as_of = dt.date.fromisoformat(args.as_of)
    # The machine is shared: the load average says how much the figures are worth.
    out: dict[str, object] = {"vendor": connection.vendor, "load_before": os.getloadavg()}

    # 1. The plain GROUP BY, fetched like the summary (fetchmany into numpy arrays).
    started = time.perf_counter()
    columns: list[list[object]] = [[], [], [], [], []]
    with connection.cursor() as cursor:
        cursor.execute(summary_module.plain_group_by_sql(connection.vendor))
        while rows := cursor.fetchmany(50_000):
            for i, values in enumerate(zip(*rows, strict=True)):
                columns[i].append(np.array(values, dtype=object if i >= 2 else np.float64))
    out["plain_group_by_seconds"] = round(time.perf_counter() - started, 2)
    out["plain_group_by_rows"] = int(sum(len(c) for c in columns[0]))

    # 2. The insight summary alone.
    started = time.perf_counter()
    summary = summary_module.fetch_summary(period="D", as_of=as_of, holdout=0.25)
    out["summary_seconds"] = round(time.perf_counter() - started, 2)
    out["summary_customers"] = len(summary) if summary is not None else 0
    out["summary_over_plain"] = round(out["summary_seconds"] / out["plain_group_by_seconds"], 2)

    # 3. A full refresh.
    if not args.skip_refresh:
        started = time.perf_counter()
        run = insight_refresh_run(
            run=insight_refresh_request(actor=None, enqueue=False),
            params=refresh_settings(),
            as_of=as_of,
        )
        out["refresh_seconds"] = round(time.perf_counter() - started, 2)
        out["refresh"] = {
            "status": run.status,
            "error": run.error,
            "customers": run.customers,
            "orders": run.orders,
            "model": run.chosen_model,
            "timings": run.timings,
            "comparison": [
                {k: f[k] for k in ("model", "log_likelihood", "bic", "converged")}
                for f in run.model_comparison
            ],
            "holdout": {k: run.holdout.get(k) for k in ("predicted_total", "actual_total")},
        }
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["load_after_refresh"] = os.getloadavg()

    # 4. Incremental upkeep: orders per second with and without the hook.
    out["upkeep"] = upkeep(args.orders)
    print(json.dumps(out, indent=2, default=str))


def upkeep(count: int) -> dict[str, float]:
    """Orders recorded through the service per second, with and without the insights hook."""
    from django.utils import timezone

    from guanxi.accounts.models import User
    from guanxi.core import hooks
    from guanxi.customers.models import Customer
    from guanxi.sales.services import order_create

    actor = (
        User.objects.filter(is_superuser=True).first()
        or User.objects.filter(role="administrator").first()
    )
    customers = list(Customer.objects.order_by("?")[: count * 2])
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    result = {}
    saved = list(hooks._ORDERS_CHANGED)
    for label, callbacks, part in (
        ("with_hook", saved, customers[:count]),
        ("without_hook", [], customers[count:]),
    ):
        hooks._ORDERS_CHANGED[:] = callbacks
        started = time.perf_counter()
        for i, customer in enumerate(part):
            order_create(
                actor=actor,
                data={"external_id": f"BENCH-{stamp}-{label}-{i}", "customer": customer},
                lines=[{"description": "bench", "quantity": 1, "unit_price": "10.00"}],
            )
        result[f"{label}_orders_per_second"] = round(len(part) / (time.perf_counter() - started), 1)
    hooks._ORDERS_CHANGED[:] = saved
    return result


if __name__ == "__main__":
    main()
