"""kill -9 during a 200,000-line order import, then the same command again: every line once.

Runs the real ``guanxi`` command in subprocesses against a file-based database: a new
SQLite file in a temporary GUANXI_HOME, or, when the suite runs on PostgreSQL
(``DATABASE_URL``), a separate database created and dropped by the test.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from urllib.parse import urlparse

import pytest

GUANXI = [sys.executable, "-m", "guanxi"]
LINES = 200_000


@pytest.fixture
def database_env(tmp_path):
    """Environment for subprocesses pointing at a fresh database of their own."""
    env = {**os.environ, "GUANXI_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        env.pop("DATABASE_URL", None)
        yield env
        return
    import psycopg

    parsed = urlparse(url)
    name = f"guanxi_import_kill_{uuid.uuid4().hex[:8]}"
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = parsed._replace(path=f"/{name}").geturl()
    try:
        yield env
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def shell(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [*GUANXI, "shell", "--verbosity", "0", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def committed_rows(env: dict[str, str]) -> int:
    """The last committed row of the running import, read straight from its database."""
    query = "SELECT COALESCE(MAX(last_row), 0) FROM dataio_importrun WHERE status = 'running'"
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(query).fetchone()
            return int(row[0]) if row else 0
    path = os.path.join(env["GUANXI_HOME"], "guanxi.sqlite3")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(query).fetchone()[0])
    except sqlite3.OperationalError:  # the run's table or database is not there yet
        return 0


def wait_for_commit_after(env: dict[str, str], rows: int, process: subprocess.Popen) -> int:
    """Poll until the import has committed beyond ``rows``; its new last committed row."""
    while process.poll() is None:
        now = committed_rows(env)
        if now > rows:
            return now
        time.sleep(0.02)
    raise AssertionError(f"the import ended (exit {process.returncode}) before committing")


def test_kill_9_at_random_points_then_rerun_imports_every_line_exactly_once(database_env, tmp_path):
    # given a database with customers and a 200,000-line orders file
    env = database_env
    subprocess.run(
        [*GUANXI, "demo", "--customers", "300", "--order-lines", "0", "--verbosity", "0"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    customers = shell(
        env,
        "from guanxi.customers.models import Customer;"
        "print(' '.join(Customer.objects.values_list('external_id', flat=True)))",
    ).split()
    assert len(customers) == 300
    rng = random.Random(7)
    path = tmp_path / "orders.csv"
    total = Decimal(0)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("订单号,客户编号,下单时间,行号,数量,单价,金额\n")
        written, order = 0, 0
        while written < LINES:
            order += 1
            customer = rng.choice(customers)
            when = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 09:30"
            for line in range(1, min(rng.randint(1, 4), LINES - written) + 1):
                cents = rng.randint(100, 99_999)
                amount = Decimal(cents) / 100
                total += amount
                handle.write(f"K-{order},{customer},{when},{line},1,{amount},{amount}\n")
                written += 1
    command = [*GUANXI, "import", "orders", str(path), "--chunk-size", "5000"]

    # when the import is killed three times, each time at a random moment after its process
    # has committed some rows (the import is too fast for fixed delays to land mid-run)
    committed = 0
    for _ in range(3):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        committed = wait_for_commit_after(env, committed, process)
        time.sleep(rng.uniform(0.0, 0.1))
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, "the import ended before it was killed"
        assert committed < LINES
    finished = subprocess.run(command, env=env, capture_output=True, text=True)

    # then every line is there exactly once, and the run's counts add up
    assert finished.returncode == 0, finished.stderr
    assert "200,000 rows read = 200,000 created" in finished.stdout
    counts = shell(
        env,
        "from django.db.models import Count, Sum;"
        "from guanxi.sales.models import OrderLine;"
        "from guanxi.dataio.models import ImportRun;"
        "a = OrderLine.objects.filter(order__external_id__startswith='K-')"
        ".aggregate(n=Count('id'), s=Sum('amount'));"
        "r = ImportRun.objects.filter(status='finished').latest('id');"
        "print(a['n'], a['s'], r.rows_read, r.created, r.unchanged, r.rejected)",
    ).split()
    assert int(counts[0]) == LINES
    # SQLite sums its decimal columns as floating point: compare to the cent
    assert Decimal(counts[1]).quantize(Decimal("0.01")) == total
    # one run, resumed after each kill, counted every line once
    assert list(map(int, counts[2:])) == [LINES, LINES, 0, 0]
