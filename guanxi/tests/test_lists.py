"""List pages: HTMX partials, chosen columns, capped counts, constant queries, bulk actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.core.models import ChangeRecord, ListPreference
from guanxi.core.permissions import Role
from guanxi.customers import views as customer_views
from guanxi.customers.models import Customer, Tag
from guanxi.testing import World, make_records

pytestmark = pytest.mark.django_db

LISTS = ("customer_list", "contact_list", "order_list", "interaction_list", "product_list")


def _south_rep(world: World) -> Any:
    assert world.south_rep is not None
    return world.south_rep


def _north_peer(world: World) -> Any:
    assert world.north_peer is not None
    return world.north_peer


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _hx(client: Client, url: str, data=None, method: str = "get"):
    return getattr(client, method)(url, data or {}, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize("url_name", LISTS)
def test_an_htmx_request_gets_only_the_table(world: World, url_name: str) -> None:
    client = _client(world.users[Role.ADMINISTRATOR])
    full = client.get(reverse(url_name))
    partial = _hx(client, reverse(url_name))
    assert full.status_code == partial.status_code == 200
    assert "<html" in full.text and 'id="filter-form"' in full.text
    assert "<html" not in partial.text and partial.text.lstrip().count('id="object-table"') == 1
    assert 'id="filter-form"' not in partial.text
    assert "HX-Request" in partial["Vary"]


@pytest.mark.parametrize("url_name", LISTS)
def test_queries_per_page_do_not_grow_with_the_rows(
    world: World, url_name: str, monkeypatch
) -> None:
    from django.urls import resolve

    view_class = resolve(reverse(url_name)).func.view_class  # type: ignore[attr-defined]
    monkeypatch.setattr(view_class, "paginate_by", 100)
    admin = world.users[Role.ADMINISTRATOR]
    client = _client(admin)
    client.get(reverse(url_name))  # warm caches (content types, session)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(url_name)).status_code == 200
        return len(queries)

    few = count()
    for i in range(45):
        make_records(_south_rep(world), world.south, world.product, f"bulk{i}")
    if url_name == "product_list":
        from guanxi.sales.models import Product

        Product.objects.bulk_create(
            [Product(sku=f"P-{i}", name=f"Product {i}", list_price=1) for i in range(45)]
        )
    assert count() == few


def test_choosing_columns_is_kept_per_user(world: World) -> None:
    admin, manager = world.users[Role.ADMINISTRATOR], world.users[Role.SALES_MANAGER]
    client = _client(admin)
    url = reverse("customer_list")
    response = _hx(client, url, {"_action": "columns", "columns": ["name", "city"]}, "post")
    assert response.status_code == 200 and "<html" not in response.text
    assert ListPreference.objects.get(user=admin, list_key="customer_list").columns == [
        "name",
        "city",
    ]
    page = client.get(url)
    headers = [h.name for h in page.context["table"].headers()]
    assert headers == ["name", "city"]
    # another user still sees the defaults
    other = _client(manager).get(url).context["table"]
    assert [h.name for h in other.headers()] == list(customer_views.CustomerTable.default_columns)
    # back to the defaults
    client.post(url, {"_action": "columns", "reset": "1"})
    assert not ListPreference.objects.filter(user=admin).exists()


def test_my_open_tasks_keep_their_own_columns_apart_from_all_tasks(world: World) -> None:
    # "my open tasks" is a second list of tasks: choosing its columns leaves the task list's
    admin = world.users[Role.ADMINISTRATOR]
    client = _client(admin)
    mine, everyone = reverse("task_mine"), reverse("task_list")
    default = [h.name for h in client.get(everyone).context["table"].headers()]
    _hx(client, mine, {"_action": "columns", "columns": ["title", "due_date"]}, "post")
    assert [h.name for h in client.get(mine).context["table"].headers()] == ["title", "due_date"]
    assert [h.name for h in client.get(everyone).context["table"].headers()] == default
    assert ListPreference.objects.get(user=admin).list_key == "task_mine"


def test_an_unknown_column_is_refused_by_name(world: World) -> None:
    client = _client(world.users[Role.ADMINISTRATOR])
    response = _hx(
        client,
        reverse("customer_list"),
        {"_action": "columns", "columns": ["name", "password"]},
        "post",
    )
    assert "Unknown columns: password." in response.text
    assert not ListPreference.objects.exists()


def test_the_count_stops_at_the_cap(world: World, monkeypatch) -> None:
    monkeypatch.setattr(customer_views.CustomerListView, "count_cap", 3)
    response = _client(world.users[Role.ADMINISTRATOR]).get(reverse("customer_list"))
    assert response.context["page"].paginator.capped
    assert "More than 3 records" in response.text
    # a filter that matches few rows counts them exactly
    name = world.records["other"].customer.name
    response = _client(world.users[Role.ADMINISTRATOR]).get(reverse("customer_list"), {"q": name})
    assert not response.context["page"].paginator.capped
    assert response.context["page"].paginator.count == 1
    assert "1 record" in response.text


def test_owner_team_region_and_tag_filters(world: World) -> None:
    other = world.records["other"].customer
    Customer.objects.filter(pk=other.pk).update(province="Guangdong", city="Shenzhen")
    other.tags.add(Tag.objects.create(name="VIP"))
    client = _client(world.users[Role.ADMINISTRATOR])

    def listed(**params) -> set[int]:
        page = client.get(reverse("customer_list"), params).context["page"]
        return {c.pk for c in page.object_list}

    assert listed(owner=_south_rep(world).pk) == {other.pk}
    assert listed(team=world.south.pk) == {other.pk}
    assert listed(province="guangdong", city="SHENZHEN") == {other.pk}
    assert listed(tag="VIP") == {other.pk}


# --- Bulk actions ----------------------------------------------------------------------------


def _bulk(client: Client, action: str, ids=(), all_matching=False, query="", **fields):
    data = {"_action": "bulk", "bulk": action, "selected": [str(i) for i in ids]}
    if all_matching:
        data["all_matching"] = "1"
    data.update(fields)
    return _hx(client, reverse("customer_list") + query, data, "post")


def test_a_reps_select_all_never_touches_other_customers(world: World) -> None:
    rep = world.users[Role.SALES_REP]
    own = world.records[f"own:{Role.SALES_REP}"].customer
    before = {c.pk: c.tags.count() for c in Customer.objects.all()}
    response = _bulk(_client(rep), "add_tag", all_matching=True, **{"add_tag-tag": "Hot"})
    assert response.status_code == 200 and "<html" not in response.text
    tagged = set(Customer.objects.filter(tags__name="Hot").values_list("pk", flat=True))
    assert tagged == {own.pk}
    assert {c.pk: c.tags.count() for c in Customer.objects.exclude(pk=own.pk)} == {
        pk: n for pk, n in before.items() if pk != own.pk
    }
    entry = ChangeRecord.objects.get(object_id=str(own.pk), changes__has_key="tags")
    assert entry.actor == rep and entry.changes["tags"] == [[], ["Hot"]]


def test_a_rep_cannot_act_on_others_customers_by_id(world: World) -> None:
    rep = world.users[Role.SALES_REP]
    other, team = world.records["other"].customer, world.records["team"].customer
    response = _bulk(_client(rep), "add_tag", ids=[other.pk, team.pk], **{"add_tag-tag": "Hot"})
    assert not Customer.objects.filter(tags__name="Hot").exists()
    assert "0 changed" in response.text


def test_a_manager_assigns_an_owner_to_the_team_customers_only(world: World) -> None:
    manager = world.users[Role.SALES_MANAGER]
    peer = _north_peer(world)
    other = world.records["other"].customer
    _bulk(_client(manager), "assign_owner", all_matching=True, **{"assign_owner-owner": peer.pk})
    team_customers = Customer.objects.filter(team=world.north)
    assert set(team_customers.values_list("owner", flat=True)) == {peer.pk}
    other.refresh_from_db()
    assert other.owner == _south_rep(world)
    changed = team_customers.exclude(pk=world.records["team"].customer.pk)  # already peer's
    for customer in changed:
        assert ChangeRecord.objects.filter(
            object_id=str(customer.pk), changes__has_key="owner", actor=manager
        ).exists()


def test_the_bulk_owner_choices_are_the_users_the_actor_may_assign(world: World) -> None:
    manager = world.users[Role.SALES_MANAGER]
    page = _client(manager).get(reverse("customer_list"))
    action = next(a for a in page.context["bulk_actions"] if a["name"] == "assign_owner")
    offered = set(action["form"].fields["owner"].queryset)
    assert _north_peer(world) in offered and _south_rep(world) not in offered
    # and a user outside the manager's scope is refused as input, before any customer changes
    before = dict(Customer.objects.values_list("pk", "owner"))
    response = _bulk(
        _client(manager), "assign_owner", all_matching=True,
        **{"assign_owner-owner": _south_rep(world).pk},
    )  # fmt: skip
    assert "Select a valid choice" in response.text
    assert dict(Customer.objects.values_list("pk", "owner")) == before


def test_assign_owner_respects_the_filter(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    other = world.records["other"].customer
    _bulk(
        _client(admin),
        "assign_owner",
        all_matching=True,
        query=f"?q={other.external_id}",
        **{"assign_owner-owner": _north_peer(world).pk},
    )
    assert set(Customer.objects.filter(owner=_north_peer(world)).values_list("pk", flat=True)) == {
        world.records["team"].customer.pk,
        other.pk,
    }
    other.refresh_from_db()
    assert other.team == world.north  # the customer follows its owner's team


def test_a_role_without_change_scope_has_no_change_actions(world: World) -> None:
    analyst = world.users[Role.ANALYST]
    response = _client(analyst).get(reverse("customer_list"))
    names = [a["name"] for a in response.context["bulk_actions"]]
    assert names == ["export"]
    response = _bulk(_client(analyst), "add_tag", all_matching=True, **{"add_tag-tag": "X"})
    assert "Choose a bulk action." in response.text
    assert not Tag.objects.filter(name="X").exists()


def test_bulk_actions_refuse_more_than_the_limit(world: World, monkeypatch) -> None:
    monkeypatch.setattr(customer_views.CustomerListView, "bulk_limit", 2)
    response = _bulk(
        _client(world.users[Role.ADMINISTRATOR]),
        "add_tag",
        all_matching=True,
        **{"add_tag-tag": "Z"},
    )
    assert "a bulk action changes at most 2" in response.text
    assert not Customer.objects.filter(tags__name="Z").exists()


def test_a_bulk_action_needs_a_selection_and_valid_input(world: World) -> None:
    client = _client(world.users[Role.ADMINISTRATOR])
    assert "Select at least one row." in _bulk(client, "add_tag", **{"add_tag-tag": "Z"}).text
    response = _bulk(client, "assign_owner", ids=[world.records["other"].customer.pk])
    assert "This field is required." in response.text


def test_export_selected_downloads_only_the_selection_in_scope(world: World) -> None:
    rep = world.users[Role.SALES_REP]
    own, other = world.records[f"own:{Role.SALES_REP}"].customer, world.records["other"].customer
    client = _client(rep)
    response = _bulk(client, "export", ids=[own.pk, other.pk], export_format="csv")
    assert response.status_code == 204
    target = urlsplit(response["HX-Redirect"])
    assert target.path == reverse("data_export", kwargs={"kind": "customers"})
    assert parse_qs(target.query)["id"] == [f"{own.pk},{other.pk}"]
    download = client.get(response["HX-Redirect"])
    body = b"".join(download.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert own.external_id in body and other.external_id not in body


def test_without_htmx_a_bulk_action_redirects_back(world: World) -> None:
    client = _client(world.users[Role.ADMINISTRATOR])
    url = reverse("customer_list") + "?sort=city"
    response = client.post(
        url, {"_action": "bulk", "bulk": "add_tag", "all_matching": "1", "add_tag-tag": "N"}
    )
    assert response.status_code == 302 and response["Location"] == url
    assert Customer.objects.filter(tags__name="N").count() == Customer.objects.count()
