"""The administrator's "erase personal data" page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from guanxi.core.models import ErasureRecord
from guanxi.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_an_administrator_erases_a_customer_with_a_reason(client, world):
    client.force_login(world.users["administrator"])
    customer = world.records["other"].customer
    detail = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert reverse("customer_erase", args=[customer.pk]) in detail
    missing = client.post(reverse("customer_erase", args=[customer.pk]), {"reason": " "})
    assert missing.status_code == 200 and missing.context["form"].errors["reason"]
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    response = client.post(reverse("customer_erase", args=[customer.pk]), {"reason": "REQ-7"})
    assert response.url == reverse("customer_detail", args=[customer.pk])
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.email == ""
    assert ErasureRecord.objects.get().reason == "REQ-7"


def test_other_roles_cannot_erase(client, world):
    client.force_login(world.users["sales_rep"])
    own = world.records_for("sales_rep")["own"].customer
    assert client.get(reverse("customer_erase", args=[own.pk])).status_code == 403
    other = world.records["other"].customer
    assert client.get(reverse("customer_erase", args=[other.pk])).status_code == 404
