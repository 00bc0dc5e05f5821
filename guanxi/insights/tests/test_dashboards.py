"""Dashboards: aggregations equal hand-computed values on a built scenario, each user sees the
figures of their own scope, and every drill-down link lists exactly the customers counted."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from guanxi.accounts.models import Team
from guanxi.customers.models import Customer
from guanxi.insights import dashboards, kpis, selectors
from guanxi.insights.models import CustomerInsight, InsightSnapshot
from guanxi.testing import make_user

pytestmark = pytest.mark.django_db

D1, D2 = dt.date(2026, 8, 31), dt.date(2026, 10, 31)
START, END = D1 + dt.timedelta(days=1), D2

#: name: (owner, province, first purchase, insight now, stage on D1 (None: no snapshot)).
#: insight now: (spend, R, F, segment, ABC, CLV, P(alive), stage, quadrant); None: not
#: scored yet (no insight row).
SCENARIO: dict[str, tuple[str, str, str | None, tuple[Any, ...] | None, str | None]] = {
    "a1": ("rep", "Zhejiang", "2025-01-10",
           (5000, 5, 5, "champions", "A", 3000, 0.9, "advocate", "true_friends"), "supporter"),
    "a2": ("rep", "Zhejiang", "2025-01-20",
           (3000, 5, 4, "loyal", "A", 1500, 0.8, "supporter", "true_friends"), "supporter"),
    "a3": ("rep", "Guangdong", "2025-03-05",
           (800, 3, 3, "need_attention", "B", 150, 0.4, "client", "strangers"), "client"),
    "a4": ("rep", "Guangdong", "2025-03-15",
           (100, 1, 1, "lost", "C", 5, 0.1, "churned", "strangers"), "client"),
    "a5": ("rep", "", None, (0, None, None, "", "", None, None, "prospect", ""), "prospect"),
    "b1": ("other", "Zhejiang", "2025-01-25",
           (4000, 4, 5, "champions", "A", 2500, 0.3, "supporter", "butterflies"), "client"),
    "b2": ("other", "Shanghai", "2026-09-15",
           (600, 2, 2, "hibernating", "B", 50, 0.6, "customer", "barnacles"), None),
    "b3": ("other", "Shanghai", None, None, None),
}  # fmt: skip


@pytest.fixture
def scene(db) -> dict[str, Any]:
    north, south = Team.objects.create(name="North"), Team.objects.create(name="South")
    users = {
        "rep": make_user("dash-rep", "sales_rep", north, first_name="Rita", last_name="Rep"),
        "other": make_user("dash-other", "sales_rep", south),
        "admin": make_user("dash-admin", "administrator"),
    }
    customers: dict[str, Customer] = {}
    snapshots = []
    for name, (owner_key, province, first, now, stage_d1) in SCENARIO.items():
        owner = users[owner_key]
        customer = Customer.objects.create(
            name=name, owner=owner, team=owner.team, province=province
        )
        customers[name] = customer
        first_day = dt.date.fromisoformat(first) if first else None
        if now is not None:
            spend, r, f, segment, grade, clv, p_alive, stage, quadrant = now
            CustomerInsight.objects.create(
                customer=customer,
                as_of=D2,
                first_purchase=first_day,
                total_spend=Decimal(spend),
                order_count=1 if first else 0,
                recency_score=r,
                frequency_score=f,
                monetary_score=r,
                rfm_segment=segment,
                abc_grade=grade,
                clv=None if clv is None else Decimal(clv),
                p_alive=p_alive,
                ladder_stage=stage,
                portfolio_quadrant=quadrant,
            )
            snapshots.append(_snapshot(customer, D2, stage, now, first_day))
        if stage_d1 is not None:
            snapshots.append(_snapshot(customer, D1, stage_d1, now, first_day))
    InsightSnapshot.objects.bulk_create(snapshots)
    return {"customers": customers, "users": users, "north": north, "south": south}


def _snapshot(customer: Customer, day: dt.date, stage: str, now: Any, first: Any) -> Any:
    return InsightSnapshot(
        snapshot_date=day,
        customer=customer,
        ladder_stage=stage,
        rfm_segment=now[3],
        abc_grade=now[4],
        clv=None if now[5] is None else Decimal(now[5]),
        first_purchase=first,
        total_spend=Decimal(now[0]),
        owner_id=customer.owner_id,
        team_id=customer.team_id,
        region=customer.province,
    )


def _customers(scene: dict[str, Any], who: str = "admin", **filters: Any) -> Any:
    return selectors.dashboard_customers(user=scene["users"][who], filters=filters)


def _names(scene: dict[str, Any], pks: list[int]) -> set[str]:
    by_pk = {c.pk: name for name, c in scene["customers"].items()}
    return {by_pk[pk] for pk in pks}


# --- Aggregations against hand-computed values ---------------------------------------------


def test_abc_and_pareto(scene):
    grades = {g["grade"]: g for g in dashboards.abc_grades(_customers(scene))["grades"]}

    assert (grades["A"]["customers"], grades["A"]["spend"]) == (3, 12000.0)  # a1, a2, b1
    assert (grades["B"]["customers"], grades["B"]["spend"]) == (2, 1400.0)  # a3, b2
    assert (grades["C"]["customers"], grades["C"]["spend"]) == (1, 100.0)  # a4
    assert grades["A"]["spend_share"] == pytest.approx(12000 / 13500)

    chart = dashboards.pareto_chart(_customers(scene))
    # six graded customers in twenty tiles: one customer per tile, by spend descending
    assert chart["line"][-1] == 100.0
    assert chart["line"][0] == pytest.approx(round(100 * 5000 / 13500, 2))
    parts = {s["key"]: [d["value"] for d in s["data"]] for s in chart["series"]}
    assert sum(parts["A"]) == pytest.approx(100 * 12000 / 13500, abs=0.02)


def test_rfm_grid_and_segments(scene):
    grid = dashboards.rfm_grid(_customers(scene))
    cells = {(c["r"], c["f"]): c["customers"] for row in grid["rows"] for c in row["cells"]}

    filled = {key: n for key, n in cells.items() if n}
    assert filled == {(5, 5): 1, (5, 4): 1, (3, 3): 1, (1, 1): 1, (4, 5): 1, (2, 2): 1}
    assert grid["unscored"] == 2  # a5 (no purchase) and b3 (no insight row)
    assert grid["total"] == 6

    segments = {
        s["key"]: s["customers"] for s in dashboards.rfm_segments(_customers(scene))["bars"]
    }
    assert segments == {
        "champions": 2, "loyal": 1, "need_attention": 1, "lost": 1, "hibernating": 1,
    }  # fmt: skip


def test_ladder_counts_and_flows(scene):
    ladder = dashboards.ladder_counts(_customers(scene))
    counts = {s["key"]: s["customers"] for s in ladder["stages"]}

    assert counts == {
        "prospect": 1, "customer": 1, "client": 1, "supporter": 2, "advocate": 1, "churned": 1,
    }  # fmt: skip
    assert ladder["unscored"] == 1  # b3

    flows = dashboards.ladder_flows(_customers(scene), D1, D2)
    moves = {(f["source"], f["target"]): f["customers"] for f in flows["flows"]}
    assert moves == {
        ("supporter", "advocate"): 1,  # a1
        ("supporter", "supporter"): 1,  # a2
        ("client", "client"): 1,  # a3
        ("client", "churned"): 1,  # a4
        ("prospect", "prospect"): 1,  # a5
        ("client", "supporter"): 1,  # b1
        ("absent", "customer"): 1,  # b2: no snapshot on D1
    }
    assert (flows["moved_up"], flows["total"]) == (2, 7)


def test_clv_histogram_and_portfolio(scene):
    histogram = dashboards.clv_histogram(_customers(scene))
    bins = {b["label"]: b["customers"] for b in histogram["bins"] if b["customers"]}

    # 1-2-5 edges: 5 in [5, 10), 50 in [50, 100), 150 in [100, 200), 1500 in [1000, 2000),
    # 2500 and 3000 in [2000, 5000)
    assert bins == {"5-10": 1, "50-100": 1, "100-200": 1, "1000-2000": 1, "2000-5000": 2}
    assert histogram["missing"] == 2  # a5 (no prediction), b3 (not scored)

    portfolio = dashboards.portfolio_chart(_customers(scene), 400.0)
    quadrants = {q["key"]: q["customers"] for q in portfolio["quadrants"]}
    assert quadrants == {"true_friends": 2, "butterflies": 1, "barnacles": 1, "strangers": 2}
    assert sum(point[2] for q in portfolio["quadrants"] for point in q["points"]) == 6


def test_kpi_cards_and_cohorts(scene):
    cards = {c["key"]: c for c in dashboards.kpi_cards(_customers(scene), START, END)["cards"]}

    assert cards["new"]["value"] == 1  # b2
    assert cards["lost"]["value"] == 1  # a4
    assert cards["upgraded"]["value"] == 2  # a1, b1
    assert cards["downgraded"]["value"] == 1  # a4
    assert cards["equity"]["value"] == Decimal("7205.00")
    # the previous period (as long, just before) closes on D1 with no snapshot before it:
    # nobody bought first in it, nobody was lost or moved
    assert (cards["new"]["previous"], cards["lost"]["previous"]) == (0, 0)
    assert (cards["new"]["change"], cards["new"]["trend"]) == (1.0, "good")
    assert (cards["lost"]["change"], cards["lost"]["trend"]) == (1.0, "bad")

    heat = dashboards.cohort_heatmap(_customers(scene), D2, D2)
    cohort = {c["cohort"]: (c["customers"], c["retained"]) for c in heat["cells"]}
    assert cohort == {"2025-01": (3, 3), "2025-03": (2, 1), "2026-09": (1, 1)}


def test_kpis_grouped_by_team_and_owner_carry_names(scene):
    customers = _customers(scene)
    rep = scene["users"]["rep"]

    by_team = {r["group"]: r for r in kpis.period_kpis(customers, START, END, group_by="team")}
    by_owner = {r["label"] for r in kpis.period_kpis(customers, START, END, group_by="owner")}

    assert by_team[scene["north"].pk]["label"] == "North"
    assert by_team[scene["south"].pk]["label"] == "South"
    assert by_owner == {"Rita Rep", "dash-other"}
    assert kpis.group_labels("owner", [rep.pk, 999999]) == {
        rep.pk: "Rita Rep",
        999999: "#999999 (removed)",
    }


# --- Scope -------------------------------------------------------------------------------


def test_a_sales_rep_sees_only_own_customers_numbers(scene):
    customers = _customers(scene, "rep")

    grades = {g["grade"]: g["customers"] for g in dashboards.abc_grades(customers)["grades"]}
    assert grades == {"A": 2, "B": 1, "C": 1}  # a1, a2 | a3 | a4
    ladder = {s["key"]: s["customers"] for s in dashboards.ladder_counts(customers)["stages"]}
    assert ladder["supporter"] == 1 and ladder["customer"] == 0  # b1 and b2 are not theirs
    cards = {c["key"]: c["value"] for c in dashboards.kpi_cards(customers, START, END)["cards"]}
    assert (cards["new"], cards["lost"], cards["upgraded"]) == (0, 1, 1)
    assert cards["equity"] == Decimal("4655.00")

    # and a filter on another rep's customers shows nothing
    theirs = _customers(scene, "rep", owner=str(scene["users"]["other"].pk))
    assert dashboards.rfm_grid(theirs)["total"] == 0


def test_dashboard_filters_narrow_the_figures(scene):
    zhejiang = _customers(scene, province="Zhejiang")
    champions = _customers(scene, rfm_segment="champions")
    south = _customers(scene, team=str(scene["south"].pk))

    assert dashboards.rfm_grid(zhejiang)["total"] == 3  # a1, a2, b1
    assert dashboards.abc_grades(champions)["customers"] == 2  # a1, b1
    assert dashboards.ladder_counts(south)["unscored"] == 1  # b3
    with pytest.raises(ValueError, match="team"):
        _customers(scene, team="not-a-team")


# --- Pages and drill-downs ------------------------------------------------------------------


def _client(scene: dict[str, Any], who: str) -> Client:
    client = Client()
    client.force_login(scene["users"][who])
    return client


def _urls(data: Any) -> list[tuple[str, int]]:
    """(drill-down URL, customers counted) of every bucket of a dashboard's data.

    A Pareto bar is a tile's part of a grade (``part_customers``) and drills down to the
    whole grade: the grade rows of the same chart check that link.
    """
    found = []
    if isinstance(data, dict):
        if "retained" in data:  # a cohort cell: its retained customers, and the whole cohort
            found += [(data["url"], data["retained"]), (data["cohort_url"], data["customers"])]
            return found
        if "url" in data and "customers" in data:
            found.append((data["url"], data["customers"]))
        for key, count in (("missing_url", "missing"), ("unscored_url", "unscored")):
            if key in data:
                found.append((data[key], data[count]))
        for value in data.values():
            if isinstance(value, dict | list):
                found.extend(_urls(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(_urls(item))
    return found


def _listed(client: Client, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200, url
    page = response.context["page"]
    assert page.paginator.count <= 25, "the scenario fits one page"
    return [customer.pk for customer in page.object_list]


QUERIES = {
    "overview": {"start": str(START), "end": str(END)},
    "value": {},
    "rfm": {},
    "ladder": {"before": str(D1), "after": str(D2)},
    "cohorts": {"start": str(D1), "end": str(D2)},
    "portfolio": {},
}


@pytest.mark.parametrize("who", ["admin", "rep"])
@pytest.mark.parametrize("name", list(QUERIES))
def test_every_drill_down_lists_exactly_the_customers_counted(scene, name, who):
    client = _client(scene, who)
    response = client.get(reverse("insight_dashboard", args=[name]), QUERIES[name])
    assert response.status_code == 200

    links = _urls(response.context["data"])
    assert links, "every dashboard drills down"
    for url, counted in links:
        assert url.startswith(reverse("customer_list") + "?")
        assert len(_listed(client, url)) == counted, url


def test_kpi_drill_downs_name_the_customers(scene):
    client = _client(scene, "admin")
    response = client.get(reverse("insight_dashboard", args=["overview"]), QUERIES["overview"])
    cards = {c["key"]: c for c in response.context["data"]["kpis"]["cards"]}

    assert _names(scene, _listed(client, cards["new"]["url"])) == {"b2"}
    assert _names(scene, _listed(client, cards["lost"]["url"])) == {"a4"}
    assert _names(scene, _listed(client, cards["upgraded"]["url"])) == {"a1", "b1"}
    assert _names(scene, _listed(client, cards["average_profitability"]["url"])) == {
        "a1", "a2", "a3", "b1", "b2",
    }  # fmt: skip


def test_drill_downs_keep_the_dashboard_filters(scene):
    client = _client(scene, "admin")
    response = client.get(reverse("insight_dashboard", args=["rfm"]), {"province": "Zhejiang"})
    cell = next(
        c for row in response.context["data"]["grid"]["rows"] for c in row["cells"]
        if (c["r"], c["f"]) == (5, 5)
    )  # fmt: skip

    assert "province=Zhejiang" in cell["url"]
    assert _names(scene, _listed(client, cell["url"])) == {"a1"}


def test_a_drill_down_list_carries_its_hidden_filters(scene):
    # given the customer list behind a KPI card (a filter the filter bar does not show)
    client = _client(scene, "admin")
    response = client.get(reverse("insight_dashboard", args=["overview"]), QUERIES["overview"])
    card = next(c for c in response.context["data"]["kpis"]["cards"] if c["key"] == "new")
    kpi = QueryDict(card["url"].split("?", 1)[1])["kpi"]

    # when it is opened
    page = client.get(card["url"]).text

    # then the filter form keeps the KPI as a hidden input (a change of a visible filter
    # narrows the drill-down) and shows it as a chip whose link removes only that filter
    assert f'<input type="hidden" name="kpi" value="{kpi}">' in page
    assert "Also filtered by" in page
    chips = re.findall(r'<a class="ms-1 text-reset" href="([^"]*)"', page)
    assert len(chips) == 1
    assert "kpi=" not in html.unescape(chips[0])


def test_pages_answer_each_role_and_htmx_gets_the_body_only(scene):
    rep = _client(scene, "rep")
    for name in QUERIES:
        page = rep.get(reverse("insight_dashboard", args=[name]))
        assert page.status_code == 200
        assert f'data-testid="dashboard-{name}"' in page.text
        assert 'data-chart-source="chart-' in page.text
    assert rep.get(reverse("insight_dashboards")).status_code == 200
    assert rep.get("/insights/dashboards/nothing-here/").status_code == 404

    fragment = rep.get(reverse("insight_dashboard", args=["rfm"]), HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.text and 'id="chart-rfm"' in fragment.text

    anonymous = Client().get(reverse("insight_dashboards"))
    assert anonymous.status_code == 302


def test_bad_filters_and_drill_downs_say_what_is_wrong(scene):
    client = _client(scene, "admin")

    page = client.get(reverse("insight_dashboard", args=["overview"]), {"end": "2026-13-01"})
    assert page.status_code == 200 and "Some filters are not valid" in page.text

    listed = client.get(reverse("customer_list"), {"kpi": "richest:2026-01-01:2026-02-01"})
    assert listed.status_code == 200
    assert "Expected &lt;KPI&gt;:&lt;start&gt;:&lt;end&gt;" in listed.text
    assert listed.context["page"].paginator.count == 0

    listed = client.get(reverse("customer_list"), {"ladder_to": "2026-10-31:flying"})
    assert "Expected &lt;date&gt;:&lt;stage&gt;" in listed.text


# --- Cached figures -------------------------------------------------------------------------


def _data(scene: dict[str, Any], who: str, name: str, **params: str) -> tuple[Any, Any]:
    """(figures, when they were computed) of a dashboard as ``who`` sees it."""
    response = _client(scene, who).get(
        reverse("insight_dashboard", args=[name]), {**QUERIES[name], **params}
    )
    assert response.status_code == 200
    return response.context["data"], response.context["computed_at"]


def _uncached(scene: dict[str, Any], settings: Any, who: str, name: str, **params: str) -> Any:
    seconds = dashboards_cache_seconds(settings)
    settings.GUANXI_INSIGHTS_DASHBOARD_CACHE_SECONDS = 0
    try:
        return _data(scene, who, name, **params)[0]
    finally:
        settings.GUANXI_INSIGHTS_DASHBOARD_CACHE_SECONDS = seconds


def dashboards_cache_seconds(settings: Any) -> int:
    return getattr(settings, "GUANXI_INSIGHTS_DASHBOARD_CACHE_SECONDS", 300)


def _filters(scene: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {},
        {"province": "Zhejiang"},
        {"team": str(scene["south"].pk)},
        {"owner": str(scene["users"]["rep"].pk)},
        {"rfm_segment": "champions", "group_by": "team"},
    ]


@pytest.mark.parametrize("who", ["admin", "rep", "other"])
def test_cached_figures_equal_the_uncached_ones_for_every_scope_and_filter(scene, settings, who):
    for name in QUERIES:
        for params in _filters(scene):
            # given the figures computed without the cache
            expected = _uncached(scene, settings, who, name, **params)

            # when the dashboard is opened twice with it
            first, first_at = _data(scene, who, name, **params)
            second, second_at = _data(scene, who, name, **params)

            # then both show the same figures, the second from the cache
            assert first == expected, (name, params)
            assert second == expected, (name, params)
            assert second_at == first_at


def test_a_rep_never_gets_another_scopes_cached_figures(scene, settings):
    # given the rep's figures in the cache
    mine, _at = _data(scene, "rep", "rfm")

    # when another rep opens the same dashboard with the same (default) filters
    theirs, _at = _data(scene, "other", "rfm")

    # then they get their own scope's figures
    assert theirs == _uncached(scene, settings, "other", "rfm")
    assert theirs["grid"]["total"] == 2 and mine["grid"]["total"] == 4  # b1, b2 | a1-a4
    # and a filter on the other rep's customers shows the rep nothing
    owner = str(scene["users"]["other"].pk)
    assert _data(scene, "rep", "rfm", owner=owner)[0]["grid"]["total"] == 0


def test_a_reassigned_customer_moves_at_once_to_its_new_owners_figures(scene, settings):
    from guanxi.customers.services import customer_assign_owner

    before = {who: _data(scene, who, "rfm")[0]["grid"]["total"] for who in ("rep", "other")}

    customer_assign_owner(
        actor=scene["users"]["admin"],
        customer=scene["customers"]["a1"],
        owner=scene["users"]["other"],
    )

    after = {who: _data(scene, who, "rfm")[0] for who in ("rep", "other")}
    assert (after["rep"]["grid"]["total"], after["other"]["grid"]["total"]) == (
        before["rep"] - 1,
        before["other"] + 1,
    )
    for who in ("rep", "other"):
        assert after[who] == _uncached(scene, settings, who, "rfm")


def test_a_deleted_customer_leaves_the_figures_at_once(scene, settings):
    from guanxi.customers.services import customer_delete

    assert _data(scene, "admin", "rfm")[0]["grid"]["total"] == 6

    customer_delete(actor=scene["users"]["admin"], customer=scene["customers"]["a1"])

    after = _data(scene, "admin", "rfm")[0]
    assert after["grid"]["total"] == 5
    assert after == _uncached(scene, settings, "admin", "rfm")


def test_an_order_changes_the_next_figures(scene, settings):
    from guanxi.sales.services import order_create

    # given the rep's ladder in the cache (a5 is a prospect: no purchase yet)
    before, _at = _data(scene, "rep", "ladder")
    assert next(s for s in before["funnel"]["stages"] if s["key"] == "prospect")["customers"] == 1

    # when an order of a5 is recorded
    order_create(
        actor=scene["users"]["rep"],
        data={"external_id": "cache-1", "customer": scene["customers"]["a5"]},
        lines=[{"description": "x", "quantity": 1, "unit_price": "80.00"}],
    )

    # then the next request shows the figures with it
    after, _at = _data(scene, "rep", "ladder")
    assert after == _uncached(scene, settings, "rep", "ladder")
    assert after["funnel"] != before["funnel"]


def test_a_refresh_changes_the_next_figures(scene, settings):
    from guanxi.insights.services import insight_refresh_request, insight_refresh_run

    # given the figures of the hand-made scores in the cache
    before, _at = _data(scene, "admin", "value")

    # when a refresh recomputes every customer from the orders (there are none)
    insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))

    # then the next request shows the refreshed figures
    after, _at = _data(scene, "admin", "value")
    assert after == _uncached(scene, settings, "admin", "value")
    assert after["pareto"]["grades"]["customers"] == 0
    assert before["pareto"]["grades"]["customers"] == 6


def test_committed_orders_make_the_cached_figures_stale(scene, django_capture_on_commit_callbacks):
    from guanxi.core.hooks import orders_changed
    from guanxi.insights import dashboard_cache

    version = dashboard_cache.data_version()
    with django_capture_on_commit_callbacks(execute=True):
        orders_changed([scene["customers"]["a1"].pk])

    assert dashboard_cache.data_version() != version


def test_the_page_says_when_its_figures_were_computed(scene):
    page = _client(scene, "rep").get(reverse("insight_dashboard", args=["rfm"]))

    assert 'data-testid="dashboard-computed-at"' in page.text
    assert "Figures computed:" in page.text
