"""The shell: grouped navigation without dead links for every role, search box, skip link."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.core import views as core_views
from guanxi.core.permissions import Role
from guanxi.testing import World

pytestmark = pytest.mark.django_db

GROUPS = {"Customers", "Sales", "Service", "Marketing", "Admin"}


def _navbar(html: str) -> str:
    return html[html.index('<header class="navbar') : html.index("</header>")]


@pytest.mark.parametrize("role", Role.values)
def test_every_menu_link_opens_for_the_role(world: World, role: str) -> None:
    user = world.users[role]
    user.is_staff = role == Role.ADMINISTRATOR  # the Admin group's administration links
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    navbar = _navbar(client.get(reverse("home")).text)
    links = sorted(set(re.findall(r'href="(/[^"]*)"', navbar)))
    assert links, navbar
    for link in links:
        assert client.get(link).status_code == 200, (role, link)


def test_the_menu_groups_the_work(world: World) -> None:
    user = world.users[Role.ADMINISTRATOR]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    navbar = _navbar(client.get(reverse("home")).text)
    titles = set(re.findall(r'<span class="nav-link-title">([^<]+)</span>', navbar))
    assert GROUPS | {"Home", "Insights"} <= titles
    assert reverse("saved_view_list") in navbar and reverse("trash") in navbar
    # a rep has no administration and no privacy log
    client.force_login(world.users[Role.SALES_REP])
    navbar = _navbar(client.get(reverse("home")).text)
    assert reverse("admin:index") not in navbar


def test_search_box_and_skip_link_are_labelled(world: World) -> None:
    client = Client()
    client.force_login(world.users[Role.SALES_REP])
    page = client.get(reverse("customer_list")).text
    assert '<a class="visually-hidden-focusable' in page and 'href="#main"' in page
    assert '<label class="visually-hidden" for="nav-search">' in page
    assert 'id="nav-search"' in page and 'role="combobox"' in page
    assert f'hx-get="{reverse("search")}"' in page


def test_an_estimated_count_is_shown_as_about(world: World, monkeypatch) -> None:
    # PostgreSQL's planner estimate stands in for COUNT(*) from estimate_from rows on
    monkeypatch.setattr(core_views, "planner_estimate", lambda queryset: 32_352)
    client = Client()
    client.force_login(world.users[Role.ADMINISTRATOR])
    response = client.get(reverse("customer_list"))
    paginator = response.context["page"].paginator
    assert paginator.estimated and not paginator.capped
    assert "About 32,000 records" in response.text
    assert paginator.num_pages == paginator.cap // paginator.per_page  # no deeper than the cap
    assert core_views.round_estimate(987) == 990 and core_views.round_estimate(42) == 42
