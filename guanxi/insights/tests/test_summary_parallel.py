"""The summary of a large base split over several connections, and the first-period spend
of many customers through a temporary table, equal the plain forms."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading

import numpy as np
import pytest
from django.db import connection

from guanxi.insights import summary
from guanxi.insights.tests.factories import START, load_log, simulated


@pytest.mark.django_db(transaction=True)  # the workers' connections see committed rows
def test_the_parallel_summary_equals_the_single_query(monkeypatch, tmp_path):
    # given customers with orders, some twice in a day (the first period's spend query)
    log = simulated(600, 364.0, seed=11)
    ids = load_log(log)
    assert len(ids) == 600
    as_of = START + dt.timedelta(days=363)
    one = summary.fetch_summary(period="D", as_of=as_of, holdout=0.25)

    # when the base counts as large and the summary runs on three connections
    monkeypatch.setattr(summary, "PARALLEL_MIN_CUSTOMERS", 0)
    monkeypatch.setattr(summary, "summary_workers", lambda: 3)
    # (the test runner's own threads never enter SQLite)
    monkeypatch.setattr(summary, "fork_is_safe", lambda: True)
    seen = tmp_path / "workers"
    original = summary._summary_rows

    def spy(*args, **kwargs):
        # A file, not a list: on SQLite the parts run in forked processes.
        with seen.open("a") as out:
            out.write(f"{os.getpid()} {threading.current_thread().name}\n")
        return original(*args, **kwargs)

    monkeypatch.setattr(summary, "_summary_rows", spy)
    parts = summary.fetch_summary(period="D", as_of=as_of, holdout=0.25)

    # then each part ran on its own connection and every array is the same, in customer order
    assert one is not None and parts is not None
    workers = seen.read_text().split("\n")[:-1]
    assert len(workers) == 3
    if connection.vendor == "sqlite":  # one part here, two in forked processes
        pids = [int(worker.split()[0]) for worker in workers]
        assert len(set(pids)) == 3 and os.getpid() in pids
    else:  # three worker threads, none of them the caller's
        assert not any(worker.endswith(threading.main_thread().name) for worker in workers)
    assert np.all(np.diff(parts.customer) > 0)
    _same(one, parts)
    assert (one.orders > one.periods).any()  # the first-period query was exercised


@pytest.mark.django_db(transaction=True)
def test_sqlite_does_not_fork_while_another_thread_runs(monkeypatch):
    # given a large base on SQLite and a thread of someone else's alive (a scheduler, a
    # request), which might hold SQLite's locks at the moment of a fork
    load_log(simulated(50, 364.0, seed=2))
    monkeypatch.setattr(summary, "PARALLEL_MIN_CUSTOMERS", 0)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="scheduler")
    other.start()
    try:
        # then forking is not safe, and SQLite keeps one query
        assert not summary.fork_is_safe()
        if connection.vendor == "sqlite":
            assert summary._customer_ranges("default") == []
    finally:
        stop.set()
        other.join()
    # while the refresh's own import thread changes nothing
    alone = summary.fork_is_safe()
    stop = threading.Event()
    imports = threading.Thread(target=stop.wait, name=summary.IMPORT_THREAD)
    imports.start()
    try:
        assert summary.fork_is_safe() == alone
    finally:
        stop.set()
        imports.join()


def test_no_fork_while_the_scheduler_is_in_the_database():
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    # given the scheduler thread inside the database (holding fork_excluded)
    inside, leave = threading.Event(), threading.Event()

    def scheduler() -> None:
        with summary.fork_excluded():
            inside.set()
            leave.wait()

    thread = threading.Thread(target=scheduler, name=summary.SCHEDULER_THREAD)
    thread.start()
    inside.wait()
    results: list[list[str]] = []
    parts = threading.Thread(target=lambda: results.append(summary._in_processes(str, [1, 2])))
    try:
        # when a summary wants to fork, then it waits until the scheduler is out
        parts.start()
        parts.join(0.5)
        assert parts.is_alive() and not results
    finally:
        leave.set()
        thread.join()
    parts.join()
    assert results == [["1", "2"]]


@pytest.mark.django_db(transaction=True)
def test_a_failing_summary_process_raises_with_its_error(monkeypatch):
    # given a part that fails in its process
    def work(argument):
        if argument == "bad":
            raise ValueError("no such column: nope")
        return argument

    if not hasattr(os, "fork"):
        pytest.skip("needs fork")

    # when the parts run side by side, then the parent raises with the child's error
    with pytest.raises(RuntimeError, match="no such column: nope"):
        summary._in_processes(work, ["good", "bad"])
    # and parts that succeed come back in order
    assert summary._in_processes(work, ["a", "b", "c"]) == ["a", "b", "c"]


def _same(one, other) -> None:
    for field in dataclasses.fields(one):
        mine, theirs = getattr(one, field.name), getattr(other, field.name)
        if isinstance(mine, np.ndarray):
            np.testing.assert_array_equal(mine, theirs, err_msg=field.name)
        else:
            assert mine == theirs, field.name


@pytest.mark.django_db
def test_the_first_period_spend_through_a_table_equals_the_id_lists(monkeypatch):
    # given customers of whom some ordered twice on a day
    load_log(simulated(400, 364.0, seed=5))
    as_of = START + dt.timedelta(days=363)
    lists = summary.fetch_summary(period="D", as_of=as_of, holdout=0.25)
    assert lists is not None and (lists.orders > lists.periods).any()

    # when the many-customers form (a temporary table joined to the orders) is used
    monkeypatch.setattr(summary, "_FIRST_PERIOD_BATCH", 0)
    table = summary.fetch_summary(period="D", as_of=as_of, holdout=0.25)

    # then every customer's first-period spend (and everything else) is the same
    assert table is not None
    _same(lists, table)


@pytest.mark.django_db
def test_many_customer_ids_through_a_table_equal_the_id_list(monkeypatch):
    # given customers with orders
    ids = load_log(simulated(300, 364.0, seed=8))
    as_of = START + dt.timedelta(days=363)
    chosen = ids[::2]
    listed = summary.fetch_summary(period="D", as_of=as_of, holdout=0.25, customer_ids=chosen)
    assert listed is not None and len(listed) == len(chosen)

    # when the ids go through the temporary table instead of an IN list
    monkeypatch.setattr(summary, "IDS_IN_LIST_MAX", 0)
    tabled = summary.fetch_summary(period="D", as_of=as_of, holdout=0.25, customer_ids=chosen)

    # then the summary is the same, and the table is gone
    assert tabled is not None
    _same(listed, tabled)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TEMPORARY TABLE "{summary.IDS_TABLE}" (c bigint)')
