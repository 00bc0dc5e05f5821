"""The Insights dashboards in headless Chromium: every dashboard draws its charts without a
JavaScript error, a filter redraws them in place, and the figures lead to the customer list.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from guanxi.accounts.models import Team, User
from guanxi.insights.views import DASHBOARDS

from .conftest import log_in_as

#: True once every chart container on the page holds what ECharts drew into it.
CHARTS_DRAWN = """() => {
    const charts = [...document.querySelectorAll('[data-chart-source]')];
    return charts.length > 0 && charts.every(el => el.querySelector('canvas, svg'));
}"""


def charts_drawn(page: Any) -> int:
    """Wait until every chart of the page is drawn; returns how many there are."""
    page.wait_for_function(CHARTS_DRAWN)
    return page.locator("[data-chart-source]").count()


def test_every_dashboard_draws_its_charts(
    demo_company: dict[str, str], context: Any, page: Any, live_server: Any, screenshots: Any
) -> None:
    # given
    log_in_as(context, live_server, User.objects.get(username="sales_manager"))
    page.goto("/insights/dashboards/")
    tabs = page.get_by_test_id("dashboard-tabs").get_by_role("link")
    expect(tabs).to_have_count(len(DASHBOARDS))

    for name, dashboard in DASHBOARDS.items():
        # when
        page.get_by_test_id(f"dashboard-tab-{name}").click()

        # then: the tab is current, its body is there and its charts are drawn
        expect(page.get_by_test_id(f"dashboard-tab-{name}")).to_have_attribute(
            "aria-current", "page"
        )
        expect(page.get_by_test_id(f"dashboard-{name}")).to_be_visible()
        if name != "overview":
            assert charts_drawn(page) >= 1, f"the {dashboard.label} dashboard has no chart"
        screenshots.take(page, f"dashboard-{name}")

    # and the KPI cards of the overview carry values
    page.get_by_test_id("dashboard-tab-overview").click()
    expect(page.get_by_test_id("kpi-cards").locator("section")).not_to_have_count(0)


def test_a_dashboard_filter_redraws_in_place_and_opens_the_customers_behind_it(
    demo_company: dict[str, str], context: Any, page: Any, live_server: Any, screenshots: Any
) -> None:
    # given
    log_in_as(context, live_server, User.objects.get(username="admin"))
    page.goto("/insights/dashboards/value/")
    charts_drawn(page)
    page.evaluate("window.notReloaded = true")
    team = Team.objects.order_by("name").first()
    assert team is not None

    # when
    page.get_by_test_id("dashboard-filters").get_by_label("Team", exact=True).select_option(
        str(team.pk)
    )

    # then: the body was swapped, not the page, and the charts are drawn again
    expect(page).to_have_url(re.compile(rf"team={team.pk}"))
    expect(page.get_by_test_id("dashboard-body")).to_contain_text("match the filters")
    charts_drawn(page)
    assert page.evaluate("window.notReloaded") is True
    screenshots.take(page, "dashboard-value-team")

    # when: the customers behind the figures
    page.get_by_test_id("dashboard-customer-list").click()

    # then: the customer list, with the dashboard's filter applied
    expect(page).to_have_url(re.compile(rf"/customers/\?.*team={team.pk}"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    expect(page.locator("tbody tr")).not_to_have_count(0)
