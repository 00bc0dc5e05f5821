"""The summary of a large base split over several connections, and the first-period spend
of many customers through a temporary table, equal the plain forms."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import numpy as np
import pytest

from guanxi.insights import summary
from guanxi.insights.tests.factories import START, load_log, simulated


@pytest.mark.django_db(transaction=True)  # the worker threads' connections see committed rows
def test_the_parallel_summary_equals_the_single_query(monkeypatch):
    # given customers with orders, some twice in a day (the first period's spend query)
    log = simulated(600, 364.0, seed=11)
    ids = load_log(log)
    assert len(ids) == 600
    as_of = START + dt.timedelta(days=363)
    one = summary.fetch_summary(period="D", as_of=as_of, holdout=0.25)

    # when the base counts as large and the summary runs on three connections
    monkeypatch.setattr(summary, "PARALLEL_MIN_CUSTOMERS", 0)
    monkeypatch.setattr(summary, "summary_workers", lambda: 3)
    monkeypatch.setattr(summary, "PARALLEL_VENDORS", ("postgresql", "sqlite"))
    seen: list[str] = []
    original = summary._summary_rows

    def spy(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(summary, "_summary_rows", spy)
    parts = summary.fetch_summary(period="D", as_of=as_of, holdout=0.25)

    # then it ran in worker threads and every array is the same, in customer order
    assert one is not None and parts is not None
    # (one query per part, none of them on the caller's thread and connection)
    assert len(seen) == 3 and threading.main_thread().name not in seen
    assert np.all(np.diff(parts.customer) > 0)
    _same(one, parts)
    assert (one.orders > one.periods).any()  # the first-period query was exercised


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
