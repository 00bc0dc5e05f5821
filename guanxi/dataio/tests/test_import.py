"""Import: accounting, idempotence, encodings, headers, blanks, trash, scope and history."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum

from guanxi.activities.models import Interaction
from guanxi.core.models import ChangeRecord
from guanxi.customers.models import Contact, Customer
from guanxi.customers.services import customer_delete
from guanxi.dataio.importing import ImportRefused, inspect_file, run_import
from guanxi.dataio.importing.reading import detect_encoding
from guanxi.dataio.models import ImportMapping, ImportRun
from guanxi.sales.models import Order, OrderLine, Product


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def accounted(run: ImportRun) -> bool:
    return run.rows_read == run.created + run.updated + run.unchanged + run.rejected


# --- orders --------------------------------------------------------------------------------


def test_100k_order_lines_with_1_percent_bad_rows_give_exact_accounting(world, tmp_path):
    # given 100,000 order lines, one per order, of which 1% are bad in four ways
    admin = world.users["administrator"]
    customers = [r.customer.external_id for r in world.records.values()]
    path = tmp_path / "orders.csv"
    bad = {}
    with path.open("wb") as handle:
        handle.write("订单号,客户编号,下单时间,产品编码,描述,数量,单价,金额\n".encode())
        number = 1
        for i in range(99_000):
            number += 1
            kind = i % 400 if i % 400 < 4 else None
            customer = customers[i % len(customers)]
            line = [
                f"N-{i}",
                customer,
                "2024-03-01 10:00",
                "SKU-1",
                "Widget",
                "2",
                "10.50",
                "21.00",
            ]
            if kind == 0:
                line[4] = "x" * 250
                bad[number] = "描述"
            elif kind == 1:
                line[2] = "2024-13-45"
                bad[number] = "下单时间"
            if kind == 2:
                handle.write(",".join(line).encode().replace(b"Widget", b"Wid\xff\xfeget") + b"\n")
                bad[number] = "描述"
            else:
                handle.write((",".join(line) + "\n").encode())
            if kind == 3:  # the same row twice
                number += 1
                handle.write((",".join(line) + "\n").encode())
                bad[number] = ""
        while number < 100_001:
            number += 1
            handle.write(f"M-{number},{customers[0]},2024-03-02,SKU-1,,1,5.00,\n".encode())
    assert 980 <= len(bad) <= 1000

    # when
    run = run_import(path, "orders", actor=admin)

    # then every row is accounted for and every bad row is reported with its column
    assert run.rows_read == 100_000
    assert accounted(run)
    errors = {e.row: e for e in run.errors.all()}
    assert sorted(set(bad) - set(errors))[:5] == [], [errors.get(r) for r in sorted(set(bad))[:8]]
    assert run.rejected == len(bad)
    assert run.created == 100_000 - len(bad)
    errors = {e.row: e for e in run.errors.all()}
    assert set(errors) == set(bad)
    for row, column in bad.items():
        assert errors[row].column == column
    date_error = next(e for e in errors.values() if e.column == "下单时间")
    assert "'2024-13-45' is not a date" in date_error.message
    assert any("duplicate of row" in e.message for e in errors.values())
    assert any("invalid bytes" in e.message for e in errors.values())
    assert (
        OrderLine.objects.filter(order__external_id__startswith="N-").count()
        + OrderLine.objects.filter(order__external_id__startswith="M-").count()
        == run.created
    )


def _orders_file(tmp_path: Path, world) -> Path:
    customers = [r.customer.external_id for r in world.records.values()]
    rows = [["Order Number", "Customer ID", "Order Date", "SKU", "Line", "Quantity", "Unit Price"]]
    for i in range(30):
        for line in (1, 2):
            rows.append(
                [
                    f"R-{i}",
                    customers[i % 3],
                    f"2024-01-{i % 28 + 1:02d}",
                    "SKU-1",
                    str(line),
                    "3",
                    "1.25",
                ]
            )
    return write_csv(tmp_path / "orders.csv", rows)


def test_three_reimports_of_one_file_change_nothing(world, tmp_path):
    admin = world.users["administrator"]
    orders = _orders_file(tmp_path, world)
    customers = write_csv(
        tmp_path / "customers.csv",
        [["客户编号", "客户名称", "邮箱", "城市"]]
        + [[f"X-{i}", f"客户{i}", f"x{i}@example.com", "上海"] for i in range(20)],
    )
    first = (
        run_import(orders, "orders", actor=admin),
        run_import(customers, "customers", actor=admin),
    )
    assert first[0].created == 60 and first[1].created == 20
    history = ChangeRecord.objects.count()
    lines = OrderLine.objects.count()
    for _ in range(3):
        again = run_import(orders, "orders", actor=admin)
        assert (again.created, again.unchanged, again.rejected) == (0, 60, 0)
        again = run_import(customers, "customers", actor=admin)
        assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 20, 0)
    assert ChangeRecord.objects.count() == history
    assert OrderLine.objects.count() == lines
    assert Order.objects.get(external_id="R-0").total_amount == Decimal("7.50")


def test_an_order_recorded_with_other_lines_is_rejected_not_changed(world, tmp_path):
    admin = world.users["administrator"]
    customer = world.records["other"].customer.external_id
    first = write_csv(
        tmp_path / "a.csv",
        [["order", "customer", "date", "amount"], ["Z-1", customer, "2024-01-01", "5"]],
    )
    run_import(first, "orders", actor=admin)
    second = write_csv(
        tmp_path / "b.csv",
        [["order", "customer", "date", "amount"], ["Z-1", customer, "2024-01-01", "6"]],
    )
    run = run_import(second, "orders", actor=admin)
    assert run.rejected == 1
    assert "record a reversal" in run.errors.get().message
    assert Order.objects.get(external_id="Z-1").total_amount == Decimal("5")


@pytest.mark.parametrize("kind", ["orders", "interactions"])
def test_a_date_outside_the_calendar_in_utc_rejects_the_row(world, tmp_path, kind):
    # given year 1 in the site's zone (+08:00): before year 1 once stored in UTC
    admin = world.users["administrator"]
    customer = world.records["other"].customer.external_id
    header = (
        ["order", "customer", "date", "amount"]
        if kind == "orders"
        else ["customer_external_id", "occurred_at", "channel", "subject"]
    )
    rows = [
        ["Y-1", customer, "0001-01-01", "5"] if kind == "orders" else [customer, "0001-01-01",
         "phone", "Year one"],
        ["Y-2", customer, "2024-01-01", "5"] if kind == "orders" else [customer, "2024-01-01",
         "phone", "Year 2024"],
    ]  # fmt: skip
    path = write_csv(tmp_path / "y.csv", [header, *rows])
    # when
    run = run_import(path, kind, actor=admin)
    # then the row is rejected with its reason and the other row is imported
    assert (run.created, run.rejected) == (1, 1)
    error = run.errors.get()
    assert error.row == 2 and "out of range" in error.message
    if kind == "orders":
        assert not Order.objects.filter(external_id="Y-1").exists()
    else:
        assert not Interaction.objects.filter(subject="Year one").exists()


@pytest.mark.django_db(transaction=True)
def test_an_import_outside_a_transaction_leaves_the_foreign_key_checks_on(world, tmp_path):
    # given a run that commits its own batches (the order service checks the references
    # of its writes set-based and turns the per-row checks off meanwhile)
    admin = world.users["administrator"]
    customer = world.records["other"].customer
    path = write_csv(
        tmp_path / "o.csv",
        [["order", "customer", "date", "sku", "amount"], ["F-1", customer.external_id,
         "2024-01-01", "SKU-1", "5"]],
    )  # fmt: skip
    Product.objects.get_or_create(sku="SKU-1", defaults={"name": "Widget", "list_price": 5})
    # when it runs
    run = run_import(path, "orders", actor=admin)
    # then the order refers to its customer, product and recorder
    assert run.created == 1
    order = Order.objects.get(external_id="F-1")
    assert (order.customer_id, order.created_by_id) == (customer.pk, admin.pk)
    assert order.lines.get().product_id == Product.objects.get(sku="SKU-1").pk
    # and the connection checks foreign keys row by row again
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1
        else:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"


def test_an_order_number_repeated_further_down_is_compared_with_the_first(world, tmp_path):
    # given a file where order Y-1 comes again after another order: once the same, once not
    admin = world.users["administrator"]
    customer = world.records["other"].customer.external_id
    header = ["order", "customer", "date", "line", "amount"]
    path = write_csv(
        tmp_path / "o.csv",
        [header, ["Y-1", customer, "2024-01-01", "1", "5"],
         ["Y-2", customer, "2024-01-02", "1", "7"],
         ["Y-1", customer, "2024-01-01", "1", "5"],
         ["Y-3", customer, "2024-01-03", "1", "9"],
         ["Y-1", customer, "2024-01-01", "1", "6"]],
    )  # fmt: skip
    # when it is imported
    run = run_import(path, "orders", actor=admin)
    # then the first Y-1 is recorded, its copy is unchanged, the other version refused
    assert (run.rows_read, run.created, run.unchanged, run.rejected) == (5, 3, 1, 1)
    assert accounted(run)
    assert run.errors.get().row == 6
    assert Order.objects.get(external_id="Y-1").total_amount == Decimal("5")
    assert Order.objects.get(external_id="Y-1").lines.count() == 1


def test_orders_of_customers_outside_a_reps_scope_are_refused(world, tmp_path):
    rep = world.users["sales_rep"]
    own = world.records_for("sales_rep")["own"].customer.external_id
    other = world.records["other"].customer.external_id
    path = write_csv(
        tmp_path / "o.csv",
        [
            ["order", "customer", "date", "amount"],
            ["S-1", own, "2024-01-01", "5"],
            ["S-2", other, "2024-01-01", "5"],
        ],
    )
    run = run_import(path, "orders", actor=rep)
    assert (run.created, run.rejected) == (1, 1)
    assert run.errors.get().row == 3
    assert not Order.objects.filter(external_id="S-2").exists()


def test_dry_run_and_all_or_nothing_write_nothing(world, tmp_path):
    admin = world.users["administrator"]
    customer = world.records["other"].customer.external_id
    path = write_csv(
        tmp_path / "o.csv",
        [
            ["order", "customer", "date", "amount"],
            ["D-1", customer, "2024-01-01", "5"],
            ["D-2", customer, "bad", "5"],
        ],
    )
    dry = run_import(path, "orders", actor=admin, dry_run=True)
    assert (dry.dry_run, dry.created, dry.rejected) == (True, 1, 1)
    strict = run_import(path, "orders", actor=admin, all_or_nothing=True)
    assert strict.status == "failed" and strict.errors.count() == 1
    assert not Order.objects.filter(external_id__in=["D-1", "D-2"]).exists()


# --- encodings and headers -----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16", "utf-8"])
def test_encodings_are_detected_and_chinese_headers_recognised(world, tmp_path, encoding):
    rows = [["客户编号", "客户名称", "手机", "邮箱", "省份", "城市", "行业"],
            ["E-1", "上海宏达贸易有限公司", "13800138000", "hd@example.com", "上海", "上海", "贸易"]]  # fmt: skip
    path = write_csv(tmp_path / "c.csv", rows, encoding)
    run = run_import(path, "customers", actor=world.users["administrator"])
    assert run.created == 1, list(run.errors.values_list("message", flat=True))
    customer = Customer.objects.get(external_id="E-1")
    assert (customer.name, customer.phone, customer.city, customer.industry) == (
        "上海宏达贸易有限公司", "13800138000", "上海", "贸易"
    )  # fmt: skip
    assert run.encoding.replace("_", "-").startswith(encoding.split("-sig")[0][:5])


def test_detect_encoding_keeps_utf8_with_a_few_bad_bytes():
    text = ("名称,城市\n" + "北京公司,北京\n" * 200).encode()
    assert detect_encoding(text + b"bad \xff row\n") == "utf-8"
    assert detect_encoding(("名称,城市\n" * 50).encode("gbk")) == "gb18030"


def test_salesforce_and_hubspot_headers_are_recognised(world, tmp_path):
    salesforce = write_csv(
        tmp_path / "sf.csv",
        [["Id", "Account Name", "AccountNumber", "BillingState", "BillingCity", "Phone", "Industry", "Rating?"],
         ["001A", "Acme", "N-1", "Zhejiang", "Hangzhou", "0571-1234567", "Retail", "x"]],
    )  # fmt: skip
    _table, mapping, _rows = inspect_file(salesforce, "customers")
    assert mapping.columns == {
        "external_id": 0, "name": 1, "province": 3, "city": 4, "phone": 5, "industry": 6
    }  # fmt: skip
    assert mapping.duplicates == ["AccountNumber"] and mapping.unknown == ["Rating?"]
    hubspot = write_csv(
        tmp_path / "hs.csv",
        [["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Associated Company ID"],
         ["77", "Wei", "Zhang", "wz@example.com", "13900000000", world.records["other"].customer.external_id]],
    )  # fmt: skip
    run = run_import(hubspot, "contacts", actor=world.users["administrator"])
    assert run.created == 1, list(run.errors.values_list("message", flat=True))
    contact = Contact.objects.get(external_id="77")
    assert (contact.name, contact.customer) == ("Wei Zhang", world.records["other"].customer)


def test_a_saved_mapping_and_overrides_apply(world, tmp_path):
    admin = world.users["administrator"]
    ImportMapping.objects.create(
        name="legacy", kind="products", columns={"Artikel": "sku", "Preis": "list_price"}
    )
    path = write_csv(tmp_path / "p.csv", [["Artikel", "Bez", "Preis"], ["P-9", "Gadget", "12.5"]])
    run = run_import(
        path, "products", actor=admin, mapping_name="legacy", overrides={"Bez": "name"}
    )
    assert run.created == 1
    assert Product.objects.get(sku="P-9").list_price == Decimal("12.5")
    with pytest.raises(ImportRefused):
        run_import(path, "products", actor=admin, mapping_name="nope")


def test_xlsx_files_are_read(world, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["SKU", "Name", "List Price", "Active"])
    sheet.append(["X-1", "Kettle", 99.5, True])
    workbook.save(tmp_path / "p.xlsx")
    run = run_import(tmp_path / "p.xlsx", "products", actor=world.users["administrator"])
    assert run.created == 1 and run.encoding == "xlsx"
    assert Product.objects.get(sku="X-1").list_price == Decimal("99.50")


# --- customers: blanks, trash, scope, history ----------------------------------------------


def test_blank_cells_do_not_erase_and_updates_are_logged_with_before_and_after(world, tmp_path):
    admin = world.users["administrator"]
    customer = world.records["other"].customer
    Customer.all_objects.filter(pk=customer.pk).update(phone="010-1234567", city="北京")
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["External ID", "Name", "Phone", "City", "Industry"],
            [customer.external_id, "", "", "", "Steel"],
        ],
    )
    run = run_import(path, "customers", actor=admin)
    assert (run.updated, run.rejected) == (1, 0)
    customer.refresh_from_db()
    assert (customer.phone, customer.city, customer.industry) == ("010-1234567", "北京", "Steel")
    entry = ChangeRecord.objects.for_object(customer).get(action="update")
    assert entry.changes == {"industry": ["", "Steel"]}
    assert (entry.source, entry.actor) == ("import", admin)


def test_the_annual_category_need_is_imported_and_checked(world, tmp_path):
    # given a file with the need in a Chinese column, one value negative
    admin = world.users["administrator"]
    first, second = world.records["other"].customer, world.records["team"].customer
    path = write_csv(
        tmp_path / "need.csv",
        [["客户编号", "年度品类需求"], [first.external_id, "120000"], [second.external_id, "-5"]],
    )

    # when it is imported
    run = run_import(path, "customers", actor=admin)

    # then the good row sets the need with history, the bad one is refused by name and row
    assert (run.updated, run.rejected) == (1, 1)
    first.refresh_from_db()
    assert first.category_need == Decimal("120000")
    assert ChangeRecord.objects.for_object(first).get(action="update").changes == {
        "category_need": [None, "120000"]
    }
    error = run.errors.get()
    assert (error.row, error.column) == (3, "年度品类需求")
    second.refresh_from_db()
    assert second.category_need is None


def test_a_row_matching_a_customer_in_the_trash_is_rejected(world, tmp_path):
    admin = world.users["administrator"]
    customer = world.records["other"].customer
    customer_delete(actor=admin, customer=customer)
    by_id = write_csv(
        tmp_path / "a.csv", [["客户编号", "客户名称"], [customer.external_id, "Again"]]
    )
    run = run_import(by_id, "customers", actor=admin)
    assert run.rejected == 1
    assert f"#{customer.pk} in the trash" in run.errors.get().message
    Customer.all_objects.filter(pk=customer.pk).update(external_id=None)
    by_email = write_csv(tmp_path / "b.csv", [["名称", "邮箱"], ["Again", customer.email.upper()]])
    run = run_import(by_email, "customers", actor=admin)
    assert run.rejected == 1 and "in the trash" in run.errors.get().message
    assert Customer.all_objects.filter(email__iexact=customer.email).count() == 1


def test_a_sales_rep_cannot_import_into_others_scope(world, tmp_path):
    rep = world.users["sales_rep"]
    other = world.records["other"].customer
    path = write_csv(
        tmp_path / "c.csv",
        [["客户编号", "客户名称", "负责人"],
         [other.external_id, "Taken over", ""],
         ["NEW-1", "Mine", ""],
         ["NEW-2", "Given away", "south_rep"]],
    )  # fmt: skip
    run = run_import(path, "customers", actor=rep)
    assert (run.created, run.rejected) == (1, 2)
    assert {e.row for e in run.errors.all()} == {2, 4}
    other.refresh_from_db()
    assert other.name != "Taken over"
    assert Customer.objects.get(external_id="NEW-1").owner == rep


def test_contacts_and_interactions_link_to_their_customer(world, tmp_path):
    admin = world.users["administrator"]
    customer = world.records["team"].customer
    contacts = write_csv(
        tmp_path / "k.csv",
        [
            ["客户名称", "联系人", "职位", "邮箱"],
            [customer.name, "李娜", "采购经理", "ln@example.com"],
        ],
    )
    assert run_import(contacts, "contacts", actor=admin).created == 1
    interactions = write_csv(
        tmp_path / "i.csv",
        [
            ["客户编号", "联系人", "方式", "主题", "时间"],
            [customer.external_id, "李娜", "电话", "回访", "2024-05-01 09:30"],
        ],
    )
    run = run_import(interactions, "interactions", actor=admin)
    assert run.created == 1, list(run.errors.values_list("message", flat=True))
    again = run_import(interactions, "interactions", actor=admin)
    assert again.unchanged == 1
    interaction = Interaction.objects.get(subject="回访")
    assert interaction.contact is not None
    assert (interaction.channel, interaction.contact.name) == ("phone", "李娜")


def test_amount_sum_matches_the_file(world, tmp_path):
    admin = world.users["administrator"]
    path = _orders_file(tmp_path, world)
    run_import(path, "orders", actor=admin)
    total = OrderLine.objects.filter(order__external_id__startswith="R-").aggregate(
        s=Sum("amount")
    )["s"]
    assert total == Decimal("3.75") * 60


def test_a_reversal_needs_its_original_first_and_links_to_it(world, tmp_path):
    # given a file whose first reversal names an order not recorded, and a sale and its
    # reversal in the right order
    admin = world.users["administrator"]
    customer = world.records["other"].customer.external_id
    header = ["external_id", "customer_external_id", "ordered_at", "kind",
              "reverses_external_id", "total_amount", "quantity", "unit_price", "amount"]  # fmt: skip
    path = write_csv(
        tmp_path / "reversals.csv",
        [
            header,
            ["V-0-R", customer, "2024-01-02", "reversal", "V-0", "-5.00", "-1", "5.00", "-5.00"],
            ["V-1", customer, "2024-01-01", "sale", "", "5.00", "1", "5.00", "5.00"],
            ["V-1-R", customer, "2024-01-02", "reversal", "V-1", "-5.00", "-1", "5.00", "-5.00"],
            ["V-2", customer, "2024-01-01", "sale", "", "9.00", "1", "5.00", "5.00"],
        ],
    )

    # when
    run = run_import(path, "orders", actor=admin)

    # then
    assert (run.rows_read, run.created, run.rejected) == (4, 2, 2)
    errors = {e.row: e for e in run.errors.all()}
    assert "V-0" in errors[2].message and "before its reversal" in errors[2].message
    assert errors[5].column == "total_amount"
    reversal = Order.objects.get(external_id="V-1-R")
    assert reversal.kind == "reversal"
    assert reversal.reverses == Order.objects.get(external_id="V-1")
    again = run_import(path, "orders", actor=admin)
    assert (again.unchanged, again.rejected) == (2, 2)


def test_tags_and_custom_field_columns_are_imported_with_history(world, tmp_path):
    # given
    from guanxi.customers.models import CustomFieldDefinition

    admin = world.users["administrator"]
    CustomFieldDefinition.objects.create(name="visits", label="Visits", field_type="integer")
    path = write_csv(
        tmp_path / "customers.csv",
        [
            ["external_id", "name", "tags", "cf_visits", "money", "credit_overdue"],
            ["T-1", "Tagged", "'=vip;重点客户", "12", "yes", "true"],
        ],
    )

    # when
    run = run_import(path, "customers", actor=admin)

    # then
    assert (run.created, run.rejected) == (1, 0), list(run.errors.values_list("message"))
    customer = Customer.objects.get(external_id="T-1")
    assert sorted(t.name for t in customer.tags.all()) == ["=vip", "重点客户"]
    assert customer.custom_fields == {"visits": 12}
    assert (customer.money, customer.credit_overdue) == ("yes", True)
    logged = ChangeRecord.objects.filter(object_id=str(customer.pk), changes__has_key="tags")
    assert logged.count() == 1
    again = run_import(path, "customers", actor=admin)
    assert (again.unchanged, again.updated) == (1, 0)
