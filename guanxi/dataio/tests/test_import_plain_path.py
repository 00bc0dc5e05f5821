"""Orders: the plain-text path and the cell-by-cell path store the same values."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from guanxi.dataio.importing import resolve_mapping, run_import
from guanxi.dataio.importing.orders import OrderImporter
from guanxi.dataio.importing.reading import open_table
from guanxi.sales.models import Order

HEADER = [
    "订单号",
    "客户编号",
    "下单时间",
    "行号",
    "产品编码",
    "描述",
    "数量",
    "单价",
    "金额",
    "渠道",
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _orders(customers: list[str]) -> list[list[str]]:
    """Plain rows: one order per pair of lines, a few with only an amount or a price."""
    rows = []
    for i in range(40):
        customer = customers[i % len(customers)]
        at = f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d} {i % 24:02d}:{i % 60:02d}"
        if i % 5 == 0:
            at = at[:10]  # a day without a time
        channel = "online" if i % 2 else ""
        rows.append([f"{i}", customer, at, "1", "SKU-1", "小部件", "2", "10.50", "21.00", channel])
        second = (
            ["", "", "7.25"]
            if i % 3 == 0
            else ["", "4.10", ""]
            if i % 3 == 1
            else ["3", "0.3", "0.90"]
        )
        rows.append([f"{i}", customer, at, "2", "", f"note {i}", *second, channel])
    return rows


def _unusual(row: list[str]) -> list[str]:
    """The same cells in forms only the cell-by-cell path reads (blanks, 年月日, ¥ ...)."""
    number, customer, at, line, sku, description, quantity, price, amount, channel = row
    year, month, rest = at[:4], int(at[5:7]), at[8:]
    day = int(rest[:2])
    at = f" {year}年{month}月{day}日{rest[2:]} "
    return [number, f" {customer}", at, f" {line}", sku, description, quantity,
            f"¥{price}" if price else "", amount and f"{amount} ", channel.upper()]  # fmt: skip


def _stored(prefix: str) -> list[tuple]:
    orders = Order.objects.filter(external_id__startswith=prefix).prefetch_related("lines")
    return sorted(
        (
            o.external_id[len(prefix) :], o.customer_id, o.ordered_at, o.channel, o.currency,
            o.total_amount, o.kind,
            tuple((line.line_number, line.product_id, line.description, line.quantity,
                   line.unit_price, line.amount) for line in o.lines.order_by("line_number")),
        )
        for o in orders
    )  # fmt: skip


def test_plain_and_unusual_forms_store_the_same_orders(world, tmp_path):
    # given the same 40 orders twice: in plain text, and in forms the fast path leaves out
    admin = world.users["administrator"]
    customers = [r.customer.external_id for r in world.records.values()]
    plain = [[f"P-{r[0]}", *r[1:]] for r in _orders(customers)]
    unusual = [_unusual([f"U-{r[0]}", *r[1:]]) for r in _orders(customers)]
    plain_path = write_csv(tmp_path / "plain.csv", [HEADER, *plain])
    unusual_path = write_csv(tmp_path / "unusual.csv", [HEADER, *unusual])

    # the plain file goes the fast way, the other the cell-by-cell way
    for path, fast_expected in ((plain_path, 40), (unusual_path, 0)):
        table = open_table(path)
        mapping = resolve_mapping("orders", table.headers)
        importer = OrderImporter(actor=admin, mapping=mapping, encoding=table.encoding)
        orders, _lines, fast = importer._plain_orders(list(table.rows))
        table.close()
        assert len(orders) == fast_expected
        assert sum(len(group) for group in fast[-1]) == 80 - 2 * fast_expected

    # when both are imported
    runs = [run_import(plain_path, "orders", actor=admin),
            run_import(unusual_path, "orders", actor=admin)]  # fmt: skip

    # then both store exactly the same orders and lines
    assert [(r.created, r.rejected) for r in runs] == [(80, 0), (80, 0)]
    assert _stored("P-") == _stored("U-")
    first = Order.objects.get(external_id="P-1")
    assert first.total_amount == Decimal("21.00") + Decimal("4.10")
    assert Order.objects.get(external_id="P-0").total_amount == Decimal("28.25")
    assert Order.objects.get(external_id="P-2").total_amount == Decimal("21.90")


def test_a_plain_order_next_to_an_unusual_row_of_it_stays_one_order(world, tmp_path):
    # given an order whose second row has a blank around its order number
    admin = world.users["administrator"]
    customer = next(iter(world.records.values())).customer.external_id
    path = write_csv(
        tmp_path / "orders.csv",
        [HEADER,
         ["A-1", customer, "2024-03-01 10:00", "1", "SKU-1", "", "1", "5.00", "5.00", ""],
         [" A-1", customer, "2024-03-01 10:00", "2", "SKU-1", "", "1", "6.00", "6.00", ""]],
    )  # fmt: skip

    # when it is imported, then it is one order of two lines
    run = run_import(path, "orders", actor=admin)
    assert (run.created, run.rejected) == (2, 0)
    assert Order.objects.get(external_id="A-1").lines.count() == 2
