"""Saved list views: save, apply, share with the team, delete; the same through the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from guanxi.core.api.testing import api_client
from guanxi.core.models import SavedView
from guanxi.core.permissions import Role
from guanxi.core.selectors import saved_view_list
from guanxi.core.services import saved_view_delete, saved_view_save
from guanxi.testing import World

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _save(client: Client, name: str, query: str = "?kind=organization&sort=-city&page=2", **extra):
    data = {"_action": "save_view", "name": name, "columns": ["name", "city", "owner"], **extra}
    return client.post(reverse("customer_list") + query, data, HTTP_HX_REQUEST="true")


def test_save_a_view_with_filters_sort_and_columns(world: World) -> None:
    manager = world.users[Role.SALES_MANAGER]
    response = _save(_client(manager), "Organizations by city")
    assert response.status_code == 200 and "<html" not in response.text
    assert "Saved the view Organizations by city." in response.text
    view = SavedView.objects.get(user=manager)
    assert (view.list_key, view.query, view.columns, view.shared) == (
        "customer_list",
        "kind=organization&sort=-city",  # the page is not part of a view
        ["name", "city", "owner"],
        False,
    )
    assert "Organizations by city" in response.text  # the Views menu lists it at once


def test_saving_again_under_the_same_name_replaces_the_view(world: World) -> None:
    client = _client(world.users[Role.SALES_MANAGER])
    _save(client, "Mine")
    _save(client, "Mine", query="?market=industrial", shared="on")
    view = SavedView.objects.get()
    assert view.query == "market=industrial" and view.shared


def test_applying_a_view_uses_its_filters_and_columns(world: World) -> None:
    manager = world.users[Role.SALES_MANAGER]
    client = _client(manager)
    _save(client, "By city")
    view = SavedView.objects.get()
    response = client.get(reverse("customer_list") + f"?{view.query}&view={view.pk}")
    assert response.context["applied_view"] == view
    assert [h.name for h in response.context["table"].headers()] == ["name", "city", "owner"]
    assert response.context["table"].sort == "-city"


def test_a_shared_view_reaches_the_team_only(world: World) -> None:
    manager, peer, south = world.users[Role.SALES_MANAGER], world.north_peer, world.south_rep
    client = _client(manager)
    _save(client, "Private")
    _save(client, "Shared", shared="on")
    assert [v.name for v in saved_view_list(user=peer, list_key="customer_list")] == ["Shared"]
    assert list(saved_view_list(user=south, list_key="customer_list")) == []
    peer_page = _client(peer).get(reverse("customer_list"))
    assert [v.name for v in peer_page.context["saved_views"]] == ["Shared"]
    # a view id of another team is ignored, not applied
    private = SavedView.objects.get(name="Private")
    response = _client(south).get(reverse("customer_list") + f"?view={private.pk}")
    assert response.context["applied_view"] is None


def test_applying_a_shared_view_never_widens_the_scope(world: World) -> None:
    manager, peer = world.users[Role.SALES_MANAGER], world.north_peer
    _save(_client(manager), "All organizations", query="?kind=organization", shared="on")
    view = SavedView.objects.get()
    response = _client(peer).get(reverse("customer_list") + f"?{view.query}&view={view.pk}")
    listed = {c.pk for c in response.context["page"].object_list}
    assert listed == {world.records["team"].customer.pk}  # the peer owns only this one


def test_only_the_owner_deletes_a_view(world: World) -> None:
    manager, peer = world.users[Role.SALES_MANAGER], world.north_peer
    _save(_client(manager), "Shared", shared="on")
    view = SavedView.objects.get()
    url = reverse("customer_list")
    response = _client(peer).post(
        url, {"_action": "delete_view", "view": view.pk}, HTTP_HX_REQUEST="true"
    )
    assert "Only the user who saved this view may delete it." in response.text
    assert SavedView.objects.filter(pk=view.pk).exists()
    with pytest.raises(PermissionDenied):
        saved_view_delete(actor=peer, view=view)
    response = _client(manager).post(
        url, {"_action": "delete_view", "view": view.pk}, HTTP_HX_REQUEST="true"
    )
    assert "Deleted the view Shared." in response.text
    assert not SavedView.objects.exists()


def test_a_view_needs_a_name_and_known_columns(world: World) -> None:
    manager = world.users[Role.SALES_MANAGER]
    assert "Give the view a name." in _save(_client(manager), "  ").text
    with pytest.raises(ValidationError) as error:
        saved_view_save(
            actor=manager,
            list_key="customer_list",
            name="x",
            query="",
            columns=["nope"],
            allowed_columns=["name"],
        )
    assert "Unknown columns: nope." in str(error.value)
    assert not SavedView.objects.exists()


def test_the_saved_views_page_lists_views_by_list(world: World) -> None:
    manager = world.users[Role.SALES_MANAGER]
    _save(_client(manager), "Segment A", shared="on")
    page = _client(world.north_peer).get(reverse("saved_view_list"))
    assert "Segment A" in page.text and "shared by sales_manager" in page.text
    view = SavedView.objects.get()
    assert f"/customers/?kind=organization&amp;sort=-city&amp;view={view.pk}" in page.text


def test_the_saved_view_api(world: World) -> None:
    manager, peer, south = world.users[Role.SALES_MANAGER], world.north_peer, world.south_rep
    api = api_client(manager)
    created = api.post(
        "/api/saved-views/",
        {"list_key": "customer_list", "name": "API view", "query": "kind=person", "shared": True},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["mine"] is True
    assert [v["id"] for v in api_client(peer).get("/api/saved-views/").json()["results"]] == [pk]
    assert api_client(south).get(f"/api/saved-views/{pk}/").status_code == 404
    assert api_client(peer).delete(f"/api/saved-views/{pk}/").status_code == 403
    bad = api.post(
        "/api/saved-views/",
        {"list_key": "nowhere_list", "name": "x", "columns": ["name"]},
        format="json",
    )
    assert bad.status_code == 400 and "list_key" in bad.json()
    bad = api.post(
        "/api/saved-views/",
        {"list_key": "customer_list", "name": "x", "columns": ["secret"]},
        format="json",
    )
    assert bad.status_code == 400 and "columns" in bad.json()
    assert api.delete(f"/api/saved-views/{pk}/").status_code == 204
    assert not SavedView.objects.exists()
