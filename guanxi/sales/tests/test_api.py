"""The product and order API: scope, facts that are never edited, reversals."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.core.api.testing import api_client, results
from guanxi.core.models import ChangeRecord
from guanxi.sales.models import Order, Product

pytestmark = pytest.mark.django_db


def _order_payload(customer_pk: int, product_pk: int, external_id: str = "API-1") -> dict:
    return {
        "external_id": external_id,
        "customer": customer_pk,
        "ordered_at": "2026-03-01T10:00:00+08:00",
        "channel": "online",
        "lines": [
            {"product": product_pk, "quantity": "2", "unit_price": "10.50"},
            {"description": "Installation", "quantity": "1", "unit_price": "9", "amount": "9"},
        ],
    }


def test_everyone_reads_the_catalogue(world):
    response = api_client(world.users["read_only"]).get("/api/products/")
    assert response.status_code == 200
    (product,) = results(response)
    assert product["sku"] == "SKU-1" and product["list_price"] == "100.00"


def test_a_manager_adds_and_deactivates_a_product_with_history(world):
    client = api_client(world.users["sales_manager"])
    # when
    response = client.post(
        "/api/products/",
        {"sku": "SKU-2", "name": "Gadget", "list_price": "19.90"},
        format="json",
        HTTP_X_REQUEST_ID="req-prod-c",
    )
    # then
    assert response.status_code == 201, response.content
    product = Product.objects.get(sku="SKU-2")
    (entry,) = ChangeRecord.objects.filter(request_id="req-prod-c")
    assert entry.action == "create" and entry.changes["list_price"] == [None, "19.90"]
    # when
    response = client.patch(
        f"/api/products/{product.pk}/",
        {"is_active": False},
        format="json",
        HTTP_X_REQUEST_ID="req-prod-u",
    )
    # then
    assert response.status_code == 200 and response.json()["is_active"] is False
    (entry,) = ChangeRecord.objects.filter(request_id="req-prod-u")
    assert entry.changes == {"is_active": [True, False]}
    assert client.delete(f"/api/products/{product.pk}/").status_code == 405


def test_a_rep_may_not_change_the_catalogue(world):
    client = api_client(world.users["sales_rep"])
    product = world.product
    assert (
        client.post("/api/products/", {"sku": "X", "name": "X", "list_price": "1"}).status_code
        == 403
    )
    assert client.patch(f"/api/products/{product.pk}/", {"name": "Y"}).status_code == 403


def test_product_validation_names_the_field(world):
    client = api_client(world.users["administrator"])
    response = client.post(
        "/api/products/",
        {"sku": "SKU-1", "name": "Dup", "list_price": "-1", "currency": "yuan"},
        format="json",
    )
    assert response.status_code == 400
    assert {"sku", "list_price", "currency"} <= response.json().keys()


def test_orders_are_listed_within_the_scope(world):
    rep = world.users["sales_rep"]
    records = world.records_for("sales_rep")
    client = api_client(rep)
    assert [o["id"] for o in results(client.get("/api/orders/"))] == [records["own"].order.pk]
    body = client.get(f"/api/orders/{records['own'].order.pk}/").json()
    assert body["total_amount"] == "100.00"
    assert body["lines"][0]["quantity"] == "1.000"
    assert dt.datetime.fromisoformat(body["ordered_at"]).tzinfo is not None
    for distance in ("team", "other"):
        assert client.get(f"/api/orders/{records[distance].order.pk}/").status_code == 404


def test_create_order_with_lines_and_one_change_log_entry(world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    # when
    response = api_client(rep).post(
        "/api/orders/",
        _order_payload(customer.pk, world.product.pk),
        format="json",
        HTTP_X_REQUEST_ID="req-order-c",
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total_amount"] == "30.00" and body["kind"] == "sale"
    assert [line["amount"] for line in body["lines"]] == ["21.00", "9.00"]
    assert body["lines"][0]["description"] == "Widget"
    assert body["ordered_at"] == "2026-03-01T10:00:00+08:00"
    assert body["created_by"] == rep.pk
    (entry,) = ChangeRecord.objects.filter(request_id="req-order-c")
    assert entry.action == "create" and entry.customer_id == customer.pk
    assert entry.changes["total_amount"] == [None, "30.00"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer": "{other}"}, "customer"),
        ({"customer": 999999}, "customer"),
        ({"customer": "abc"}, "customer"),
        ({"lines": []}, "lines"),
        ({"lines": [{"quantity": "two", "unit_price": "1"}]}, "lines"),
        ({"lines": [{"product": 999999, "quantity": "1", "unit_price": "1"}]}, "lines"),
        ({"ordered_at": "yesterday"}, "ordered_at"),
        ({"external_id": ""}, "external_id"),
        ({"channel": "carrier pigeon"}, "channel"),
        ({"ordered_at": "0001-01-01T00:00:00"}, "ordered_at"),
    ],
)
def test_invalid_orders_are_400_naming_the_field(world, change, field):
    customer = world.records_for("sales_rep")["own"].customer
    payload = _order_payload(customer.pk, world.product.pk, external_id="BAD-1")
    payload.update(change)
    if payload["customer"] == "{other}":
        payload["customer"] = world.records["other"].customer.pk
    response = api_client(world.users["sales_rep"]).post("/api/orders/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Order.objects.filter(external_id="BAD-1").exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_orders_are_never_edited_or_deleted(world, method):
    admin = world.users["administrator"]
    order = world.records_for("administrator")["own"].order
    response = getattr(api_client(admin), method)(
        f"/api/orders/{order.pk}/", {"total_amount": "1"}, format="json"
    )
    assert response.status_code == 405
    assert Order.objects.get(pk=order.pk).total_amount == 100


def test_reverse_works_once(world):
    manager = world.users["sales_manager"]
    order = world.records["team"].order
    client = api_client(manager)
    # when
    response = client.post(
        f"/api/orders/{order.pk}/reverse/",
        {"reason": "duplicate import"},
        format="json",
        HTTP_X_REQUEST_ID="req-rev-1",
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "reversal" and body["reverses"] == order.pk
    assert body["total_amount"] == "-100.00" and body["lines"][0]["amount"] == "-100.00"
    assert client.get(f"/api/orders/{order.pk}/").json()["reversed_by"] == body["id"]
    (entry,) = ChangeRecord.objects.filter(request_id="req-rev-1")
    assert entry.action == "reverse" and entry.changes["reason"] == [None, "duplicate import"]
    # a second reversal, or a reversal of the reversal, is refused
    again = client.post(f"/api/orders/{order.pk}/reverse/", {"reason": "again"}, format="json")
    assert again.status_code == 400
    nested = client.post(f"/api/orders/{body['id']}/reverse/", {"reason": "x"}, format="json")
    assert nested.status_code == 400


def test_reverse_needs_a_reason_the_role_and_the_scope(world):
    manager = api_client(world.users["sales_manager"])
    team_order = world.records["team"].order
    response = manager.post(f"/api/orders/{team_order.pk}/reverse/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    other_order = world.records["other"].order
    response = manager.post(f"/api/orders/{other_order.pk}/reverse/", {"reason": "x"})
    assert response.status_code == 404
    rep = api_client(world.users["sales_rep"])
    own_order = world.records_for("sales_rep")["own"].order
    assert rep.post(f"/api/orders/{own_order.pk}/reverse/", {"reason": "x"}).status_code == 403
    assert not Order.objects.filter(kind="reversal").exists()


def test_order_filters(world):
    admin = api_client(world.users["administrator"])
    customer = world.records["other"].customer
    found = results(admin.get(f"/api/orders/?customer={customer.pk}"))
    assert [o["customer"] for o in found] == [customer.pk]
    assert results(admin.get("/api/orders/?kind=reversal")) == []
    assert len(results(admin.get("/api/orders/?ordering=total_amount"))) == Order.objects.count()
