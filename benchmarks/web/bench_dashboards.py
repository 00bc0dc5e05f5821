"""Benchmark: server time of each Insights dashboard (its HTMX body) for the given users.

Usage (from the repository root; the database holds the 1M demo set, see README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench GUANXI_HOME=/tmp/guanxi-bench-pg \\
        .venv/bin/python benchmarks/web/bench_dashboards.py admin sales_rep

In-process (Django's test client, logged in as each user), default filters, two requests
per dashboard (the second is the warm one); prints both times, the number of SQL statements
and the slowest two of the second request.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")

DASHBOARDS = ("overview", "value", "rfm", "ladder", "cohorts", "portfolio")


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["*"]
    for username in sys.argv[1:] or ["admin"]:
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        for name in DASHBOARDS:
            url = f"/insights/dashboards/{name}/"
            times = []
            for _ in range(2):
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url, HTTP_HX_REQUEST="true")
                times.append(time.perf_counter() - started)
            slowest = sorted((float(q["time"]) for q in queries.captured_queries), reverse=True)
            print(
                f"{username:10} {name:10} status {response.status_code} "
                f"{times[0]:.2f} s / {times[1]:.2f} s  queries {len(queries.captured_queries)}  "
                f"slowest {slowest[:2]}"
            )


if __name__ == "__main__":
    main()
