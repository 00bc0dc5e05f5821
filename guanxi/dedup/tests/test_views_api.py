"""Duplicate and merge pages and API: listing, merging, undo, scope (404) and refusals (403)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from guanxi.core.models import ChangeAction, ChangeRecord
from guanxi.core.permissions import Role
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.dedup.models import MergeRecord
from guanxi.sales.models import Order
from guanxi.testing import World

pytestmark = pytest.mark.django_db


def _twin(world: World, distance: str, role: str = Role.SALES_REP) -> tuple[Customer, Customer]:
    """A customer at ``distance`` from ``role`` and a duplicate of it (same email), same owner."""
    original = world.records_for(role)[distance].customer
    admin = world.users[Role.ADMINISTRATOR]
    twin = customer_services.customer_create(
        actor=admin,
        data={
            "name": original.name.upper(),
            "email": original.email.upper(),
            "owner": original.owner,
            "team": original.team,
        },
    )
    return original, twin


def _web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_duplicate_list_shows_groups_with_reasons_in_scope_only(world: World) -> None:
    # given: a duplicate of the rep's own customer and one of another team's customer
    own, own_twin = _twin(world, "own")
    _other, other_twin = _twin(world, "other")
    rep = world.users[Role.SALES_REP]

    # when
    response = _web(rep).get(reverse("duplicate_list"))

    # then
    assert response.status_code == 200
    text = response.text
    assert f'href="{reverse("customer_detail", args=[own_twin.pk])}"' in text
    assert f"same email {own.email}" in text
    assert "Merge…" in text
    assert f'href="{reverse("customer_detail", args=[other_twin.pk])}"' not in text
    admin_text = _web(world.users[Role.ADMINISTRATOR]).get(reverse("duplicate_list")).text
    assert f'href="{reverse("customer_detail", args=[other_twin.pk])}"' in admin_text


def test_contact_duplicates_tab(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    contact = world.records["team"].contact
    customer_services.contact_create(
        actor=admin, data={"customer": contact.customer, "name": contact.name}
    )
    response = _web(admin).get(reverse("duplicate_list"), {"kind": "contact"})
    assert response.status_code == 200
    assert "same organization" in response.text
    assert _web(admin).get(reverse("duplicate_list"), {"kind": "nonsense"}).status_code == 404


def test_merge_through_the_pages_then_undo(world: World) -> None:
    # given
    own, twin = _twin(world, "own")
    customer_services.customer_update(
        actor=world.users[Role.ADMINISTRATOR], customer=twin, data={"phone": "13800000000"}
    )
    rep = world.users[Role.SALES_REP]
    web = _web(rep)
    url = reverse("duplicate_merge", args=["customer"]) + f"?ids={own.pk},{twin.pk}"

    # when: the form, the review, the merge
    form = web.get(url)
    assert form.status_code == 200
    assert 'name="field_phone"' in form.text and 'name="field_name"' in form.text
    payload = {
        "ids": f"{own.pk},{twin.pk}",
        "survivor": own.pk,
        "field_phone": twin.pk,
        "field_name": own.pk,
    }
    review = web.post(url, payload)
    assert review.status_code == 200
    assert "Records that will move" in review.text
    assert Customer.objects.filter(pk=twin.pk).exists()  # nothing merged yet
    done = web.post(url, {**payload, "confirm": "1"})

    # then
    merge = MergeRecord.objects.get()
    assert done.status_code == 302
    assert done["Location"] == reverse("merge_detail", args=[merge.pk])
    assert Customer.objects.get(pk=own.pk).phone == "13800000000"
    assert not Customer.objects.filter(pk=twin.pk).exists()
    detail = web.get(reverse("merge_detail", args=[merge.pk]))
    assert "Undo this merge" in detail.text
    panel = web.get(reverse("customer_detail", args=[own.pk]))
    assert reverse("merge_detail", args=[merge.pk]) in panel.text
    history = web.get(reverse("customer_history", args=[own.pk]))
    assert history.status_code == 200
    assert web.get(reverse("merge_list")).status_code == 200

    # when: undo
    undone = web.post(reverse("merge_undo", args=[merge.pk]))
    assert undone.status_code == 302
    assert Customer.objects.filter(pk=twin.pk).exists()
    assert Customer.objects.get(pk=own.pk).phone == own.phone
    assert "undone" in web.get(reverse("merge_detail", args=[merge.pk])).text


def test_merge_page_is_404_outside_the_scope_and_nothing_changes(world: World) -> None:
    own, _twin_record = _twin(world, "own")
    rep = world.users[Role.SALES_REP]
    web = _web(rep)
    for distance in ("team", "other"):
        foreign = world.records_for(Role.SALES_REP)[distance].customer
        url = reverse("duplicate_merge", args=["customer"]) + f"?ids={own.pk},{foreign.pk}"
        assert web.get(url).status_code == 404
        payload = {"ids": f"{own.pk},{foreign.pk}", "survivor": own.pk, "confirm": "1"}
        assert web.post(url, payload).status_code == 404
        assert Customer.objects.filter(pk=foreign.pk).exists()
    assert not MergeRecord.objects.exists()


def test_merge_page_refuses_a_role_without_delete(world: World) -> None:
    # A marketer sees every customer but may not delete one: 403 with the reason.
    own, twin = _twin(world, "own")
    url = reverse("duplicate_merge", args=["customer"]) + f"?ids={own.pk},{twin.pk}"
    response = _web(world.users[Role.MARKETER]).post(
        url, {"ids": f"{own.pk},{twin.pk}", "survivor": own.pk, "confirm": "1"}
    )
    assert response.status_code == 403
    assert "You may not" in response.text
    assert not MergeRecord.objects.exists()


def test_navbar_links_to_duplicates(world: World) -> None:
    response = _web(world.users[Role.SALES_REP]).get(reverse("home"))
    assert f'href="{reverse("duplicate_list")}"' in response.text


# --- API ------------------------------------------------------------------------------------


def test_api_duplicates_merge_undo(world: World) -> None:
    # given
    own, twin = _twin(world, "own")
    api = _api(world.users[Role.SALES_REP])

    # when: list
    listed = api.get(reverse("api:duplicate-customers"))
    assert listed.status_code == 200
    groups = listed.json()["results"]
    assert [sorted(g["ids"]) for g in groups] == [sorted([own.pk, twin.pk])]
    assert f"same email {own.email}" in groups[0]["reasons"]
    assert {r["id"] for r in groups[0]["records"]} == {own.pk, twin.pk}
    assert api.get(reverse("api:duplicate-contacts")).status_code == 200

    # when: merge
    orders = Order.objects.filter(customer=own).count()
    created = api.post(
        reverse("api:merge-list"),
        {"kind": "customer", "survivor": twin.pk, "others": [own.pk],
         "field_choices": {"name": own.pk}},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["survivor"] == twin.pk and body["counts"]["orders"] == orders
    assert Customer.objects.get(pk=twin.pk).name == own.name
    assert ChangeRecord.objects.filter(action=ChangeAction.MERGE, object_id=str(twin.pk)).exists()
    assert api.get(reverse("api:merge-detail", args=[body["id"]])).json()["id"] == body["id"]

    # when: undo, twice
    undo_url = reverse("api:merge-undo", args=[body["id"]])
    assert api.post(undo_url).status_code == 200
    assert Order.objects.filter(customer=own).count() == orders
    again = api.post(undo_url)
    assert again.status_code == 400
    assert "undone already" in str(again.json())


def test_api_merge_outside_scope_is_404_and_changes_nothing(world: World) -> None:
    own, _twin_record = _twin(world, "own")
    other = world.records_for(Role.SALES_REP)["other"].customer
    api = _api(world.users[Role.SALES_REP])
    response = api.post(
        reverse("api:merge-list"),
        {"survivor": own.pk, "others": [other.pk]},
        format="json",
    )
    assert response.status_code == 404
    assert Customer.objects.filter(pk=other.pk).exists()
    assert not MergeRecord.objects.exists()


def test_api_merge_refused_for_a_role_without_change(world: World) -> None:
    own, twin = _twin(world, "own")
    api = _api(world.users[Role.MARKETER])
    response = api.post(
        reverse("api:merge-list"), {"survivor": own.pk, "others": [twin.pk]}, format="json"
    )
    assert response.status_code == 403
    assert not MergeRecord.objects.exists()


def test_api_merge_validation_names_the_field(world: World) -> None:
    own, twin = _twin(world, "own")
    api = _api(world.users[Role.ADMINISTRATOR])
    response = api.post(
        reverse("api:merge-list"),
        {"survivor": own.pk, "others": [twin.pk], "field_choices": {"email": 999999}},
        format="json",
    )
    assert response.status_code == 400
    assert "email" in response.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"survivor": 10**25}, "survivor"),
        ({"others": [10**25]}, "others"),
        ({"others": [0]}, "others"),
        ({"field_choices": {"email": 10**25}}, "field_choices"),
    ],
)
def test_api_merge_with_an_id_out_of_range_is_a_400(
    world: World, payload: dict[str, Any], field: str
) -> None:
    own, twin = _twin(world, "own")
    api = _api(world.users[Role.ADMINISTRATOR])
    response = api.post(
        reverse("api:merge-list"),
        {"survivor": own.pk, "others": [twin.pk], **payload},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not MergeRecord.objects.exists()
    assert Customer.objects.filter(pk__in=[own.pk, twin.pk]).count() == 2


def test_api_merges_list_is_scoped(world: World) -> None:
    _own, _twin_record = _twin(world, "own")
    other, other_twin = _twin(world, "other")
    admin_api = _api(world.users[Role.ADMINISTRATOR])
    admin_api.post(
        reverse("api:merge-list"), {"survivor": other.pk, "others": [other_twin.pk]}, format="json"
    )
    merge = MergeRecord.objects.get()
    rep_api = _api(world.users[Role.SALES_REP])
    assert rep_api.get(reverse("api:merge-list")).json()["results"] == []
    assert rep_api.get(reverse("api:merge-detail", args=[merge.pk])).status_code == 404
    assert rep_api.post(reverse("api:merge-undo", args=[merge.pk])).status_code == 404
    assert (
        _web(world.users[Role.SALES_REP]).get(reverse("merge_detail", args=[merge.pk])).status_code
        == 404
    )
