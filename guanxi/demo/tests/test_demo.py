"""``guanxi demo``: loading, idempotence, reset, locales, consistency and visibility."""

from __future__ import annotations

import io
import re
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from guanxi.accounts.models import User
from guanxi.activities.models import Interaction
from guanxi.customers.models import Contact, Customer, CustomerConsent
from guanxi.customers.selectors import customer_list
from guanxi.demo.generator import DemoGenerator, DemoSpec
from guanxi.demo.loader import load_demo, wipe_crm_data
from guanxi.demo.users import DEMO_USERS, ensure_demo_users, read_passwords
from guanxi.sales.models import Order, OrderLine, Product
from guanxi.sales.selectors import order_list

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_home(settings: Any, tmp_path: Path) -> Path:
    """A private GUANXI_HOME for the logins file, and a fast password hasher."""
    settings.GUANXI_HOME = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, "--no-migrate", "--no-insights", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "customers": Customer.all_objects.count(),
        "contacts": Contact.all_objects.count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "products": Product.objects.count(),
        "interactions": Interaction.objects.count(),
        "consents": CustomerConsent.objects.count(),
    }


def test_demo_loads_the_requested_number_of_customers_with_everything_attached() -> None:
    # when
    output = run_demo("--size", "tiny")

    # then
    loaded = counts()
    assert loaded["customers"] == 60
    assert loaded["products"] == 60
    assert loaded["contacts"] > 0 and loaded["orders"] > 0 and loaded["interactions"] > 0
    assert loaded["lines"] >= loaded["orders"]
    assert f"{loaded['lines']:,} order lines" in output
    assert "rows/s" in output


def test_explicit_counts_override_the_size_and_hit_the_line_target() -> None:
    # when
    run_demo("--size", "medium", "--customers", "300", "--order-lines", "3000", "--seed", "7")

    # then: the expected line count is calibrated to the target; the draw varies around it
    assert Customer.all_objects.count() == 300
    assert 1500 < OrderLine.objects.count() < 6000


def test_running_again_does_not_duplicate_and_reset_reloads() -> None:
    # given
    run_demo("--size", "tiny")
    first = counts()

    # when
    output = run_demo("--size", "tiny")

    # then
    assert counts() == first
    assert "nothing loaded" in output

    # when
    run_demo("--size", "tiny", "--reset", "--seed", "42")

    # then: same seed, same company; users survive the reset
    assert counts() == first
    assert User.objects.filter(username="admin").count() == 1


def test_reset_removes_records_added_after_the_demo() -> None:
    # given
    run_demo("--size", "tiny")
    extra = Customer.objects.create(name="Added later", external_id="X-1")

    # when
    run_demo("--size", "tiny", "--reset")

    # then
    assert not Customer.all_objects.filter(pk=extra.pk, name="Added later").exists()
    assert Customer.all_objects.count() == 60


def test_chinese_locale_gives_chinese_names_regions_and_language() -> None:
    # when
    run_demo("--size", "tiny", "--locale", "zh-hans")

    # then
    han = re.compile(r"^[\u4e00-\u9fff]+$")
    people = Customer.objects.filter(kind="person")
    assert people.exists()
    assert all(han.match(c.name) and 2 <= len(c.name) <= 4 for c in people)
    organizations = Customer.objects.filter(kind="organization")
    assert organizations.exists()
    assert all(len(re.findall(r"[\u4e00-\u9fff]", c.name)) >= 4 for c in organizations)
    assert organizations.filter(name__endswith="有限公司").exists()
    assert set(Customer.objects.values_list("language", flat=True)) == {"zh-hans"}
    assert set(Customer.objects.values_list("country", flat=True)) == {"CN"}
    assert Customer.objects.filter(province__endswith="省").exists()


def test_english_locale_gives_english_names() -> None:
    # when
    run_demo("--size", "tiny", "--locale", "en")

    # then
    people = Customer.objects.filter(kind="person")
    assert all(re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", c.name) for c in people)
    assert set(Customer.objects.values_list("language", flat=True)) == {"en"}


def test_every_order_total_is_exactly_the_sum_of_its_lines() -> None:
    # when
    run_demo("--customers", "120", "--order-lines", "1200")

    # then
    orders = Order.objects.prefetch_related("lines")
    assert orders.exists()
    for order in orders:
        lines = list(order.lines.all())
        assert [line.line_number for line in lines] == list(range(1, len(lines) + 1))
        assert 1 <= len(lines) <= 5
        assert order.total_amount == sum(line.amount for line in lines)
        assert order.total_amount.as_tuple().exponent == -2
        for line in lines:
            assert line.amount == line.quantity * line.unit_price
            assert line.product_id is not None
        assert order.currency == "CNY"
    external_ids = list(Order.objects.values_list("external_id", flat=True))
    assert len(external_ids) == len(set(external_ids))


def test_purchase_histories_are_heterogeneous() -> None:
    # when
    run_demo("--customers", "400", "--order-lines", "4000")

    # then: prospects without orders, one-time buyers, and heavy repeat buyers
    per_customer = Counter(Order.objects.values_list("customer_id", flat=True))
    orders_of = [per_customer.get(pk, 0) for pk in Customer.objects.values_list("pk", flat=True)]
    assert orders_of.count(0) > 0
    assert orders_of.count(1) > 0
    assert max(orders_of) >= 8
    assert len(set(orders_of)) >= 6
    # spend levels differ by customer (Gamma-Gamma), not only by number of orders
    averages = [
        sum(o.total_amount for o in Order.objects.filter(customer_id=pk)) / n
        for pk, n in per_customer.items()
    ]
    assert max(averages) > 5 * min(averages)


def test_segmentation_attributes_are_filled_and_qualification_follows_man() -> None:
    # when
    run_demo("--size", "tiny", "--customers", "200")

    # then
    for customer in Customer.objects.all():
        assert customer.qualification_status == customer.derive_qualification()
        assert customer.owner_id is not None and customer.team_id is not None
        if customer.kind == "person":
            assert customer.market == "consumer" and customer.age_band and customer.gender
            assert customer.income_band and customer.education and customer.occupation
        else:
            assert customer.market in {"industrial", "organizational"}
            assert customer.org_size and customer.ownership and customer.financial_strength
            assert customer.industry and customer.buyer_motive != "consumer"
    statuses = set(Customer.objects.values_list("qualification_status", flat=True))
    assert {"qualified", "partial"} <= statuses
    assert Customer.objects.filter(tags__isnull=False).exists()
    assert set(Contact.objects.values_list("buying_role", flat=True)) >= {"decision_maker"}
    assert all(c.customer.kind == "organization" for c in Contact.objects.all())


def test_demo_logins_are_private_stable_and_printed(demo_home: Path) -> None:
    # when
    first_output = run_demo("--size", "tiny")
    second_output = run_demo("--size", "tiny")

    # then
    path = demo_home / "demo_logins.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    passwords = read_passwords(path)
    assert set(passwords) == {username for username, *_ in DEMO_USERS}
    assert f"username admin  password {passwords['admin']}" in first_output
    assert passwords["sales_rep"] in first_output
    assert (
        first_output.split("guanxi demo logins")[1] == second_output.split("guanxi demo logins")[1]
    )
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(passwords["admin"])


def test_a_lost_logins_file_gets_new_passwords_that_work(demo_home: Path) -> None:
    # given
    ensure_demo_users()
    (demo_home / "demo_logins.txt").unlink()

    # when
    logins, _staff = ensure_demo_users()

    # then
    rep = next(login for login in logins if login.username == "sales_rep")
    assert User.objects.get(username="sales_rep").check_password(rep.password)


def test_loaded_data_is_visible_through_selectors_by_role() -> None:
    # given
    run_demo("--customers", "150", "--order-lines", "1000")
    rep = User.objects.get(username="sales_rep")
    manager = User.objects.get(username="sales_manager")
    analyst = User.objects.get(username="analyst")

    # when
    seen_by_rep = customer_list(user=rep)

    # then: a rep sees exactly the customers they own, a manager the team's, analysts all
    assert seen_by_rep.exists()
    assert set(seen_by_rep) == set(Customer.objects.filter(owner=rep))
    assert set(order_list(user=rep)) == set(Order.objects.filter(customer__owner=rep))
    assert set(customer_list(user=manager)) == set(Customer.objects.filter(team=manager.team))
    assert customer_list(user=analyst).count() == Customer.objects.count()
    assert customer_list(user=manager).count() < Customer.objects.count()


def _schema(tables: list[str]) -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        return {
            table: set(connection.introspection.get_constraints(cursor, table)) for table in tables
        }


def test_bulk_path_matches_the_database_and_restores_indexes_and_sequences() -> None:
    # given: COPY on PostgreSQL, executemany on SQLite (CI runs the suite on both)
    _logins, staff = ensure_demo_users()
    tables = [m._meta.db_table for m in (Customer, Order, OrderLine, Interaction, Contact)]
    before = _schema(tables)

    # when
    stats = load_demo(DemoSpec(customers=80, order_lines=500, seed=3), staff=staff, chunk_size=25)

    # then
    expected = "postgresql copy" if connection.vendor == "postgresql" else "sqlite executemany"
    assert stats.method == expected
    assert stats.rows["customer"] == Customer.all_objects.count() == 80
    assert stats.rows["orderline"] == OrderLine.objects.count()
    assert _schema(tables) == before
    # new records get fresh ids after the bulk-loaded ones
    created = Customer.objects.create(name="After the load")
    assert created.pk > max(
        Customer.all_objects.exclude(pk=created.pk).values_list("pk", flat=True)
    )


def test_wipe_keeps_users_and_teams() -> None:
    # given
    run_demo("--size", "tiny")
    users = User.objects.count()

    # when
    wipe_crm_data()

    # then
    assert Customer.all_objects.count() == 0 and Order.objects.count() == 0
    assert User.objects.count() == users


def test_an_interrupted_load_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: the generator fails on the second chunk
    _logins, staff = ensure_demo_users()
    tables = [m._meta.db_table for m in (Customer, Order, OrderLine, Interaction, Contact)]
    before = _schema(tables)
    original = DemoGenerator._chunk
    calls: list[int] = []

    def failing_chunk(self: DemoGenerator, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DemoGenerator, "_chunk", failing_chunk)

    # when
    with pytest.raises(RuntimeError, match="disk full"):
        load_demo(DemoSpec(customers=100, order_lines=500), staff=staff, chunk_size=30)

    # then: all or nothing, and every index is back
    assert Customer.all_objects.count() == 0
    assert Product.objects.count() == 0 and Order.objects.count() == 0
    assert _schema(tables) == before


def test_demo_scores_every_customer_after_loading(demo_home: Path) -> None:
    # when the demo loads without --no-insights
    out = io.StringIO()
    call_command("demo", "--size", "tiny", "--no-migrate", stdout=out, stderr=io.StringIO())
    # then every customer has its insight row and the run succeeded
    from guanxi.insights.models import CustomerInsight, RefreshRun

    assert CustomerInsight.objects.count() == Customer.objects.count()
    run = RefreshRun.objects.get()
    assert run.status == "succeeded", run.error
    assert "Refresh run #" in out.getvalue()
