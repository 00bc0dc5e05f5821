"""The screens people work in, clicked through in headless Chromium.

Each test starts from an empty browser profile against the live server with the tiny demo
company loaded. Every page visited must load without a JavaScript error or a failed request
(checked by the ``page`` fixture), and the main pages are screenshotted as test artifacts.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from guanxi.accounts.models import User
from guanxi.activities.models import Interaction
from guanxi.customers.models import Customer

from .conftest import log_in_as


def records_text(count: int) -> re.Pattern[str]:
    """The list footer's record count, e.g. "12 records"."""
    return re.compile(rf"\b{count} records?\b")


def test_log_in_with_the_form_then_log_out(
    unscored_company: dict[str, str], page: Any, live_server: Any, screenshots: Any
) -> None:
    # given
    page.goto("/customers/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/customers/"))
    screenshots.take(page, "login")

    # when: a wrong password first
    page.get_by_label("Username").fill("sales_rep")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    # then
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

    # when
    page.get_by_label("Password").fill(unscored_company["sales_rep"])
    page.get_by_role("button", name="Log in").click()

    # then: back where the user was going, as that user
    expect(page).to_have_url(live_server.url + "/customers/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    rep = User.objects.get(username="sales_rep")
    expect(page.get_by_role("button", name="Account menu")).to_contain_text(str(rep))

    # when
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("button", name="Log out").click()

    # then
    expect(page.get_by_role("button", name="Account menu")).to_have_count(0)
    page.goto("/customers/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_filter_the_customer_list_without_reloading_the_page(
    unscored_company: dict[str, str], context: Any, page: Any, live_server: Any, screenshots: Any
) -> None:
    # given
    log_in_as(context, live_server, User.objects.get(username="admin"))
    page.goto("/customers/")
    expect(page.locator("tbody tr")).not_to_have_count(0)
    expect(page.get_by_text(records_text(Customer.objects.count()))).to_be_visible()
    page.evaluate("window.notReloaded = true")
    organizations = Customer.objects.filter(kind="organization")
    city = organizations.exclude(city="").values_list("city", flat=True).first()

    # when: two filters, one a choice and one typed
    filters = page.get_by_role("search", name="Filters")
    filters.get_by_label("Kind", exact=True).select_option("organization")
    expect(page).to_have_url(re.compile(r"kind=organization"))
    filters.get_by_label("City", exact=True).fill(city)
    filters.get_by_role("button", name="Filter", exact=True).click()

    # then: the table shows exactly the matching customers, in the same page
    expected = organizations.filter(city__iexact=city)
    expect(page).to_have_url(re.compile(r"city="))
    expect(page.get_by_text(records_text(expected.count()))).to_be_visible()
    names = page.locator("#object-table tbody tr").evaluate_all(
        """rows => rows.map(row => [...row.querySelectorAll('a')].find(
               a => /^\\/customers\\/\\d+\\/$/.test(a.getAttribute('href'))).textContent.trim())"""
    )
    assert sorted(names) == sorted(c.name for c in expected)
    assert page.evaluate("window.notReloaded") is True
    screenshots.take(page, "customers-filtered")

    # when: the address is opened directly, the same filters apply
    page.goto(page.url)
    filters = page.get_by_role("search", name="Filters")
    expect(page.get_by_text(records_text(expected.count()))).to_be_visible()
    expect(filters.get_by_label("Kind", exact=True)).to_have_value("organization")


def test_global_search_finds_a_customer_and_opens_it(
    unscored_company: dict[str, str], context: Any, page: Any, live_server: Any, screenshots: Any
) -> None:
    # given: a rep searches for one of their customers by part of the name
    rep = User.objects.get(username="sales_rep")
    customer = Customer.objects.filter(owner=rep).order_by("name").first()
    assert customer is not None
    log_in_as(context, live_server, rep)
    page.goto("/")
    search = page.get_by_role("combobox", name="Search customers, contacts and orders")

    # when
    search.fill(customer.name)

    # then: the suggestions list it; choosing it opens the 360 page
    results = page.get_by_role("listbox", name="Search results")
    expect(results.get_by_role("option", name=customer.name).first).to_be_visible()
    screenshots.take(page, "search-suggestions")
    results.get_by_role("option", name=customer.name).first.click()
    expect(page).to_have_url(live_server.url + f"/customers/{customer.pk}/")

    # when: Enter opens every result on the search page
    search = page.get_by_role("combobox", name="Search customers, contacts and orders")
    search.fill(customer.external_id)
    search.press("Enter")

    # then
    expect(page).to_have_url(re.compile(r"/search/\?q="))
    expect(page.get_by_role("link", name=customer.name).first).to_be_visible()


def test_customer_360_shows_the_profile_value_and_takes_quick_actions(
    demo_company: dict[str, str], context: Any, page: Any, live_server: Any, screenshots: Any
) -> None:
    # given: the rep opens one of their own customers from the list
    rep = User.objects.get(username="sales_rep")
    customer = Customer.objects.filter(owner=rep).order_by("name").first()
    assert customer is not None
    log_in_as(context, live_server, rep)
    page.goto("/customers/")
    page.get_by_label("Search", exact=True).fill(customer.name)
    # The list follows the search box after a pause; wait for it before clicking.
    expect(page).to_have_url(re.compile(r"[?&]q="))
    page.get_by_role("link", name=customer.name, exact=True).first.click()

    # then
    expect(page).to_have_url(live_server.url + f"/customers/{customer.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(customer.name)
    expect(page.get_by_role("heading", name="Customer value")).to_be_visible()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    screenshots.take(page, "customer-360")
    page.evaluate("window.notReloaded = true")
    timeline = page.locator("#customer-timeline")

    # when: an interaction is logged from the quick actions
    form = page.locator("#quick-interaction")
    form.get_by_label("Channel", exact=True).select_option("phone")
    form.get_by_label("Subject", exact=True).fill("Browser test: follow-up call")
    form.get_by_label("Notes", exact=True).fill("Asked for a quote on the spring range.")
    form.get_by_role("button", name="Log an interaction").click()

    # then: stored for that customer by that user, and on the timeline without a reload
    expect(timeline).to_contain_text("Browser test: follow-up call")
    logged = Interaction.objects.get(subject="Browser test: follow-up call")
    assert (logged.customer_id, logged.user_id, logged.channel) == (customer.pk, rep.pk, "phone")

    # when: a note, then a task
    page.get_by_role("tab", name="Add a note").click()
    form = page.locator("#quick-note")
    form.get_by_label("Note", exact=True).fill("Browser test: prefers calls after 3 pm")
    form.get_by_role("button", name="Add a note").click()
    expect(timeline).to_contain_text("prefers calls after 3 pm")
    page.get_by_role("tab", name="Add a task").click()
    form = page.locator("#quick-task")
    form.get_by_label("Title", exact=True).fill("Browser test: send the quote")
    form.get_by_role("button", name="Add a task").click()

    # then
    expect(timeline).to_contain_text("Browser test: send the quote")
    assert page.evaluate("window.notReloaded") is True
    screenshots.take(page, "customer-360-after-quick-actions")


def test_switch_to_simplified_chinese_and_back(
    unscored_company: dict[str, str], context: Any, page: Any, live_server: Any, screenshots: Any
) -> None:
    # given
    log_in_as(context, live_server, User.objects.get(username="sales_manager"))
    page.goto("/customers/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # when
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Switch").click()

    # then: the same page, in Chinese
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(live_server.url + "/customers/")
    expect(page.get_by_role("heading", level=1)).to_have_text("客户")
    screenshots.take(page, "customers-zh-hans")

    # when: back to English (the label is now Chinese)
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()

    # then
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")


def test_insights_page_opens_for_a_manager(
    demo_company: dict[str, str], context: Any, page: Any, live_server: Any, screenshots: Any
) -> None:
    # given
    log_in_as(context, live_server, User.objects.get(username="sales_manager"))
    page.goto("/")

    # when
    navigation = page.get_by_role("navigation", name="Main")
    navigation.get_by_role("button", name="Insights").click()
    navigation.get_by_role("link", name="Refresh runs and model quality").click()

    # then
    expect(page).to_have_url(live_server.url + "/insights/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights")
    screenshots.take(page, "insights")


def test_phone_width_menu_opens_from_the_toggler(
    unscored_company: dict[str, str], browser: Any, live_server: Any, problems: Any
) -> None:
    # given: a phone-sized window
    from .conftest import watch

    phone = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    try:
        log_in_as(phone, live_server, User.objects.get(username="admin"))
        page = phone.new_page()
        watch(page, problems)
        page.goto("/customers/")
        menu = page.get_by_role("navigation", name="Main")
        expect(menu).to_be_hidden()

        # when
        page.get_by_role("button", name="Show or hide the menu").click()

        # then
        expect(menu).to_be_visible()
        expect(menu.get_by_role("button", name="Customers")).to_be_visible()
    finally:
        phone.close()
    assert not problems.all(), problems.all()
