"""kill -9 during a refresh leaves the previous results intact and readable.

Everything runs in subprocesses against a real database of its own (a SQLite file in a
temporary GUANXI_HOME, or a separate PostgreSQL database when DATABASE_URL is PostgreSQL):
the first process loads customers, refreshes once, starts a second refresh and is killed
with SIGKILL while that refresh holds its swap transaction open (the rows written, not yet
committed); a second process then reads the results.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

SCRIPT = r"""
import os, sys, time, json
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
import django
django.setup()
from django.core.management import call_command
from guanxi.insights import refresh
from guanxi.insights.conf import refresh_settings
from guanxi.insights.models import CustomerInsight
from guanxi.insights.services import insight_refresh_request, insight_refresh_run
from guanxi.insights.tests.factories import load_log, simulated
import datetime as dt

mode, ready = sys.argv[1], sys.argv[2]
as_of = dt.date(2024, 12, 29)

def snapshots():
    from guanxi.insights.models import InsightSnapshot
    rows = InsightSnapshot.objects.filter(snapshot_date=as_of).order_by("customer_id")
    return [[str(v) for v in row] for row in rows.values_list("customer_id", "ladder_stage", "clv")]

if mode == "kill":
    call_command("migrate", verbosity=0)
    load_log(simulated(400, 364.0, seed=11))
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False), as_of=as_of)
    rows = list(CustomerInsight.objects.order_by("pk").values_list("pk", "refresh_run_id", "clv", "ladder_stage"))
    with open(ready + ".before", "w") as handle:
        json.dump([[str(v) for v in row] for row in rows], handle)
    with open(ready + ".snapshots", "w") as handle:
        json.dump(snapshots(), handle)
    def swap_then_hang(connection, run, guard, staged, snapshot_part=None):
        from django.db import transaction
        with transaction.atomic():
            # (on PostgreSQL the snapshot table built beside is attached here)
            refresh.swap_rows(connection, guard, staged, snapshot_date=run.as_of, snapshot_part=snapshot_part)
            open(ready, "w").close()
            time.sleep(120)

    # The large-base path (indexes dropped, table emptied and refilled) is the riskiest one.
    refresh.REBUILD_MIN_ROWS = 0
    refresh._swap = swap_then_hang
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False), params=refresh_settings(margin=0.9), as_of=as_of)
else:
    rows = list(CustomerInsight.objects.order_by("pk").values_list("pk", "refresh_run_id", "clv", "ladder_stage"))
    from guanxi.insights.models import RefreshRun
    current = list(RefreshRun.objects.filter(is_current=True).values_list("pk", flat=True))
    print(json.dumps({"rows": [[str(v) for v in row] for row in rows], "current": current, "snapshots": snapshots()}))
"""


def _database_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["GUANXI_HOME"] = str(tmp_path)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        parsed = urlparse(url)
        name = f"{parsed.path.lstrip('/')}_insights_kill_{os.getpid()}"
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = parsed._replace(path=f"/{name}").geturl()
    else:
        env.pop("DATABASE_URL", None)
    return env


def _drop_database(env: dict[str, str]) -> None:
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        parsed = urlparse(url)
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')


def test_kill_9_during_the_swap_leaves_previous_results(tmp_path):
    env = _database_env(tmp_path)
    ready = tmp_path / "ready"
    root = Path(__file__).resolve().parents[3]
    try:
        # given a refresh whose process is killed inside its swap transaction
        process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, "kill", str(ready)], env=env, cwd=root
        )
        deadline = time.monotonic() + 180
        while not ready.exists():
            assert process.poll() is None, "the refresh process ended before the swap"
            assert time.monotonic() < deadline, "the refresh never reached the swap"
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

        # when another process reads the results
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, "read", str(ready)],
            env=env, cwd=root, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip

        # then they are exactly those of the first refresh, which is still current
        data = json.loads(result.stdout.strip().splitlines()[-1])
        before = json.loads(Path(str(ready) + ".before").read_text())
        assert data["rows"] == before
        assert len(before) == 400
        assert data["current"] == [int(before[0][1])]
        # and so is the snapshot of that date (one row per customer)
        assert data["snapshots"] == json.loads(Path(str(ready) + ".snapshots").read_text())
        assert len(data["snapshots"]) == 400
    finally:
        _drop_database(env)
