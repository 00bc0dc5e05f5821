"""Global search: finds customers, contacts and orders by their keys, never out of scope."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.core.permissions import Role
from guanxi.core.search import global_search, name_spellings, normalise_phone
from guanxi.customers.models import Contact, Customer
from guanxi.testing import World

pytestmark = pytest.mark.django_db


def _titles(groups, kind: str) -> list[str]:
    return [hit.title for group in groups if group.kind == kind for hit in group.hits]


def _urls(groups) -> set[str]:
    return {hit.url for group in groups for hit in group.hits}


def test_finds_a_customer_by_name_prefix_in_any_case(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    Customer.objects.filter(pk=world.records["other"].customer.pk).update(name="Acme Trading")
    for typed in ("Acme", "acme", "ACME TR", "acme trading"):
        groups = global_search(user=admin, text=typed)
        assert "Acme Trading" in _titles(groups, "customers"), typed


def test_finds_by_email_phone_external_id_and_order_number(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    records = world.records["other"]
    Customer.objects.filter(pk=records.customer.pk).update(phone="+86 138-0013 8000")
    Contact.objects.filter(pk=records.contact.pk).update(email="li.lei@example.cn")
    customer_url = reverse("customer_detail", args=[records.customer.pk])

    assert customer_url in _urls(global_search(user=admin, text=records.customer.email))
    # an email prefix (with its @, so it is read as an email)
    prefix = records.customer.email.split("@")[0] + "@ex"
    assert customer_url in _urls(global_search(user=admin, text=prefix))
    # the phone in another layout: spaces and punctuation do not matter
    assert customer_url in _urls(global_search(user=admin, text="8613800138000"))
    assert customer_url in _urls(global_search(user=admin, text="+86 138 0013 8000"))
    assert customer_url in _urls(global_search(user=admin, text=records.customer.external_id))
    contact_url = reverse("contact_detail", args=[records.contact.pk])
    assert contact_url in _urls(global_search(user=admin, text="LI.LEI@example.cn".lower()))
    order_url = reverse("order_detail", args=[records.order.pk])
    assert order_url in _urls(global_search(user=admin, text=records.order.external_id))
    assert order_url in _urls(global_search(user=admin, text=records.order.external_id.lower()))


def test_a_substring_in_the_middle_does_not_match(world: World) -> None:
    # only indexed prefix lookups: "Trading" is not the start of "Acme Trading"
    admin = world.users[Role.ADMINISTRATOR]
    Customer.objects.filter(pk=world.records["other"].customer.pk).update(name="Acme Trading")
    assert "Acme Trading" not in _titles(global_search(user=admin, text="Trading"), "customers")


@pytest.mark.parametrize("role", Role.values)
def test_never_shows_records_outside_the_users_scope(world: World, role: str) -> None:
    from guanxi.sales.models import Order

    user = world.users[role]
    visible = {
        "customer": set(Customer.objects.restrict(user).values_list("pk", flat=True)),
        "contact": set(Contact.objects.restrict(user).values_list("pk", flat=True)),
        "order": set(Order.objects.restrict(user).values_list("pk", flat=True)),
    }
    for distance, records in world.records_for(role).items():
        probes = [
            ("customer", records.customer, records.customer.external_id),
            ("customer", records.customer, records.customer.name),
            ("contact", records.contact, records.contact.name),
            ("order", records.order, records.order.external_id),
        ]
        for kind, obj, text in probes:
            urls = _urls(global_search(user=user, text=text))
            found = reverse(f"{kind}_detail", args=[obj.pk]) in urls
            assert found == (obj.pk in visible[kind]), (role, distance, kind, text)


def test_a_sales_rep_finds_own_but_not_other_orders(world: World) -> None:
    rep = world.users[Role.SALES_REP]
    own, other = world.records[f"own:{Role.SALES_REP}"], world.records["other"]
    assert _titles(global_search(user=rep, text=own.order.external_id), "orders") == [
        own.order.external_id
    ]
    assert _titles(global_search(user=rep, text=other.order.external_id), "orders") == []


def test_the_results_page_and_the_htmx_dropdown(world: World) -> None:
    client = Client()
    client.force_login(world.users[Role.ADMINISTRATOR])
    customer = world.records["team"].customer
    page = client.get(reverse("search"), {"q": customer.name})
    assert page.status_code == 200
    assert page.templates[0].name == "core/search.html"
    assert f'href="{reverse("customer_detail", args=[customer.pk])}"' in page.text
    dropdown = client.get(reverse("search"), {"q": customer.name}, HTTP_HX_REQUEST="true")
    assert dropdown.templates[0].name == "core/search_dropdown.html"
    assert "<html" not in dropdown.text
    assert 'role="option"' in dropdown.text
    assert "Vary" in dropdown and "HX-Request" in dropdown["Vary"]


def test_nothing_found_and_empty_query(world: World) -> None:
    client = Client()
    client.force_login(world.users[Role.SALES_REP])
    assert "Nothing found" in client.get(reverse("search"), {"q": "zzzz-nobody"}).text
    assert client.get(reverse("search")).status_code == 200
    assert global_search(user=world.users[Role.SALES_REP], text="   ") == []


def test_search_runs_one_query_per_kind(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    with CaptureQueriesContext(connection) as queries:
        global_search(user=admin, text="other")
    assert len(queries) == 3  # customers, contacts, orders


def test_the_search_api_is_scoped(world: World) -> None:
    from guanxi.core.api.testing import api_client

    rep = world.users[Role.SALES_REP]
    other = world.records["other"].customer
    body = api_client(rep).get("/api/search/", {"q": other.external_id}).json()
    assert all(not group["hits"] for group in body)
    own = world.records[f"own:{Role.SALES_REP}"].customer
    body = api_client(rep).get("/api/search/", {"q": own.external_id}).json()
    customers = next(g for g in body if g["kind"] == "customers")
    assert customers["hits"][0]["url"] == reverse("customer_detail", args=[own.pk])
    assert api_client(rep).get("/api/search/", {"q": "x", "limit": "many"}).status_code == 400


def test_helpers() -> None:
    assert normalise_phone("+86 (138) 0013-8000") == "8613800138000"
    assert name_spellings("acme tr") == ["acme tr", "Acme tr", "Acme Tr", "ACME TR"]
