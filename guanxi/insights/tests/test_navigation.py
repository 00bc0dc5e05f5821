"""The navbar offers the Insights pages (refresh runs, dashboards) to the roles that may open
them, and only to them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.core.permissions import Role
from guanxi.insights.selectors import may_view_dashboards, may_view_runs
from guanxi.testing import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", Role.values)
def test_insights_link_follows_the_page_rule(world: World, role: str) -> None:
    user = world.users[role]
    client = Client()
    client.force_login(user)
    home = client.get(reverse("home"))
    page = client.get(reverse("insights"))
    link = f'href="{reverse("insights")}"'
    assert (link in home.text) == may_view_runs(user)
    assert (page.status_code == 200) == may_view_runs(user)


@pytest.mark.parametrize("role", Role.values)
def test_dashboards_link_follows_the_dashboard_rule(world: World, role: str) -> None:
    user = world.users[role]
    client = Client()
    client.force_login(user)
    home = client.get(reverse("home"))
    page = client.get(reverse("insight_dashboards"))
    link = f'href="{reverse("insight_dashboards")}"'
    assert (link in home.text) == may_view_dashboards(user)
    assert (page.status_code == 200) == may_view_dashboards(user)
    if role in (Role.SALES_REP, Role.READ_ONLY):  # they see customers, so their dashboards
        assert link in home.text
