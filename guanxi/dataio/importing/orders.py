"""Orders from a file with one row per order line, at bulk-load speed.

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
from guanxi.sales.models import Product
from guanxi.sales.services import OrderImport, order_import_batch

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
    """Groups order lines into orders and writes them with :func:`order_import_batch`."""

    kind = "orders"
    default_chunk = 10_000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.customer_ids: dict[str, int | None] = {}
        self.product_ids: dict[str, int | None] = {}
        self.default_currency = settings.GUANXI_DEFAULT_CURRENCY

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

    def _resolve(
        self, cache: dict[str, int | None], keys: set[str], model: Any, field: str
    ) -> None:
        missing = sorted(k for k in keys if k not in cache)
        for start in range(0, len(missing), 900):
            part = missing[start : start + 900]
            for k in part:
                cache[k] = None
            for pk, value in (
                model._base_manager.filter(**{f"{field}__in": part})
                .order_by()
                .values_list("pk", field)
            ):
                cache[value] = pk
        if len(cache) > 500_000:  # bounded memory over huge files
            keep = {k: cache[k] for k in keys if k in cache}
            cache.clear()
            cache.update(keep)

    def process(self, batch: Batch) -> BatchOutcome:
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
        parsed: list[tuple[list[Row], dict[str, Any], list[tuple[Any, ...]]]] = []
        customer_keys: set[str] = set()
        skus: set[str] = set()
        pad = [""] * (width + 1)
        numbered = i_line != blank
        one = Decimal(1)
        for group in batch:
            rows: list[Row] = group
            errors: list[tuple[int, str, str, str]] = []
            head: dict[str, Any] = {}
            lines: list[tuple[Any, ...]] = []
            seen: dict[int, tuple[int, list[str]]] = {}
            copies: dict[Any, int] = {}
            first: tuple[str, ...] | None = None
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
                        restore(cells[i_cust].strip()), cells[i_at].strip(),
                        cells[i_channel].strip(), cells[i_currency].strip(),
                        cells[i_kind].strip(), restore(cells[i_reverses].strip()),
                        cells[i_total].strip(),
                    )  # fmt: skip
                    if first is None:
                        first = order_cells
                        field = "external_id"
                        head["external_id"] = _external_id(restore(cells[i_ext].strip()))
                        if not head["external_id"]:
                            raise convert.CellError(_("The order number is missing."))
                        field = "customer_external_id"
                        head["customer"] = order_cells[0]
                        if not order_cells[0]:
                            raise convert.CellError(_("The customer is missing."))
                        field = "ordered_at"
                        if not order_cells[1]:
                            raise convert.CellError(_("The order date is missing."))
                        head["ordered_at"] = convert.parse_datetime(order_cells[1])
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
                        head["reverses"] = _external_id(order_cells[5])
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
                    sku = restore(cells[i_sku].strip())
                    field = "description"
                    description = _description(restore(cells[i_desc].strip()))
                    field = "quantity"
                    text = cells[i_qty].strip()
                    quantity = _quantity(text) if text else one
                    field = "unit_price"
                    text = cells[i_price].strip()
                    unit_price = _price(text) if text else None
                    field = "amount"
                    text = cells[i_amount].strip()
                    amount = _price(text) if text else None
                    if amount is None:
                        if unit_price is None:
                            field = "unit_price"
                            raise convert.CellError(_("Give a unit price or an amount."))
                        amount = (quantity * unit_price).quantize(_CENT)
                    elif unit_price is None:
                        unit_price = (amount / quantity).quantize(_CENT) if quantity else amount
                except convert.CellError as exc:
                    index = columns.get(field)
                    value = cells[index] if index is not None and index < len(cells) else ""
                    errors.append((number, name_of(field), convert.excerpt(value), str(exc)))
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
                if sku:
                    skus.add(sku)
                lines.append((number, line_number, sku, description, quantity, unit_price, amount))
            if errors:
                self._reject_group(outcome, rows, errors)
                continue
            if not lines:
                continue  # every row was a duplicate, already counted
            total = head.get("total")
            if total is not None and total != sum((line[6] for line in lines), Decimal(0)):
                self._reject_group(
                    outcome,
                    rows,
                    [
                        (
                            rows[0][0],
                            name_of("total_amount"),
                            str(total),
                            _("the order total is not the sum of its line amounts"),
                        )
                    ],
                )
                continue
            customer_keys.add(head["customer"])
            parsed.append((rows, head, lines))
        self._resolve(self.customer_ids, customer_keys, self.customer_model, "external_id")
        self._resolve(self.product_ids, skus, Product, "sku")
        orders: list[OrderImport] = []
        kept: list[tuple[list[Row], list[tuple[Any, ...]]]] = []
        for rows, head, lines in parsed:
            customer_id = self.customer_ids.get(head["customer"])
            if customer_id is None:
                self._reject_group(
                    outcome,
                    rows,
                    [
                        (
                            rows[0][0],
                            name_of("customer_external_id"),
                            convert.excerpt(head["customer"]),
                            _("no customer has the external id '%(id)s'")
                            % {"id": convert.excerpt(head["customer"])},
                        )
                    ],
                )
                continue
            built = []
            unknown = []
            for number, line_number, sku, description, quantity, unit_price, amount in lines:
                product_id = self.product_ids.get(sku) if sku else None
                if sku and product_id is None:
                    unknown.append(
                        (
                            number,
                            name_of("sku"),
                            convert.excerpt(sku),
                            _("no product has the SKU '%(sku)s'") % {"sku": convert.excerpt(sku)},
                        )
                    )
                built.append((line_number, product_id, description, quantity, unit_price, amount))
            if unknown:
                self._reject_group(outcome, rows, unknown)
                continue
            orders.append(
                OrderImport(
                    external_id=head["external_id"],
                    customer_id=customer_id,
                    ordered_at=head["ordered_at"],
                    channel=head["channel"],
                    currency=head["currency"],
                    lines=built,
                    kind=head["kind"],
                    reverses_external_id=head["reverses"],
                )
            )
            kept.append((rows, lines))
        if not orders:
            return outcome
        answers = order_import_batch(actor=self.actor, orders=orders)
        for (rows, lines), (status, message) in zip(kept, answers, strict=True):
            if status == "rejected":
                self._reject_group(outcome, rows, [(lines[0][0], "", "", message)])
            else:
                outcome.count(status, len(lines))
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
