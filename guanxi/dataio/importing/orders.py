"""Orders from a file with one row per order line, validated here, written set-based.

Rows of one order (same order number) must follow each other; they are grouped, validated
together and written together: an order with one bad line is rejected as a whole (a
partial order would carry a wrong total), every one of its rows reported. Without a line
number column, lines are numbered by their position within the order. Chunk boundaries
fall between orders, so a chunk (and its commit) never splits an order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from guanxi.sales.choices import OrderKind, SalesChannel
from guanxi.sales.services import order_import_staged

from ..formulas import restore
from . import convert
from .base import Batch, BatchOutcome, Importer, Row

_CENT = Decimal("0.01")
_quantity = convert.decimal(12, 3)
_price = convert.decimal(14, 2)
_channel = convert.choice(SalesChannel)
_kind = convert.choice(OrderKind)
_external_id = convert.text(100)
_description = convert.text(200)
_line_number = convert.integer(1)


class OrderImporter(Importer):
    """Groups order lines into orders and writes them with :func:`order_import_staged`."""

    kind = "orders"
    default_chunk = 50_000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.default_currency = settings.GUANXI_DEFAULT_CURRENCY
        self._dates: dict[str, str] = {}
        self._prices: dict[str, tuple[Decimal, str]] = {}
        self._quantities: dict[str, tuple[Decimal, str]] = {}
        self._price_pair = self._decimal_pair(_price)
        self._quantity_pair = self._decimal_pair(_quantity)

    def batches(self, rows: Iterable[Row]) -> Iterator[Batch]:
        """Chunks of whole orders, about ``chunk_size`` lines each."""
        index = self.mapping.columns["external_id"]
        batch: Batch = []
        lines = 0
        group: list[Row] = []
        key: str | None = None
        for row in rows:
            cells = row[1]
            this = cells[index].strip() if index < len(cells) else ""
            if this != key or not this:
                if group:
                    batch.append(group)
                    lines += len(group)
                    if lines >= self.chunk_size:
                        yield batch
                        batch, lines = [], 0
                group, key = [], this
            group.append(row)
        if group:
            batch.append(group)
        if batch:
            yield batch

    def rows_of(self, batch: Batch) -> list[Row]:
        return [row for group in batch for row in group]

    def _cached(self, cache: dict[str, Any], convert_: Any, text: str) -> Any:
        """``convert_(text)`` remembered per distinct text: a file repeats dates and prices."""
        try:
            return cache[text]
        except KeyError:
            pass
        value = convert_(text)  # a CellError is not remembered
        if len(cache) > 200_000:  # bounded memory over huge files
            cache.clear()
        cache[text] = value
        return value

    @staticmethod
    def _utc_text(text: str) -> str:
        """A date cell as naive UTC ISO text, as the staging tables take it."""
        return convert.parse_datetime(text).replace(tzinfo=None).isoformat(" ")

    @staticmethod
    def _decimal_pair(parse: Any) -> Any:
        def pair(text: str) -> tuple[Decimal, str]:
            number = parse(text)
            return number, format(number, "f")

        return pair

    def process(self, batch: Batch) -> BatchOutcome:
        """Validate every cell in one pass, then hand the batch to the set-based service."""
        outcome = BatchOutcome()
        columns = self.mapping.columns
        # Rows are padded to the header's width plus one blank cell, which stands in for
        # every optional column the file does not have: no bounds checks per cell.
        width = len(self.mapping.headers)
        blank = width
        i_ext = columns["external_id"]
        i_cust = columns["customer_external_id"]
        (
            i_at, i_channel, i_currency, i_line, i_sku, i_desc, i_qty, i_price, i_amount,
            i_kind, i_reverses, i_total,
        ) = (
            blank if columns.get(name) is None else columns[name]
            for name in (
                "ordered_at", "channel", "currency", "line_number", "sku", "description",
                "quantity", "unit_price", "amount", "kind", "reverses_external_id",
                "total_amount",
            )
        )  # fmt: skip
        name_of = self.mapping.column_name
        cached = self._cached
        dates, prices, quantities = self._dates, self._prices, self._quantities
        price_pair, quantity_pair = self._price_pair, self._quantity_pair
        utc_text = self._utc_text
        staged_orders: list[tuple[Any, ...]] = []
        staged_lines: list[tuple[Any, ...]] = []
        groups: dict[int, tuple[list[Row], list[tuple[int, int]], str]] = {}
        pad = [""] * (width + 1)
        numbered = i_line != blank
        one = (Decimal(1), "1")
        zero = Decimal(0)
        quote = "'"
        for group in batch:
            rows: list[Row] = group
            errors: list[tuple[int, str, str, str]] = []
            head: dict[str, Any] = {}
            lines: list[tuple[Any, ...]] = []
            seen: dict[int, tuple[int, list[str]]] = {}
            copies: dict[Any, int] = {}
            first: tuple[str, ...] | None = None
            total = zero
            for position, (number, raw_cells, bad) in enumerate(rows, start=1):
                if bad:
                    for col, value in enumerate(raw_cells):
                        if convert.BAD_BYTES.search(value):
                            errors.append(
                                (number, self.header(col), convert.excerpt(value),
                                 _("invalid bytes for the encoding %(e)s") % {"e": self.encoding})
                            )  # fmt: skip
                    continue
                cells = raw_cells + pad[len(raw_cells) :] if len(raw_cells) <= width else raw_cells
                field = "customer_external_id"
                try:
                    order_cells = (
                        cells[i_cust].strip(), cells[i_at].strip(),
                        cells[i_channel].strip(), cells[i_currency].strip(),
                        cells[i_kind].strip(), cells[i_reverses].strip(),
                        cells[i_total].strip(),
                    )  # fmt: skip
                    if first is None:
                        first = order_cells
                        field = "external_id"
                        head["external_id"] = _external_id(restore(cells[i_ext].strip()))
                        if not head["external_id"]:
                            raise convert.CellError(_("The order number is missing."))
                        field = "customer_external_id"
                        head["customer"] = restore(order_cells[0])
                        if not order_cells[0]:
                            raise convert.CellError(_("The customer is missing."))
                        field = "ordered_at"
                        if not order_cells[1]:
                            raise convert.CellError(_("The order date is missing."))
                        head["ordered_at"] = cached(dates, utc_text, order_cells[1])
                        field = "channel"
                        head["channel"] = (
                            _channel(order_cells[2]) if order_cells[2] else SalesChannel.DIRECT
                        )
                        field = "currency"
                        head["currency"] = (
                            convert.currency(order_cells[3])
                            if order_cells[3]
                            else self.default_currency
                        )
                        field = "kind"
                        head["reverses"] = _external_id(restore(order_cells[5]))
                        head["kind"] = (
                            _kind(order_cells[4])
                            if order_cells[4]
                            else OrderKind.REVERSAL
                            if head["reverses"]
                            else OrderKind.SALE
                        )
                        if (head["kind"] == OrderKind.REVERSAL) != bool(head["reverses"]):
                            raise convert.CellError(
                                _("A reversal has kind reversal and names the order it reverses.")
                            )
                        field = "total_amount"
                        head["total"] = _price(order_cells[6]) if order_cells[6] else None
                    elif order_cells != first:
                        field = next(
                            n
                            for n, a, b in zip(
                                (
                                    "customer_external_id",
                                    "ordered_at",
                                    "channel",
                                    "currency",
                                    "kind",
                                    "reverses_external_id",
                                    "total_amount",
                                ),
                                order_cells,
                                first,
                                strict=True,
                            )
                            if a != b
                        )
                        raise convert.CellError(
                            _("differs from the order's first row (row %(row)s).")
                            % {"row": rows[0][0]}
                        )
                    field = "line_number"
                    text = cells[i_line].strip()
                    line_number = _line_number(text) if text else position
                    field = "sku"
                    sku = cells[i_sku].strip()
                    if sku[:1] == quote:
                        sku = restore(sku)
                    field = "description"
                    description = cells[i_desc].strip()
                    if description[:1] == quote:
                        description = restore(description)
                    if len(description) > 200:
                        _description(description)  # raises, with the usual message
                    field = "quantity"
                    text = cells[i_qty].strip()
                    quantity = cached(quantities, quantity_pair, text) if text else one
                    field = "unit_price"
                    text = cells[i_price].strip()
                    unit_price = cached(prices, price_pair, text) if text else None
                    field = "amount"
                    text = cells[i_amount].strip()
                    amount = cached(prices, price_pair, text) if text else None
                    if amount is None:
                        if unit_price is None:
                            field = "unit_price"
                            raise convert.CellError(_("Give a unit price or an amount."))
                        value = (quantity[0] * unit_price[0]).quantize(_CENT)
                        amount = (value, format(value, "f"))
                    elif unit_price is None:
                        value = (
                            (amount[0] / quantity[0]).quantize(_CENT) if quantity[0] else amount[0]
                        )
                        unit_price = (value, format(value, "f"))
                except convert.CellError as exc:
                    index = columns.get(field)
                    value_text = cells[index] if index is not None and index < len(cells) else ""
                    errors.append((number, name_of(field), convert.excerpt(value_text), str(exc)))
                    continue
                if numbered:
                    signature: Any = line_number
                else:
                    # Without line numbers, a repeated identical row is taken for a copy
                    # mistake (separate lines of one order differ in product or price).
                    signature = tuple(c.strip() for c in raw_cells)
                    if signature in copies:
                        outcome.reject(
                            number,
                            "",
                            "",
                            _("duplicate of row %(row)s") % {"row": copies[signature]},
                        )
                        continue
                    copies[signature] = number
                if line_number in seen:
                    earlier, earlier_cells = seen[line_number]
                    if [c.strip() for c in earlier_cells] == [c.strip() for c in raw_cells]:
                        outcome.reject(
                            number, "", "", _("duplicate of row %(row)s") % {"row": earlier}
                        )
                        continue
                    errors.append(
                        (number, name_of("line_number"), str(line_number),
                         _("line %(n)s of order %(id)s appears twice (rows %(a)s and %(b)s) "
                           "with different values") % {"n": line_number, "id": head["external_id"],
                                                       "a": earlier, "b": number})
                    )  # fmt: skip
                    continue
                seen[line_number] = (number, raw_cells)
                total += amount[0]
                lines.append(
                    (number, line_number, sku, description, quantity[1], unit_price[1], amount[1])
                )
            if errors:
                self._reject_group(outcome, rows, errors)
                continue
            if not lines:
                continue  # every row was a duplicate, already counted
            if head["total"] is not None and head["total"] != total:
                self._reject_group(
                    outcome,
                    rows,
                    [
                        (
                            rows[0][0],
                            name_of("total_amount"),
                            str(head["total"]),
                            _("the order total is not the sum of its line amounts"),
                        )
                    ],
                )
                continue
            seq = len(staged_orders) + 1
            staged_orders.append(
                (seq, head["external_id"], head["customer"], head["ordered_at"], head["channel"],
                 head["currency"], format(total, "f"), str(head["kind"]), head["reverses"])
            )  # fmt: skip
            staged_lines.extend((seq, *line[1:]) for line in lines)
            groups[seq] = (rows, [(line[0], line[1]) for line in lines], head["customer"])
        if not staged_orders:
            return outcome
        answers = order_import_staged(actor=self.actor, orders=staged_orders, lines=staged_lines)
        for seq, (rows, numbers, customer) in groups.items():
            status, field, message, line_number = answers[seq]
            if status != "rejected":
                outcome.count(status, len(numbers))
                continue
            row = next((r for r, n in numbers if n == line_number), numbers[0][0])
            value = ""
            if field == "customer_external_id":
                value = convert.excerpt(customer)
            elif field == "sku":
                index = columns.get("sku")
                cells = next(c for r, c, _b in rows if r == row)
                value = convert.excerpt(cells[index]) if index is not None else ""
            column = name_of(field) if field else ""
            self._reject_group(outcome, rows, [(row, column, value, message)])
        return outcome

    def _reject_group(
        self, outcome: BatchOutcome, rows: list[Row], errors: list[tuple[int, str, str, str]]
    ) -> None:
        """Reject every row of an order: its own errors, and a pointer for the others."""
        for number, column, value, message in errors:
            outcome.reject(number, column, value, message)
        first = min(number for number, *_rest in errors)
        for number, _cells, _bad in rows:
            if number not in outcome.rejected_rows:
                outcome.reject(
                    number,
                    "",
                    "",
                    _("the order is not imported because row %(row)s is invalid") % {"row": first},
                )
