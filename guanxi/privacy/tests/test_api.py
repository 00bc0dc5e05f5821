"""The privacy erase endpoint: administrators only, with a reason, within the scope."""

from __future__ import annotations

import pytest

from guanxi.core.api.testing import api_client
from guanxi.core.models import ChangeRecord, ErasureRecord
from guanxi.customers import services
from guanxi.customers.models import Customer
from guanxi.sales.models import Order

pytestmark = pytest.mark.django_db


def test_an_administrator_erases_a_customer_with_a_reason(world):
    admin = world.users["administrator"]
    customer = world.records["other"].customer
    services.customer_update(actor=world.south_rep, customer=customer, data={"city": "Xiamen"})
    # when
    response = api_client(admin).post(
        f"/api/customers/{customer.pk}/erase/",
        {"reason": "GDPR request #42"},
        format="json",
        HTTP_X_REQUEST_ID="req-erase-1",
    )
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["subject_type"] == "customer" and body["subject_id"] == str(customer.pk)
    assert body["reason"] == "GDPR request #42" and body["request_id"] == "req-erase-1"
    erased = Customer.objects.get(pk=customer.pk)
    assert erased.erased_at is not None and erased.email == ""
    assert Order.objects.filter(customer=customer).exists()  # the facts stay
    (entry,) = ChangeRecord.objects.filter(customer_id=customer.pk)
    assert entry.action == "erase" and entry.request_id == "req-erase-1"
    assert ErasureRecord.objects.count() == 1


def test_erase_needs_a_reason(world):
    customer = world.records["other"].customer
    response = api_client(world.users["administrator"]).post(
        f"/api/customers/{customer.pk}/erase/", {"reason": "  "}, format="json"
    )
    assert response.status_code == 400 and "reason" in response.json()
    assert Customer.objects.get(pk=customer.pk).erased_at is None


@pytest.mark.parametrize("role", ["sales_manager", "sales_rep", "analyst"])
def test_only_administrators_erase(world, role):
    customer = world.records_for(role)["own"].customer
    response = api_client(world.users[role]).post(
        f"/api/customers/{customer.pk}/erase/", {"reason": "asked"}, format="json"
    )
    assert response.status_code == 403
    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_erasing_an_unknown_customer_is_404(world):
    response = api_client(world.users["administrator"]).post(
        "/api/customers/999999/erase/", {"reason": "asked"}, format="json"
    )
    assert response.status_code == 404
    assert not ErasureRecord.objects.exists()
