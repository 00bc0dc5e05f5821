"""Incremental upkeep on new and reversed orders; who sees insight fields; who may refresh."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from guanxi.core.permissions import Role
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update
from guanxi.insights import explain, scoring
from guanxi.insights import services as insight_services
from guanxi.insights.choices import RunStatus
from guanxi.insights.conf import refresh_settings
from guanxi.insights.models import CustomerInsight, RefreshRun
from guanxi.insights.services import insight_refresh_request, insight_refresh_run
from guanxi.insights.share import year_bounds
from guanxi.insights.summary import DatabaseSummary
from guanxi.sales.services import order_create, order_reverse


def _order(actor, customer, days_ago: int, amount: str = "50.00"):
    return order_create(
        actor=actor,
        data={
            "external_id": f"N-{customer.pk}-{days_ago}-{amount}",
            "customer": customer,
            "ordered_at": timezone.now() - dt.timedelta(days=days_ago),
        },
        lines=[{"description": "x", "quantity": 1, "unit_price": amount}],
    )


def test_new_and_reversed_orders_update_the_insight_at_once(world):
    # given a refreshed base
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))
    rep = world.users[Role.SALES_REP]
    customer = world.records_for(Role.SALES_REP)["own"].customer
    before = CustomerInsight.objects.get(customer=customer)
    assert before.order_count == 1

    # when the rep records two more orders on other days
    _order(rep, customer, days_ago=0)
    second = _order(rep, customer, days_ago=40, amount="25.00")

    # then the order-based fields are current without a refresh
    after = CustomerInsight.objects.get(customer=customer)
    assert after.order_count == 3
    assert after.total_spend == before.total_spend + Decimal("75.00")
    assert after.recency_days == 0
    assert after.last_purchase == timezone.localdate()
    assert after.frequency == 2
    assert after.ladder_stage == "client"  # three purchases: a repeat customer
    assert after.rfm_segment == before.rfm_segment  # scores wait for the next refresh

    # when one of them is reversed
    order_reverse(actor=world.users[Role.ADMINISTRATOR], order=second, reason="typo")

    # then it no longer counts
    reversed_ = CustomerInsight.objects.get(customer=customer)
    assert reversed_.order_count == 2
    assert reversed_.total_spend == before.total_spend + Decimal("50.00")
    assert reversed_.ladder_stage == "customer"


def test_an_order_creates_the_insight_of_a_customer_never_refreshed(world):
    rep = world.users[Role.SALES_REP]
    customer = world.records_for(Role.SALES_REP)["own"].customer
    assert not CustomerInsight.objects.filter(customer=customer).exists()
    _order(rep, customer, days_ago=3)
    insight = CustomerInsight.objects.get(customer=customer)
    assert insight.order_count == 2
    assert insight.first_purchase is not None and insight.recency_days is not None
    # the loyalty index goes with the count (the explanation of the stage reads it)
    assert insight.loyalty_index == pytest.approx(scoring.loyalty_indexes(np.array([2]))[0])
    assert insight.loyalty_index is not None and insight.loyalty_index > 0


def _refresh_with_an_order_meanwhile(monkeypatch, actor, customer, amount: str = "50.00"):
    """A refresh during which ``actor`` records an order of ``customer`` dated today, right
    after the summary was read; returns the run."""
    from guanxi.insights import refresh

    original = refresh.fetch_summary

    def summary_then_order(**kwargs):
        result = original(**kwargs)
        _order(actor, customer, days_ago=0, amount=amount)
        return result

    monkeypatch.setattr(refresh, "fetch_summary", summary_then_order)
    run = insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))
    monkeypatch.setattr(refresh, "fetch_summary", original)
    return run


@pytest.mark.parametrize("rebuild", [False, True])
def test_a_refresh_keeps_order_fields_updated_while_it_ran(world, monkeypatch, rebuild):
    # An order recorded after the summary was read: the swap keeps the newer figures, both
    # in the upsert (small bases) and in the rebuild without indexes (large bases).
    from guanxi.insights import refresh

    monkeypatch.setattr(refresh, "REBUILD_MIN_ROWS", 0 if rebuild else 10**9)
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))

    rep = world.users[Role.SALES_REP]
    customer = world.records_for(Role.SALES_REP)["own"].customer
    customer_update(actor=rep, customer=customer, data={"category_need": Decimal("400")})
    run = _refresh_with_an_order_meanwhile(monkeypatch, rep, customer, amount="10.00")
    assert run.status == RunStatus.SUCCEEDED, run.error
    insight = CustomerInsight.objects.get(customer=customer)
    assert insight.order_count == 2
    # the loyalty index of two orders, not the one the refresh scored from the summary's one
    assert insight.loyalty_index == pytest.approx(scoring.loyalty_indexes(np.array([2]))[0])
    assert insight.loyalty_index != pytest.approx(scoring.loyalty_indexes(np.array([1]))[0])
    # the share of customer counts the order too (with the other orders of the last year)
    start, end = year_bounds(timezone.localdate())
    spend = sum(o.total_amount for o in customer.orders.all() if start <= o.ordered_at < end)
    assert spend >= Decimal("10.00")
    assert insight.share_of_customer == pytest.approx(float(spend) / 400)
    assert not CustomerInsight.objects.exclude(refresh_run=run).exists()
    from django.db import connection

    with connection.cursor() as cursor:  # the indexes are back
        names = {i["columns"][0] for i in connection.introspection.get_constraints(
            cursor, CustomerInsight._meta.db_table).values() if i["index"]}  # fmt: skip
    assert {"clv", "rfm_segment", "ladder_stage", "p_alive"} <= names


@pytest.mark.parametrize("rebuild", [False, True])
def test_a_customer_who_ordered_while_the_refresh_ran_is_not_shown_at_risk(
    world, monkeypatch, rebuild
):
    # The summary saw only a purchase of 400 days ago (high risk by recency); the order
    # recorded meanwhile made the upkeep decide low risk. The swap keeps the upkeep's
    # P(alive) and risk with its recency, so the stored figures agree with each other.
    from guanxi.insights import refresh

    monkeypatch.setattr(refresh, "REBUILD_MIN_ROWS", 0 if rebuild else 10**9)
    rep = world.users[Role.SALES_REP]
    customer = customer_create(actor=rep, data={"name": "Dormant Ltd", "kind": "organization"})
    _order(rep, customer, days_ago=400)
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))
    assert CustomerInsight.objects.get(customer=customer).churn_risk == "high"
    run = _refresh_with_an_order_meanwhile(monkeypatch, rep, customer)
    assert run.status == RunStatus.SUCCEEDED, run.error
    insight = CustomerInsight.objects.get(customer=customer)
    assert (insight.order_count, insight.recency_days) == (2, 0)
    assert insight.churn_risk == "low"
    p_alive = np.array([np.nan if insight.p_alive is None else insight.p_alive])
    assert scoring.churn_risks(p_alive, np.array([insight.recency_days]))[0] == "low"


@pytest.fixture
def refreshed(world):
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))
    return world


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_insight_fields_come_only_with_customers_the_user_may_see(refreshed):
    rep = refreshed.users[Role.SALES_REP]
    records = refreshed.records_for(Role.SALES_REP)
    client = _api(rep)

    own = client.get(reverse("api:customer-detail", args=[records["own"].customer.pk]))
    assert own.status_code == 200
    stored = CustomerInsight.objects.get(customer=records["own"].customer)
    assert own.json()["insight"]["order_count"] == 1
    assert own.json()["insight"]["ladder_stage"] == stored.ladder_stage

    other = client.get(reverse("api:customer-detail", args=[records["other"].customer.pk]))
    assert other.status_code == 404

    # Filtering by an insight field stays within the rep's scope.
    listed = client.get(reverse("api:customer-list"), {"ladder_stage": stored.ladder_stage})
    ids = {row["id"] for row in listed.json()["results"]}
    assert ids == {records["own"].customer.pk}
    ordered = client.get(reverse("api:customer-list"), {"ordering": "-insight__total_spend"})
    assert ordered.status_code == 200


def test_customer_list_filters_and_sorts_by_insight_fields(refreshed, client):
    analyst = refreshed.users[Role.ANALYST]
    client.force_login(analyst)
    response = client.get(reverse("customer_list"), {"ladder_stage": "customer", "sort": "-clv"})
    assert response.status_code == 200
    assert "RFM segment" in response.content.decode()
    empty = client.get(reverse("customer_list"), {"ladder_stage": "advocate"})
    assert refreshed.records_for(Role.ANALYST)["own"].customer.name not in empty.content.decode()


def test_customer_page_shows_the_value_panel_with_reasons(refreshed, client):
    rep = refreshed.users[Role.SALES_REP]
    client.force_login(rep)
    customer = refreshed.records_for(Role.SALES_REP)["own"].customer
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "Customer value" in page
    insight = CustomerInsight.objects.get(customer=customer)
    assert html.escape(explain.ladder_reason(insight)) in page
    assert html.escape(explain.rfm_reason(insight)) in page
    assert "Too little data" in page


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMINISTRATOR, True),
        (Role.ANALYST, True),
        (Role.SALES_MANAGER, False),
        (Role.SALES_REP, False),
        (Role.MARKETER, False),
        (Role.READ_ONLY, False),
    ],
)
def test_refresh_now_only_for_administrators_and_analysts(world, client, role, allowed):
    client.force_login(world.users[role])
    response = client.post(reverse("insight_refresh"))
    if allowed:
        assert response.status_code == 302
        assert RefreshRun.objects.filter(status=RunStatus.QUEUED).count() == 1
    else:
        assert response.status_code == 403
        assert not RefreshRun.objects.exists()


def test_insights_page_for_managers_not_for_reps(refreshed, client):
    client.force_login(refreshed.users[Role.SALES_MANAGER])
    page = client.get(reverse("insights"))
    assert page.status_code == 200
    assert reverse("insight_refresh") not in page.content.decode()
    client.force_login(refreshed.users[Role.SALES_REP])
    assert client.get(reverse("insights")).status_code == 404


def test_a_second_refresh_is_refused_while_one_is_queued(world):
    insight_refresh_request(actor=world.users[Role.ANALYST], enqueue=False)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="already under way"):
        insight_refresh_request(actor=world.users[Role.ANALYST], enqueue=False)


def test_guanxi_analytics_refresh_runs_the_management_command(world, monkeypatch, capsys):
    from guanxi import cli

    calls = []
    monkeypatch.setattr(
        "django.core.management.execute_from_command_line", lambda args: calls.append(args)
    )
    cli.main(["analytics", "refresh", "--as-of", "2026-01-01"])
    assert calls == [["guanxi", "analytics_refresh", "--as-of", "2026-01-01"]]

    from django.core.management import call_command

    call_command("analytics_refresh")
    assert "succeeded" in capsys.readouterr().out
    assert RefreshRun.objects.get().status == RunStatus.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_queued_refresh(world, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    # given a refresh queued from the UI (the task is enqueued when the run commits)
    with django_capture_on_commit_callbacks(execute=True):
        run = insight_refresh_request(actor=world.users[Role.ANALYST])

    # when the worker runs the queued tasks
    call_command("worker", batch=True, interval=0.01)

    # then the refresh ran
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_the_bulk_upkeep_equals_the_per_customer_upkeep(world, monkeypatch):
    # given a refreshed base and new orders for every customer of the world
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))
    admin = world.users[Role.ADMINISTRATOR]
    customers = [r.customer for r in world.records.values()]
    for n, customer in enumerate(customers):
        _order(admin, customer, days_ago=3 + n % 40, amount=f"{10 + n}.50")
        _order(admin, customer, days_ago=90 + n % 7)
    ids = sorted({c.pk for c in customers})
    fields = ["customer_id", "as_of", "first_purchase", "last_purchase", "order_count",
              "total_spend", "recency_days", "frequency", "ladder_stage", "p_alive",
              "churn_risk", "loyalty_index"]  # fmt: skip
    CustomerInsight.objects.filter(customer_id__in=ids).update(order_count=0)

    # when the set-based upkeep (forced past its hand-over to the small path) writes them
    monkeypatch.setattr(insight_services, "_ID_BATCH", 0)
    assert insight_services.insight_apply_orders_bulk(customer_ids=ids) == len(ids)
    bulk = list(CustomerInsight.objects.filter(customer_id__in=ids).order_by("pk").values(*fields))
    monkeypatch.undo()

    # and the per-customer upkeep recomputes them
    insight_services.insight_apply_orders(customer_ids=ids)
    again = list(CustomerInsight.objects.filter(customer_id__in=ids).order_by("pk").values(*fields))

    # then both give every customer the same values
    assert len(bulk) == len(ids)
    assert all(row["order_count"] >= 2 for row in bulk)
    assert bulk == again


class _GivenPAlive:
    """A purchase model whose P(alive) is given (NaN: no probability for that customer)."""

    def __init__(self, p_alive: np.ndarray) -> None:
        self.p_alive = p_alive

    def probability_alive(self, x, t_x, T) -> np.ndarray:
        assert len(x) == len(self.p_alive)
        return self.p_alive.copy()


@pytest.mark.parametrize("path", ["per_customer", "bulk"])
def test_the_upkeep_decides_ladder_loyalty_and_risk_like_the_refresh(db, monkeypatch, path):
    # given customers with a model's P(alive), one of them without one (NaN), and P(alive)
    # a hair below the thresholds (it is stored, and decided, at 4 decimals)
    cases = [  # orders, days since the last purchase, P(alive), stage, churn risk
        (1, 10, 0.95, "customer", "low"),
        (5, 10, 0.5, "client", "medium"),
        (6, 10, 0.9, "client", "low"),  # loyalty 0.5
        (7, 10, 0.9, "supporter", "low"),  # loyalty 0.6
        (12, 30, 0.7, "supporter", "low"),  # loyalty 1.0, but no referrals
        (5, 400, 0.8, "churned", "low"),  # inactive: the ladder looks at recency too
        (5, 10, 0.05, "churned", "high"),
        (5, 200, np.nan, "client", "medium"),  # no P(alive): risk from recency
        (2, 400, np.nan, "churned", "high"),
        (3, 10, 0.29996, "client", "medium"),  # stored 0.3
        (4, 10, 0.099996, "client", "high"),  # stored 0.1: not churned
        (4, 10, 0.09994, "churned", "high"),  # stored 0.0999
    ]
    orders, recency, p_alive, stages, risks = (np.array(c) for c in zip(*cases, strict=True))
    orders, recency = orders.astype(np.int64), recency.astype(np.int64)
    p_alive = p_alive.astype(np.float64)
    n = len(cases)
    customers = Customer.objects.bulk_create(Customer(name=f"rule {i}") for i in range(n))
    ids = np.array([c.pk for c in customers])
    as_of = dt.date(2024, 6, 30)
    end_day = (as_of - dt.date(1970, 1, 1)).days
    last_day = end_day - recency
    summary = DatabaseSummary(
        customer=ids, first=last_day - 500, last=last_day, first_day=last_day - 500,
        last_day=last_day, periods=orders, orders=orders, spend=orders * 40.0,
        first_spend=np.full(n, 40.0), periods_cal=orders, last_cal=last_day,
        periods_holdout=np.zeros(n, np.int64), period="D", end=end_day,
        calibration_end=end_day,
    )  # fmt: skip

    # when the refresh scores them
    predictions = scoring.Predictions(p_alive, p_alive, np.full(n, 40.0), orders * 100.0)
    scores = scoring.score_rules(
        summary, predictions, refresh_settings(), end_day=end_day, credit=np.full(n, np.nan)
    )

    # and the upkeep (per customer, or set-based) recomputes them from the same summary
    monkeypatch.setattr(insight_services, "fetch_summary", lambda **kwargs: summary)
    monkeypatch.setattr(insight_services, "_current_model", lambda: (_GivenPAlive(p_alive), None))
    if path == "bulk":
        monkeypatch.setattr(insight_services, "_ID_BATCH", 0)
        insight_services.insight_apply_orders_bulk(customer_ids=ids.tolist(), as_of=as_of)
    else:
        insight_services.insight_apply_orders(customer_ids=ids.tolist(), as_of=as_of)
    rows = CustomerInsight.objects.in_bulk(ids.tolist(), field_name="customer_id")
    kept = [rows[pk] for pk in ids.tolist()]

    # then both give every customer the same ladder stage and churn risk
    assert [r.ladder_stage for r in kept] == scores.ladder.tolist()
    assert [r.churn_risk for r in kept] == scores.churn_risk.tolist()
    # and they are the rules' (a NaN P(alive) beside a model falls back to recency)
    assert scores.ladder.tolist() == stages.tolist()
    assert scores.churn_risk.tolist() == risks.tolist()
    # and the loyalty behind the stages (the upkeep keeps it only in the stage: 6 vs 7 orders)
    np.testing.assert_array_equal(scores.loyalty, np.minimum((orders - 1) / 10, 1.0))
    # and the stored P(alive) is the one both decided on
    stored = [r.p_alive for r in kept]
    assert stored[7] is None and stored[8] is None
    assert stored[9] == 0.3 and stored[10] == 0.1 and stored[11] == 0.0999
