"""The same write through each door (web UI, REST API, admin) leaves exactly one change-log
entry, with the door as its source and the field's before and after."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from guanxi.core.models import ChangeRecord
from guanxi.core.permissions import Role
from guanxi.customers.models import Contact, Customer
from guanxi.testing import World
from guanxi.tests.test_permission_matrix import edit_payload, form_payload

pytestmark = pytest.mark.django_db


def _clients(world: World) -> tuple[Any, Client, APIClient]:
    admin = world.users[Role.ADMINISTRATOR]
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    web, api = Client(), APIClient()
    web.force_login(admin)
    api.force_authenticate(admin)
    return admin, web, api


def _new_entries(before: set[int]) -> list[ChangeRecord]:
    return list(ChangeRecord.objects.exclude(id__in=before))


def _admin_change_payload(web: Client, customer: Customer, **changes: Any) -> dict[str, Any]:
    response = web.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    return {**form_payload(response.context["adminform"].form), **changes}


@pytest.mark.parametrize("door", ["web", "api", "admin"])
def test_customer_update_through_each_door(world: World, door: str) -> None:
    admin, web, api = _clients(world)
    customer = world.records["team"].customer
    before = set(ChangeRecord.objects.values_list("id", flat=True))

    response: Any
    if door == "web":
        data = edit_payload("customer_edit", customer, admin, city="苏州")
        response = web.post(reverse("customer_edit", args=[customer.pk]), data)
        assert response.status_code == 302
    elif door == "api":
        url = reverse("api:customer-detail", args=[customer.pk])
        response = api.patch(url, {"city": "苏州"}, format="json", HTTP_X_REQUEST_ID="door-api")
        assert response.status_code == 200
    else:
        data = _admin_change_payload(web, customer, city="苏州")
        url = reverse("admin:customers_customer_change", args=[customer.pk])
        response = web.post(url, data)
        assert response.status_code == 302, response.content[:2000]

    (entry,) = _new_entries(before)
    assert entry.source == door
    assert entry.action == "update"
    assert entry.changes == {"city": ["", "苏州"]}
    assert entry.actor == admin
    if door == "api":
        assert entry.request_id == "door-api"


@pytest.mark.parametrize("door", ["web", "api", "admin"])
def test_contact_delete_through_each_door(world: World, door: str) -> None:
    _admin, web, api = _clients(world)
    contact = world.records["team"].contact
    before = set(ChangeRecord.objects.values_list("id", flat=True))

    response: Any
    if door == "web":
        response = web.post(reverse("contact_delete", args=[contact.pk]))
    elif door == "api":
        response = api.delete(reverse("api:contact-detail", args=[contact.pk]))
    else:
        url = reverse("admin:customers_contact_delete", args=[contact.pk])
        response = web.post(url, {"post": "yes"})
    assert response.status_code in (204, 302)

    (entry,) = _new_entries(before)
    assert (entry.source, entry.action, entry.object_id) == (door, "delete", str(contact.pk))
    assert entry.changes["deleted_at"][0] is None and entry.changes["deleted_at"][1]
    assert Contact.all_objects.get(pk=contact.pk).deleted_at is not None


@pytest.mark.parametrize("door", ["web", "api", "admin"])
def test_customer_create_through_each_door(world: World, door: str) -> None:
    admin, web, api = _clients(world)
    before = set(ChangeRecord.objects.values_list("id", flat=True))

    response: Any
    if door == "web":
        template = world.records["team"].customer
        data = edit_payload("customer_edit", template, admin)
        data.update(name="Door customer", external_id="", email="")
        response = web.post(reverse("customer_add"), data)
    elif door == "api":
        response = api.post(reverse("api:customer-list"), {"name": "Door customer"}, format="json")
    else:
        response = web.get(reverse("admin:customers_customer_add"))
        data = {**form_payload(response.context["adminform"].form), "name": "Door customer"}
        response = web.post(reverse("admin:customers_customer_add"), data)
    assert response.status_code in (201, 302)

    customer = Customer.objects.get(name="Door customer")
    (entry,) = _new_entries(before)
    assert (entry.source, entry.action, entry.object_id) == (door, "create", str(customer.pk))
    assert entry.changes["name"] == [None, "Door customer"]
