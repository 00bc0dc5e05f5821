"""Share of customer: the last 12 months' orders over the annual category need, computed by
the refresh, kept current by new orders and by a changed need, filterable and exported."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from guanxi.core.permissions import Role
from guanxi.core.services import BulkRow
from guanxi.customers.services import customer_import_batch, customer_update
from guanxi.insights.models import CustomerInsight
from guanxi.insights.services import insight_refresh_request, insight_refresh_run
from guanxi.insights.share import year_bounds
from guanxi.sales.services import order_create, order_reverse

pytestmark = pytest.mark.django_db


def _order(actor, customer, days_ago: float, amount: str):
    return order_create(
        actor=actor,
        data={
            "external_id": f"S-{customer.pk}-{days_ago}-{amount}",
            "customer": customer,
            "ordered_at": timezone.now() - dt.timedelta(days=days_ago),
        },
        lines=[{"description": "x", "quantity": 1, "unit_price": amount}],
    )


def _share(customer) -> float | None:
    return CustomerInsight.objects.get(customer=customer).share_of_customer


def _in_window(customer) -> Decimal:
    """The customer's orders of the last 12 months (the window the share divides)."""
    start, end = year_bounds(timezone.localdate())
    return sum(
        (o.total_amount for o in customer.orders.all() if start <= o.ordered_at < end),
        Decimal(0),
    )


def _known_share(customer) -> float:
    share = _share(customer)
    assert share is not None
    return share


@pytest.fixture
def base(world):
    """The rep's customer with a need of 1,000 and orders in and out of the last 12 months
    (one reversed); the team customer without a need. Refreshed."""
    admin = world.users[Role.ADMINISTRATOR]
    customer = world.records_for(Role.SALES_REP)["own"].customer
    customer_update(actor=admin, customer=customer, data={"category_need": Decimal("1000")})
    other = world.records["team"].customer
    _order(admin, customer, 10, "200.00")
    _order(admin, customer, 200, "100.00")
    reversed_one = _order(admin, customer, 30, "50.00")
    order_reverse(actor=admin, order=reversed_one, reason="wrong customer")
    _order(admin, customer, 400, "500.00")  # older than 12 months: not counted
    _order(admin, other, 10, "300.00")
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))
    customer.refresh_from_db()
    return world, admin, customer, other


def test_the_window_is_the_last_365_local_days():
    start, end = year_bounds(dt.date(2026, 3, 1))
    assert (start.date(), end.date()) == (dt.date(2025, 3, 2), dt.date(2026, 3, 2))
    assert start.time() == end.time() == dt.time(0)


def test_a_refresh_divides_the_last_years_orders_by_the_need(base):
    _world, _admin, customer, other = base
    # the orders of the last 12 months (a reversed one and its reversal left out), over 1,000
    in_window = _in_window(customer)
    assert _share(customer) == pytest.approx(float(in_window) / 1000)
    assert float(in_window) >= 300
    # no need recorded: no share (not zero)
    assert _share(other) is None


def test_a_new_order_and_a_changed_need_update_the_share_at_once(base):
    _world, admin, customer, _other = base
    before = _known_share(customer)

    _order(admin, customer, 1, "250.00")
    assert _share(customer) == pytest.approx(before + 0.25)

    customer_update(actor=admin, customer=customer, data={"category_need": Decimal("2000")})
    assert _share(customer) == pytest.approx((before + 0.25) / 2)

    customer_update(actor=admin, customer=customer, data={"category_need": None})
    assert _share(customer) is None


def test_the_list_filters_by_share_and_the_api_and_export_carry_it(base, client):
    _world, admin, customer, _other = base
    share = _known_share(customer)
    percent = share * 100
    client.force_login(admin)

    def listed(**query):
        page = client.get(reverse("customer_list"), query)
        assert page.status_code == 200
        return {c.pk for c in page.context["page"].object_list}

    assert customer.pk in listed(share_max=f"{percent + 1:.0f}")
    assert customer.pk not in listed(share_max=f"{percent - 1:.0f}")
    assert customer.pk in listed(share_min=f"{percent - 1:.0f}")
    assert listed(share_max="100") == {customer.pk}  # customers without a need never match
    assert "Share of customer" in client.get(reverse("customer_detail", args=[customer.pk])).text

    api = APIClient()
    api.force_authenticate(admin)
    body = api.get(reverse("api:customer-detail", args=[customer.pk])).json()
    assert body["category_need"] == "1000.00"
    assert body["insight"]["share_of_customer"] == pytest.approx(share)
    bad = api.get(reverse("api:customer-list"), {"share_max": "lots"})
    assert bad.status_code == 400 and "share_max" in bad.json()

    exported = client.get(reverse("data_export", args=["customers"]), {"format": "csv"})
    text = b"".join(exported.streaming_content).decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert "category_need" in header and "insight_share_of_customer" in header


def test_an_import_batch_that_sets_a_need_gives_the_share(base):
    # given the team customer (orders, no need) after a refresh
    _world, admin, _customer, other = base
    assert _share(other) is None

    # when an import batch records its need
    results = customer_import_batch(
        actor=admin, rows=[BulkRow(data={"category_need": Decimal("600")}, pk=other.pk)]
    )

    # then its share follows within the same write
    assert [r.status for r in results] == ["updated"]
    in_window = _in_window(other)
    assert _share(other) == pytest.approx(float(in_window) / 600)


def test_an_old_order_reversed_today_does_not_lower_the_share(base):
    # given the customer's share, and an order of 13 months ago
    _world, admin, customer, _other = base
    before = _known_share(customer)
    old = _order(admin, customer, 400, "700.00")
    assert _known_share(customer) == pytest.approx(before)  # outside the window

    # when it is reversed today (the reversal is dated now, inside the window)
    order_reverse(actor=admin, order=old, reason="never delivered")

    # then neither the order nor its reversal counts: the share stays as it was
    assert _known_share(customer) == pytest.approx(before)
    assert _known_share(customer) >= 0
