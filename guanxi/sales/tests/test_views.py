"""Product and order pages: scope, order creation with lines, reversal instead of edit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse

from guanxi.core.models import ChangeRecord
from guanxi.sales.models import Order, Product

pytestmark = pytest.mark.django_db


def _order_post(customer_id: int, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "external_id": "WEB-TEST-1",
        "customer": customer_id,
        "ordered_at": "2026-03-01T10:30",
        "channel": "direct",
        "currency": "CNY",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "200",
    }
    data.update(extra)
    return data


def test_product_pages(client, world):
    client.force_login(world.users["sales_manager"])
    product = world.product
    for name in ("product_detail", "product_edit", "product_history"):
        response = client.get(reverse(name, args=[product.pk]))
        assert response.status_code == 200 and product.name in response.content.decode(), name
    assert product.sku in client.get(reverse("product_list")).content.decode()


def test_editing_a_product_logs_the_price_change(client, world):
    client.force_login(world.users["sales_manager"])
    product = world.product
    response = client.post(
        reverse("product_edit", args=[product.pk]),
        {"sku": product.sku, "name": product.name, "list_price": "120.5", "currency": "CNY",
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    entry = ChangeRecord.objects.for_object(product).get(action="update")
    assert entry.changes == {"list_price": ["100.00", "120.50"]}


def test_a_rep_may_see_products_but_not_edit_them(client, world):
    client.force_login(world.users["sales_rep"])
    assert client.get(reverse("product_detail", args=[world.product.pk])).status_code == 200
    assert client.get(reverse("product_edit", args=[world.product.pk])).status_code == 403
    assert client.get(reverse("product_add")).status_code == 403


def test_a_negative_price_is_shown_on_the_field(client, world):
    client.force_login(world.users["administrator"])
    response = client.post(
        reverse("product_add"), {"sku": "N-1", "name": "Neg", "list_price": "-1", "currency": "CNY"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["list_price"]
    assert not Product.objects.filter(sku="N-1").exists()


def test_order_pages_and_scope(client, world):
    client.force_login(world.users["sales_rep"])
    own = world.records_for("sales_rep")["own"].order
    detail = client.get(reverse("order_detail", args=[own.pk]))
    assert detail.status_code == 200 and own.external_id in detail.content.decode()
    assert "Widget" in detail.content.decode()  # the line's product
    assert own.external_id in client.get(reverse("order_list")).content.decode()
    other = world.records["other"].order
    for name in ("order_detail", "order_reverse", "order_history"):
        assert client.get(reverse(name, args=[other.pk])).status_code == 404, name
    with pytest.raises(NoReverseMatch):
        reverse("order_edit", args=[own.pk])


def test_creating_an_order_with_lines(client, world):
    rep = world.users["sales_rep"]
    client.force_login(rep)
    customer = world.records_for("sales_rep")["own"].customer
    form = client.get(reverse("order_add"), {"customer": customer.pk})
    assert form.status_code == 200
    response = client.post(
        reverse("order_add"),
        _order_post(
            customer.pk,
            **{
                "lines-0-product": world.product.pk,
                "lines-0-quantity": "2",
                "lines-1-description": "Installation",
                "lines-1-quantity": "1",
                "lines-1-unit_price": "50",
            },
        ),
    )
    order = Order.objects.get(external_id="WEB-TEST-1")
    assert response.url == reverse("order_detail", args=[order.pk])
    assert order.total_amount == Decimal("250.00")
    assert [line.amount for line in order.lines.all()] == [Decimal("200.00"), Decimal("50.00")]
    entry = ChangeRecord.objects.for_object(order).get()
    assert entry.action == "create" and entry.actor == rep


def test_an_order_needs_a_line_and_a_customer_in_scope(client, world):
    client.force_login(world.users["sales_rep"])
    customer = world.records_for("sales_rep")["own"].customer
    empty = client.post(reverse("order_add"), _order_post(customer.pk))
    assert empty.status_code == 200
    lines = empty.context["form"].lines
    assert lines.non_form_errors() or lines.forms[0].errors
    other = world.records["other"].customer
    foreign = client.post(
        reverse("order_add"),
        _order_post(other.pk, **{"lines-0-product": world.product.pk, "lines-0-quantity": "1"}),
    )
    assert "customer" in foreign.context["form"].errors
    assert not Order.objects.filter(external_id="WEB-TEST-1").exists()


def test_reversing_an_order_needs_a_reason(client, world):
    manager = world.users["sales_manager"]
    client.force_login(manager)
    order = world.records["team"].order
    detail = client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert reverse("order_reverse", args=[order.pk]) in detail
    missing = client.post(reverse("order_reverse", args=[order.pk]), {"reason": ""})
    assert missing.status_code == 200 and missing.context["form"].errors["reason"]
    response = client.post(reverse("order_reverse", args=[order.pk]), {"reason": "Wrong price"})
    reversal = Order.objects.get(reverses=order)
    assert response.url == reverse("order_detail", args=[reversal.pk])
    assert reversal.total_amount == -order.total_amount
    entry = ChangeRecord.objects.for_object(order).get(action="reverse")
    assert entry.changes["reason"] == [None, "Wrong price"]
    again = client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert reverse("order_reverse", args=[order.pk]) not in again


def test_a_rep_may_not_reverse(client, world):
    client.force_login(world.users["sales_rep"])
    order = world.records_for("sales_rep")["own"].order
    assert client.get(reverse("order_reverse", args=[order.pk])).status_code == 403


def test_the_customer_page_lists_recent_orders(client, world):
    client.force_login(world.users["sales_rep"])
    records = world.records_for("sales_rep")["own"]
    page = client.get(reverse("customer_detail", args=[records.customer.pk])).content.decode()
    assert records.order.external_id in page


def test_an_htmx_request_to_the_order_list_returns_the_partial(client, world):
    client.force_login(world.users["administrator"])
    response = client.get(reverse("order_list"), {"sort": "total_amount"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'id="object-table"' in body
