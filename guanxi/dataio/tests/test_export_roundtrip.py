"""Export, then import into an emptied database: every field value comes back identical.

The data covers what an export must carry for a re-import to reconnect everything: tags,
custom fields of each type, owner and team, a contact's organization, orders with several
lines (one without a product), a reversal with negative amounts, interactions with their
contact and user, Chinese text, multi-line notes and formula payloads in text fields.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from guanxi.activities import services as activity_services
from guanxi.activities.models import Interaction
from guanxi.core.permissions import Role
from guanxi.customers import services as customer_services
from guanxi.customers.models import Contact, Customer, CustomFieldDefinition
from guanxi.dataio import exporting
from guanxi.dataio.importing import run_import
from guanxi.sales import services as sales_services
from guanxi.sales.models import Order, OrderLine, Product
from guanxi.testing import make_user

pytestmark = pytest.mark.django_db

#: Import order: what a row refers to exists before it.
KINDS = ("products", "customers", "contacts", "orders", "interactions")

CUSTOMER_FIELDS = (
    "external_id", "kind", "name", "market", "buyer_motive", "email", "phone", "country",
    "province", "city", "address", "industry", "language", "age_band", "gender", "income_band",
    "education", "occupation", "org_size", "ownership", "financial_strength", "money",
    "money_note", "authority", "authority_note", "need", "need_note", "qualification_status",
    "credit_rating", "credit_limit", "credit_overdue", "source", "custom_fields", "notes",
)  # fmt: skip
CONTACT_FIELDS = (
    "external_id", "name", "title", "email", "phone", "buying_role", "stance", "is_primary",
    "notes",
)  # fmt: skip
PRODUCT_FIELDS = ("sku", "name", "category", "list_price", "unit_cost", "currency", "is_active")
ORDER_FIELDS = ("external_id", "ordered_at", "channel", "currency", "total_amount", "kind")
LINE_FIELDS = ("line_number", "description", "quantity", "unit_price", "amount")
INTERACTION_FIELDS = ("channel", "direction", "subject", "notes", "outcome", "occurred_at")


def _values(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def snapshot() -> dict[str, Any]:
    """Every field value of every record, keyed by natural keys (never by database ids)."""
    customers = {
        c.external_id: {
            **_values(c, CUSTOMER_FIELDS),
            "tags": sorted(t.name for t in c.tags.all()),
            "owner": c.owner.username if c.owner else None,
            "team": c.team.name if c.team else None,
        }
        for c in Customer.all_objects.prefetch_related("tags").select_related("owner", "team")
    }
    contacts = {
        c.external_id: {**_values(c, CONTACT_FIELDS), "customer": c.customer.external_id}
        for c in Contact.all_objects.select_related("customer")
    }
    products = {p.sku: _values(p, PRODUCT_FIELDS) for p in Product.objects.all()}
    orders = {
        o.external_id: {
            **_values(o, ORDER_FIELDS),
            "customer": o.customer.external_id,
            "reverses": o.reverses.external_id if o.reverses else None,
            "lines": [
                {
                    **_values(line, LINE_FIELDS),
                    "product": line.product.sku if line.product else None,
                }
                for line in o.lines.order_by("line_number")
            ],
        }
        for o in Order.objects.select_related("customer", "reverses")
    }
    interactions = sorted(
        (
            {
                **_values(i, INTERACTION_FIELDS),
                "customer": i.customer.external_id,
                "contact": i.contact.external_id if i.contact else None,
                "user": i.user.username if i.user else None,
            }
            for i in Interaction.objects.select_related("customer", "contact", "user")
        ),
        key=lambda row: (row["customer"], row["occurred_at"], row["subject"]),
    )
    return {
        "customers": customers,
        "contacts": contacts,
        "products": products,
        "orders": orders,
        "interactions": interactions,
    }


def differences(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """``(where, before, after)`` for every value that differs (readable test failures)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after), key=str):
            found += differences(before.get(key), after.get(key), f"{path}/{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            found += differences(old, new, f"{path}[{index}]")
        return found
    return [] if before == after else [(path, before, after)]


def make_data() -> Any:
    """Records of every kind, through the services, with the awkward values of real data."""
    admin = make_user("admin", Role.ADMINISTRATOR)
    rep = make_user("rep_wang", Role.SALES_REP)
    from guanxi.accounts.models import Team

    team = Team.objects.create(name="华南销售部")
    rep.team = team
    rep.save()
    CustomFieldDefinition.objects.create(name="loyalty_card", label="卡号", field_type="text")
    CustomFieldDefinition.objects.create(name="visits", label="Visits", field_type="integer")
    CustomFieldDefinition.objects.create(name="score", label="Score", field_type="decimal")
    CustomFieldDefinition.objects.create(name="vip", label="VIP", field_type="boolean")
    CustomFieldDefinition.objects.create(name="since", label="Since", field_type="date")
    tool = sales_services.product_create(
        actor=admin,
        data={
            "sku": "P-1", "name": "电钻 Drill", "category": "工具", "list_price": Decimal("99.50"),
            "unit_cost": Decimal("40.00"), "currency": "CNY",
        },
    )  # fmt: skip
    sales_services.product_create(
        actor=admin,
        data={
            "sku": "P-2",
            "name": "=HYPERLINK(1)",
            "list_price": Decimal("0"),
            "is_active": False,
        },
    )
    org = customer_services.customer_create(
        actor=admin,
        data={
            "external_id": "C-1", "kind": "organization", "name": "广州市白云区贸易有限公司",
            "market": "industrial", "buyer_motive": "trading", "email": "buy@baiyun.example.cn",
            "phone": "+86 20 8888 0000", "country": "CN", "province": "广东", "city": "广州",
            "address": "白云大道 1 号", "industry": "批发", "language": "zh-hans",
            "org_size": "medium", "ownership": "private", "financial_strength": "strong",
            "money": "yes", "money_note": "年采购 120 万", "authority": "yes",
            "authority_note": "-采购总监决定", "need": "yes", "need_note": "@扩产",
            "credit_rating": "A", "credit_limit": Decimal("500000.00"), "credit_overdue": True,
            "source": "referral", "notes": "第一行\n第二行 =1+1\n+86 热线",
            "custom_fields": {
                "loyalty_card": "+86-001", "visits": 12, "score": "0.125", "vip": True,
                "since": "2020-02-29",
            },
            "owner": rep, "team": team,
        },
        tags=["VIP", "重点客户", "=cmd"],
    )  # fmt: skip
    person = customer_services.customer_create(
        actor=admin,
        data={
            "external_id": "C-2", "kind": "person", "name": "李小龙", "market": "consumer",
            "email": "li@example.com", "age_band": "35_44", "gender": "male",
            "income_band": "high", "education": "bachelor", "occupation": "-engineer",
            "credit_limit": None, "owner": admin,
        },
    )  # fmt: skip
    contact = customer_services.contact_create(
        actor=admin,
        data={
            "customer": org, "external_id": "K-1", "name": "张伟", "title": "采购总监",
            "email": "zhang@baiyun.example.cn", "phone": "13800138000",
            "buying_role": "decision_maker", "stance": "supporter", "is_primary": True,
            "notes": "\t喜欢电话沟通",
        },
    )  # fmt: skip
    moment = dt.datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    order = sales_services.order_create(
        actor=admin,
        data={
            "external_id": "O-1", "customer": org, "ordered_at": moment, "channel": "online",
            "currency": "CNY",
        },
        lines=[
            {"product": tool, "quantity": "3", "unit_price": "99.50"},
            {"description": "安装服务 @home", "quantity": "1.5", "unit_price": "200.00"},
        ],
    )  # fmt: skip
    sales_services.order_reverse(actor=admin, order=order, reason="退货")
    sales_services.order_create(
        actor=admin,
        data={
            "external_id": "O-2",
            "customer": person,
            "ordered_at": moment - dt.timedelta(days=400),
        },
        lines=[{"product": tool, "quantity": "1", "unit_price": "89.00", "description": "促销"}],
    )
    activity_services.interaction_create(
        actor=rep,
        data={
            "customer": org, "contact": contact, "channel": "phone", "direction": "inbound",
            "subject": "询价 =SUM(A1)", "notes": "客户问\r\n价格", "outcome": "positive",
            "occurred_at": moment + dt.timedelta(hours=2),
        },
    )  # fmt: skip
    activity_services.interaction_create(
        actor=admin,
        data={
            "customer": person, "channel": "email", "subject": "Welcome",
            "occurred_at": moment,
        },
    )  # fmt: skip
    return admin


def export_file(admin: Any, kind: str, fmt: str, folder: Path) -> Path:
    export = exporting.start_export(actor=admin, kind=kind, format=fmt)
    path = folder / f"{kind}.{fmt}"
    with path.open("wb") as target:
        if fmt == "csv":
            for chunk in export.iter_csv():
                target.write(chunk)
        else:
            export.write_xlsx(target)
    return path


def empty_the_database() -> None:
    """Remove every CRM record (users, teams, tags and custom field definitions stay)."""
    Interaction.objects.all().delete()
    OrderLine.objects.all()._raw_delete(OrderLine.objects.db)
    Order.objects.filter(reverses__isnull=False)._raw_delete(Order.objects.db)
    Order.objects.all()._raw_delete(Order.objects.db)
    Contact.all_objects.all().delete()
    Customer.tags.through.objects.all().delete()
    Customer.all_objects.all().delete()
    Product.objects.all().delete()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_gives_back_every_field_value(fmt: str, tmp_path: Path) -> None:
    # given
    admin = make_data()
    before = snapshot()
    files = {kind: export_file(admin, kind, fmt, tmp_path) for kind in KINDS}
    empty_the_database()
    assert Customer.all_objects.count() == Order.objects.count() == 0
    # when
    runs = {kind: run_import(files[kind], kind, actor=admin) for kind in KINDS}
    # then: no row refused, every row created, every value as before (all listed if not)
    problems: list[Any] = [
        (kind, "row", e.row, e.column, e.value, e.message)
        for kind, run in runs.items()
        for e in run.errors.all()
    ]
    problems += [
        (kind, "counts", run.rows_read, run.created)
        for kind, run in runs.items()
        if run.rows_read != run.created
    ]
    problems += differences(before, snapshot())
    assert not problems, "\n".join(map(repr, problems))


def test_importing_an_export_over_the_same_data_changes_nothing(tmp_path: Path) -> None:
    # given
    admin = make_data()
    before = snapshot()
    files = {kind: export_file(admin, kind, "csv", tmp_path) for kind in KINDS}
    # when
    runs = {kind: run_import(files[kind], kind, actor=admin) for kind in KINDS}
    # then
    problems: list[Any] = [
        (kind, run.rows_read, run.created, run.updated, run.unchanged, run.rejected)
        for kind, run in runs.items()
        if run.unchanged != run.rows_read
    ]
    problems += differences(before, snapshot())
    assert not problems, "\n".join(map(repr, problems))


def test_a_second_export_of_the_reimported_data_is_byte_identical(tmp_path: Path) -> None:
    # given
    admin = make_data()
    first = {kind: export_file(admin, kind, "csv", tmp_path) for kind in KINDS}
    contents = {kind: path.read_bytes() for kind, path in first.items()}
    empty_the_database()
    for kind in KINDS:
        run_import(first[kind], kind, actor=admin)
    # when
    again = tmp_path / "again"
    again.mkdir()
    second = {kind: export_file(admin, kind, "csv", again).read_bytes() for kind in KINDS}
    # then
    for kind in KINDS:
        assert second[kind] == contents[kind], kind
