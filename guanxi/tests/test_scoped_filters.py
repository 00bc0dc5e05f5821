"""Filter drop-downs and ``?customer=`` parameters never reveal records outside the scope."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from guanxi.core.permissions import Role
from guanxi.testing import World

pytestmark = pytest.mark.django_db


def test_web_filter_offers_and_accepts_only_visible_customers(world: World) -> None:
    rep = world.users[Role.SALES_REP]
    own, other = world.records_for(Role.SALES_REP)["own"], world.records["other"]
    client = Client()
    client.force_login(rep)

    page = client.get(reverse("order_list"))
    choices = page.context["filterset"].form.fields["customer"].queryset
    assert set(choices) == {own.customer}

    probe = client.get(reverse("order_list"), {"customer": other.customer.pk})
    nonexistent = client.get(reverse("order_list"), {"customer": 999_999})
    assert other.order.external_id not in probe.text
    assert probe.context["filterset"].form.errors == nonexistent.context["filterset"].form.errors


def test_api_filter_refuses_an_out_of_scope_id_like_a_missing_one(world: World) -> None:
    rep = world.users[Role.SALES_REP]
    api = APIClient()
    api.force_authenticate(rep)
    other = world.records["other"].customer.pk

    probe = api.get(reverse("api:order-list"), {"customer": other})
    missing = api.get(reverse("api:order-list"), {"customer": 999_999})

    assert probe.status_code == missing.status_code == 400
    assert probe.json() == {
        "customer": [m.replace("999999", str(other)) for m in missing.json()["customer"]]
    }
