"""PostgreSQL, large bases: each refresh's snapshot is built as a table beside the snapshot
table (on a second connection, while the new insight table gets its indexes) and attached to
it in the swap. Readers see one snapshot per date, one row per customer, as before."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from guanxi.customers.models import Customer
from guanxi.insights import kpis, refresh
from guanxi.insights.choices import RunStatus
from guanxi.insights.models import CustomerInsight, InsightSnapshot
from guanxi.insights.services import insight_refresh_request, insight_refresh_run
from guanxi.insights.share import year_bounds
from guanxi.insights.tests.factories import load_log, simulated
from guanxi.sales.models import Order

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's write path"),
    # Committed rows: the snapshot is built on a second connection, which sees only those.
    pytest.mark.django_db(transaction=True),
]

AS_OF = dt.date(2024, 12, 29)


@pytest.fixture(autouse=True)
def _no_parts_of_other_tests():
    # The flush between tests empties the parts other tests attached; it does not drop them.
    with connection.cursor() as cursor:
        for attached in (True, False):
            for name in refresh._pg_snapshot_parts(cursor, attached=attached):
                cursor.execute(f'DROP TABLE "{name}"')


def _refresh(as_of: dt.date):
    run = insight_refresh_request(actor=None, enqueue=False)
    return insight_refresh_run(run=run, as_of=as_of)


def _parts(*, attached: bool) -> list[str]:
    with connection.cursor() as cursor:
        return refresh._pg_snapshot_parts(cursor, attached=attached)


def _snapshot(day: dt.date) -> list[tuple]:
    rows = InsightSnapshot.objects.filter(snapshot_date=day).order_by("customer_id")
    return list(rows.values_list("customer_id", "ladder_stage", "clv", "order_count"))


def _live() -> list[tuple]:
    rows = CustomerInsight.objects.order_by("customer_id")
    return list(rows.values_list("customer_id", "ladder_stage", "clv", "order_count"))


def test_each_refresh_attaches_its_snapshot_and_a_date_refreshed_again_keeps_one(monkeypatch):
    monkeypatch.setattr(refresh, "REBUILD_MIN_ROWS", 0)  # the large-base path
    # given customers with orders and a prospect
    ids = load_log(simulated(200, 364.0, seed=3))
    prospect = Customer.objects.create(name="prospect without orders")
    Customer.objects.filter(pk=ids[0]).update(category_need=Decimal("1000"))

    # when a refresh succeeds
    first = _refresh(AS_OF)

    # then its snapshot is a part of its own, equal to the live insights, one row each
    assert first.status == RunStatus.SUCCEEDED, first.error
    assert _parts(attached=True) == [refresh.snapshot_part_name(first)]
    assert _parts(attached=False) == []
    assert _snapshot(AS_OF) == _live()
    assert len(_snapshot(AS_OF)) == Customer.objects.count() == 201
    assert first.timings["write"]["snapshot_part_seconds"] >= 0
    # and the share of customer, computed on the second connection, is in the new table
    start, end = year_bounds(AS_OF)
    spend = sum(
        o.total_amount for o in Order.objects.filter(customer_id=ids[0])
        if start <= o.ordered_at < end
    )  # fmt: skip
    assert spend > 0
    shares = CustomerInsight.objects.exclude(share_of_customer=None)
    assert list(shares.values_list("customer_id", flat=True)) == [ids[0]]
    assert shares.get().share_of_customer == pytest.approx(float(spend) / 1000)

    # when the same date is refreshed again, then a later date
    again = _refresh(AS_OF)
    later = _refresh(AS_OF + dt.timedelta(days=7))

    # then the date keeps one snapshot (the later run's part; the earlier part is gone)
    assert again.status == later.status == RunStatus.SUCCEEDED
    assert _parts(attached=True) == sorted(
        [refresh.snapshot_part_name(again), refresh.snapshot_part_name(later)]
    )
    assert len(_snapshot(AS_OF)) == len(_snapshot(AS_OF + dt.timedelta(days=7))) == 201
    assert kpis.all_snapshot_dates() == [AS_OF, AS_OF + dt.timedelta(days=7)]
    # every id is unique across the parts (they share the snapshot table's sequence)
    ids = list(InsightSnapshot.objects.values_list("pk", flat=True))
    assert len(ids) == len(set(ids)) == 402

    # when a customer is deleted, then its rows in every part go with it
    prospect.delete()
    assert not InsightSnapshot.objects.filter(customer_id=prospect.pk).exists()
    assert InsightSnapshot.objects.count() == 400


def test_a_failed_swap_leaves_no_part_and_the_earlier_snapshot(monkeypatch):
    monkeypatch.setattr(refresh, "REBUILD_MIN_ROWS", 0)
    load_log(simulated(120, 364.0, seed=4))
    first = _refresh(AS_OF)
    before = _snapshot(AS_OF)

    # given a swap that fails after attaching the new part
    original = refresh._pg_attach_snapshot_part

    def broken(cursor, snapshot_date, name):
        original(cursor, snapshot_date, name)
        raise RuntimeError("disk full")

    monkeypatch.setattr(refresh, "_pg_attach_snapshot_part", broken)

    # when the same date is refreshed again
    failed = _refresh(AS_OF)

    # then nothing changed: the first run's part and rows, and no table left behind
    assert failed.status == RunStatus.FAILED and "disk full" in failed.error
    assert _parts(attached=True) == [refresh.snapshot_part_name(first)]
    assert _parts(attached=False) == []
    assert _snapshot(AS_OF) == before


def test_a_part_left_by_a_killed_run_is_dropped_by_the_next(monkeypatch):
    monkeypatch.setattr(refresh, "REBUILD_MIN_ROWS", 0)
    load_log(simulated(80, 364.0, seed=5))
    with connection.cursor() as cursor:  # what a run killed while building it leaves
        cursor.execute(
            f'CREATE TABLE "{refresh.SNAPSHOT_PART_PREFIX}20241229_r999" '
            f'(LIKE "{InsightSnapshot._meta.db_table}")'
        )
    assert len(_parts(attached=False)) == 1

    run = _refresh(AS_OF)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert _parts(attached=False) == []
    assert _parts(attached=True) == [refresh.snapshot_part_name(run)]


def test_an_old_part_is_dropped_when_the_snapshots_are_thinned(monkeypatch):
    monkeypatch.setattr(refresh, "REBUILD_MIN_ROWS", 0)
    load_log(simulated(80, 364.0, seed=6))
    # given parts of two August dates, the second the month's last
    early = _refresh(dt.date(2024, 8, 20))
    month_end = _refresh(dt.date(2024, 8, 31))
    assert early.status == month_end.status == RunStatus.SUCCEEDED

    # when a refresh more than 92 days later succeeds
    run = _refresh(AS_OF)

    # then the early part is gone whole, the month's last stays
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert _parts(attached=True) == sorted(
        [refresh.snapshot_part_name(month_end), refresh.snapshot_part_name(run)]
    )
    assert kpis.all_snapshot_dates() == [dt.date(2024, 8, 31), AS_OF]
