"""KPIs over dated snapshots: a hand-built scenario with known outcomes, scope, the API,
and the snapshots a refresh writes (or, failing, does not)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from guanxi.core.api.testing import api_client
from guanxi.customers.models import Customer
from guanxi.insights import kpis, refresh
from guanxi.insights.choices import RunStatus
from guanxi.insights.conf import refresh_settings
from guanxi.insights.models import CustomerInsight, InsightSnapshot
from guanxi.insights.services import insight_refresh_request, insight_refresh_run
from guanxi.insights.tests.factories import load_log, simulated
from guanxi.testing import make_user

D1, D2, D3 = dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)
START, END = dt.date(2024, 2, 1), dt.date(2024, 3, 31)
TEAM_A, TEAM_B = 1, 2

#: name: (team, first purchase, {date: (ladder stage, CLV, total spend)}).
SCENARIO: dict[str, tuple[str, str, dict[dt.date, Any]]] = {
    # customer -> client -> supporter: upgraded
    "c1": ("A", "2024-01-05", {D1: ("customer", 100, 100), D2: ("client", 150, 200),
                               D3: ("supporter", 200, 300)}),
    # client -> lapsed: lost (and a downgrade)
    "c2": ("A", "2024-01-20", {D1: ("client", 80, 300), D2: ("client", 50, 300),
                               D3: ("churned", 10, 300)}),
    # supporter -> repeat customer: downgraded, not lost
    "c3": ("A", "2023-06-01", {D1: ("supporter", 300, 1000), D2: ("supporter", 280, 1100),
                               D3: ("client", 250, 1200)}),
    # prospect -> first purchase in the period: new and upgraded
    "c4": ("B", "2024-02-10", {D1: ("prospect", None, 0), D2: ("customer", 40, 50),
                               D3: ("customer", 60, 50)}),
    # absent at the opening, first purchase in the period: new, not compared
    "c5": ("B", "2024-03-05", {D3: ("customer", 30, 80)}),
    # lapsed all along: neither lost nor in the base
    "c6": ("B", "2023-01-01", {D1: ("churned", 0, 500), D2: ("churned", 0, 500),
                               D3: ("churned", 0, 500)}),
    # loyal advocate throughout
    "c7": ("B", "2022-05-01", {D1: ("advocate", 1000, 5000), D2: ("advocate", 1000, 5200),
                               D3: ("advocate", 1100, 5400)}),
}  # fmt: skip


@pytest.fixture
def scenario(db):
    rep = make_user("kpi-rep", "sales_rep")
    other = make_user("kpi-other", "sales_rep")
    customers = {}
    rows = []
    for name, (team, first, states) in SCENARIO.items():
        customer = Customer.objects.create(name=name, owner=rep if team == "A" else other)
        customers[name] = customer
        for date, (stage, clv, spend) in states.items():
            bought = stage != "prospect"
            rows.append(
                InsightSnapshot(
                    snapshot_date=date,
                    customer=customer,
                    ladder_stage=stage,
                    rfm_segment="champions" if stage == "advocate" else "new",
                    abc_grade="A",
                    clv=None if clv is None else Decimal(clv),
                    first_purchase=dt.date.fromisoformat(first) if bought else None,
                    order_count=1 if bought else 0,
                    total_spend=Decimal(spend),
                    team_id=TEAM_A if team == "A" else TEAM_B,
                    owner_id=(rep if team == "A" else other).pk,
                    region="Zhejiang" if team == "A" else "Guangdong",
                )
            )
    InsightSnapshot.objects.bulk_create(rows)
    return customers, rep


def test_period_kpis_of_the_hand_built_scenario(scenario):
    # when the KPIs of February-March are computed over all customers
    [row] = kpis.period_kpis(Customer.objects.all(), START, END, margin=0.3)

    # then every count, rate and amount is the one built in
    assert row["opening_date"] == D1 and row["closing_date"] == D3
    assert row["customers_at_start"] == 4  # c1, c2, c3, c7
    assert (row["new"], row["new_rate"]) == (2, 0.5)  # c4, c5
    assert (row["lost"], row["lost_rate"]) == (1, 0.25)  # c2
    assert row["compared"] == 6  # all but c5
    assert (row["upgraded"], row["upgraded_rate"]) == (2, 2 / 6)  # c1, c4
    assert (row["downgraded"], row["downgraded_rate"]) == (2, 2 / 6)  # c2, c3
    assert row["active_at_end"] == 5  # c1, c3, c4, c5, c7
    assert row["spend_change"] == Decimal("930.00")
    assert row["average_profitability"] == Decimal("55.80")  # 930 x 0.3 / 5
    assert row["equity"] == Decimal("1650.00")


def test_period_kpis_by_team_and_by_segment(scenario):
    # when grouped by team
    by_team = {r["group"]: r for r in kpis.period_kpis(Customer.objects.all(), START, END,
                                                        group_by="team", margin=0.3)}  # fmt: skip

    # then each team has its own figures
    a, b = by_team[TEAM_A], by_team[TEAM_B]
    assert (a["customers_at_start"], a["new"], a["lost"], a["lost_rate"]) == (3, 0, 1, 1 / 3)
    assert (a["upgraded"], a["downgraded"], a["compared"]) == (1, 2, 3)
    assert (a["equity"], a["average_profitability"]) == (Decimal("460.00"), Decimal("60.00"))
    assert (b["customers_at_start"], b["new"], b["new_rate"], b["lost"]) == (1, 2, 2.0, 0)
    assert (b["upgraded"], b["downgraded"], b["compared"]) == (1, 0, 3)
    assert (b["equity"], b["average_profitability"]) == (Decimal("1190.00"), Decimal("53.00"))

    # and by segment the closing segment decides (c7 alone is a champion)
    by_segment = {r["group"]: r for r in kpis.period_kpis(Customer.objects.all(), START, END,
                                                           group_by="segment")}  # fmt: skip
    assert set(by_segment) == {"champions", "new"}
    assert by_segment["champions"]["equity"] == Decimal("1100.00")
    assert by_segment["new"]["equity"] == Decimal("550.00")


def test_equity_trend_and_cohort_retention(scenario):
    customers = Customer.objects.all()

    # when the trend and the cohorts of the period are computed
    trend = kpis.equity_trend(customers, START, END)
    cohorts = kpis.cohort_retention(customers, START, END)

    # then equity is summed per snapshot date in the period (D1 lies before it)
    assert [(t["date"], t["equity"]) for t in trend] == [
        (D2, Decimal("1520.00")),
        (D3, Decimal("1650.00")),
    ]
    # and the January 2024 cohort (c1, c2) is whole after one month, half after two
    january = [(c["date"], c["months_since"], c["customers"], c["retained"], c["share"])
               for c in cohorts if c["cohort"] == "2024-01"]  # fmt: skip
    assert january == [(D2, 1, 2, 2, 1.0), (D3, 2, 2, 1, 0.5)]
    # and the lapsed 2023-01 cohort (c6) retains nobody
    assert {c["share"] for c in cohorts if c["cohort"] == "2023-01"} == {0.0}


def test_kpis_count_only_the_customers_in_scope(scenario):
    customers, _rep = scenario
    team_a = Customer.objects.filter(pk__in=[customers[n].pk for n in ("c1", "c2", "c3")])

    [row] = kpis.period_kpis(team_a, START, END)

    assert (row["customers_at_start"], row["new"], row["lost"], row["upgraded"]) == (3, 0, 1, 1)
    assert row["equity"] == Decimal("460.00")


def test_no_snapshot_in_the_period_gives_no_kpis(scenario):
    assert kpis.period_kpis(Customer.objects.all(), dt.date(2025, 1, 1), dt.date(2025, 2, 1)) == []


def test_api_answers_the_kpis_of_the_users_scope(scenario):
    _customers, rep = scenario
    admin = make_user("kpi-admin", "administrator")

    # when a sales rep (own customers: c1-c3) and an administrator ask for the same period
    mine = api_client(rep).get("/api/insights/kpis/", {"start": str(START), "end": str(END)})
    everyone = api_client(admin).get(
        "/api/insights/kpis/", {"start": str(START), "end": str(END), "group_by": "region"}
    )

    # then each sees the KPIs of the customers in their scope
    assert mine.status_code == 200, mine.content
    [row] = mine.json()["groups"]
    assert (row["customers_at_start"], row["lost"], row["equity"]) == (3, 1, 460.0)
    assert everyone.status_code == 200
    regions = {r["group"]: r["equity"] for r in everyone.json()["groups"]}
    assert regions == {"Zhejiang": 460.0, "Guangdong": 1190.0}
    assert len(everyone.json()["equity_trend"]) == 4


def test_api_rejects_a_bad_period_naming_the_field(scenario):
    _customers, rep = scenario
    client = api_client(rep)

    assert "start" in client.get("/api/insights/kpis/", {"end": str(END)}).json()
    backwards = client.get("/api/insights/kpis/", {"start": str(END), "end": str(START)})
    assert backwards.status_code == 400 and "end" in backwards.json()
    assert api_client().get(
        "/api/insights/kpis/", {"start": str(START), "end": str(END)}
    ).status_code in (
        401,
        403,
    )


AS_OF = dt.date(2024, 12, 29)


def _refresh():
    run = insight_refresh_request(actor=None, enqueue=False)
    return insight_refresh_run(run=run, params=refresh_settings(), as_of=AS_OF)


def test_refresh_writes_one_snapshot_per_customer_and_a_failed_one_none(db, monkeypatch):
    # given customers with orders and prospects
    load_log(simulated(300, 364.0))
    Customer.objects.create(name="prospect without orders")

    # when a refresh succeeds
    run = _refresh()

    # then every customer has a snapshot of that date, copied from its insight row
    assert run.status == RunStatus.SUCCEEDED, run.error
    snaps = InsightSnapshot.objects.filter(snapshot_date=AS_OF)
    assert snaps.count() == Customer.objects.count()
    insight = CustomerInsight.objects.exclude(clv=None).first()
    assert insight is not None
    snap = snaps.get(customer_id=insight.customer_id)
    assert (snap.ladder_stage, snap.clv, snap.total_spend, snap.first_purchase) == (
        insight.ladder_stage, insight.clv, insight.total_spend, insight.first_purchase
    )  # fmt: skip
    assert snap.p_alive == pytest.approx(insight.p_alive)

    # when a later refresh fails after writing its snapshot, inside the swap
    original = refresh.write_snapshot

    def broken(connection, snapshot_date):
        original(connection, snapshot_date)
        raise RuntimeError("disk full")

    monkeypatch.setattr(refresh, "write_snapshot", broken)
    later = insight_refresh_run(
        run=insight_refresh_request(actor=None, enqueue=False),
        params=refresh_settings(),
        as_of=AS_OF + dt.timedelta(days=7),
    )

    # then it wrote no snapshot, and the earlier one is intact
    assert later.status == RunStatus.FAILED
    assert not InsightSnapshot.objects.filter(snapshot_date=AS_OF + dt.timedelta(days=7)).exists()
    assert InsightSnapshot.objects.filter(snapshot_date=AS_OF).count() == Customer.objects.count()


def test_old_snapshots_are_thinned_to_one_per_month():
    dates = [
        dt.date(2024, 6, 10), dt.date(2024, 6, 30), dt.date(2024, 7, 5), dt.date(2024, 7, 20),
        dt.date(2024, 9, 1), dt.date(2024, 9, 29), dt.date(2024, 10, 1), dt.date(2024, 12, 20),
    ]  # fmt: skip
    # older than 92 days before 2024-12-29 (2024-09-28): all but each month's last go
    assert refresh.snapshot_dates_to_prune(dates, dt.date(2024, 12, 29), 92) == [
        dt.date(2024, 6, 10), dt.date(2024, 7, 5), dt.date(2024, 9, 1),
    ]  # fmt: skip
    assert refresh.snapshot_dates_to_prune(dates, dt.date(2024, 12, 29), 0) == []


def test_a_refresh_thins_the_old_snapshots(db):
    # given customers and snapshots of earlier dates (two in August, one in November)
    load_log(simulated(60, 364.0))
    customer = Customer.objects.first()
    assert customer is not None
    old = [dt.date(2024, 8, 3), dt.date(2024, 8, 24), dt.date(2024, 11, 2)]
    for day in old:
        InsightSnapshot.objects.create(
            snapshot_date=day, customer=customer, ladder_stage="customer", order_count=1
        )

    # when a refresh of AS_OF (2024-12-29) succeeds
    run = _refresh()

    # then the early-August snapshot (older than 92 days, not its month's last) is gone
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert kpis.all_snapshot_dates() == [dt.date(2024, 8, 24), dt.date(2024, 11, 2), AS_OF]
    assert run.timings["write"]["snapshots_pruned"] == ["2024-08-03"]
