"""Orders from a file with one row per order line: checked in Python, written set-based.

Rows of one order (same order number) must follow each other; they are grouped, validated
together and written together: an order with one bad line is rejected as a whole (a
partial order would carry a wrong total), every one of its rows reported. Without a line
number column, lines are numbered by their position within the order. Chunk boundaries
fall between orders, so a chunk (and its commit) never splits an order.

Each row's mapped cells are matched at once, by one regular expression, against the plain
forms almost every file uses (``2024-03-01 10:00``, ``12.50``, codes without surrounding
blanks ...): the orders whose every row has those forms are staged straight from that text
for :func:`~guanxi.sales.services.order_import_staged`, which resolves customers and
products and compares recorded orders in SQL; the few others (any unusual form, a bad
cell, a duplicate row, a reversal ...) go through the cell-by-cell validation of
:meth:`OrderImporter._validate`, which accepts every form and words every error. The result
is the same either way (``test_import_plain_path.py``); only the speed differs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from guanxi.core.hooks import orders_changed
from guanxi.sales.choices import OrderKind, SalesChannel
from guanxi.sales.models import Order
from guanxi.sales.services import (
    StagedLine,
    StagedOrder,
    order_import_session,
    order_import_staged,
)

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

#: What the Python validation keeps per staged order: rows, (row, line number) pairs and
#: the customer cell.
_Staged = tuple[list[Row], list[tuple[int, int]], str]

#: The order fields in the order their cells are matched: the order number, the
#: order-level fields (every row of an order repeats the first row's value), the line fields.
_FIELDS = ("external_id", "customer_external_id", "ordered_at", "channel", "currency", "kind",
           "reverses_external_id", "total_amount", "line_number", "sku", "description",
           "quantity", "unit_price", "amount")  # fmt: skip
_ORDER_LEVEL = frozenset(_FIELDS[1:8])

# The plain forms the fast path takes, cell by cell: text that the converters below would
# return unchanged (no blanks around it, no spreadsheet guard quote, ASCII digits). A code
# is printable ASCII; a description anything up to 200 characters. Cells are joined with
# U+001F, which no pattern admits, so a cell holding it cannot shift the others.
_CODE = r"[!-&(-~](?:[ -~]*[!-~])?"
_DECIMAL = r"[0-9]{{1,{digits}}}(?:\.[0-9]{{1,{places}}})?"
_PLAIN = {
    "external_id": r"[!-&(-~](?:[ -~]{0,98}[!-~])?",
    "customer_external_id": _CODE,
    "ordered_at": r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?: (?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?",
    "channel": "|".join(["", *SalesChannel.values]),
    "currency": "|(?!RMB)[A-Z]{3}",
    "kind": f"|{OrderKind.SALE}",
    "reverses_external_id": "",
    "total_amount": "",
    "line_number": "[1-9][0-9]{0,8}",
    "sku": f"|{_CODE}",
    "description": r"|[^\s'\x1f](?:[^\x1f]{0,198}[^\s\x1f])?",
    "quantity": "|" + _DECIMAL.format(digits=9, places=3),
    "unit_price": "|" + _DECIMAL.format(digits=12, places=2),
    "amount": "|" + _DECIMAL.format(digits=12, places=2),
}
_SEPARATOR = "\x1f"


def _day_offset(day: str) -> str | None:
    """The site's UTC offset on ``day`` (``YYYY-MM-DD``) as ``+HH:MM``, when it is a valid
    day with one offset all day long (no daylight-saving change, no ambiguous hour); else
    None, and the orders of that day go through the Python validation."""
    try:
        date = dt.date.fromisoformat(day)
        zone = convert._local_zone()
        offsets = {
            dt.datetime.combine(date, moment, tzinfo=zone).replace(fold=fold).utcoffset()
            for moment in (dt.time(0), dt.time(12), dt.time(23, 59, 59))
            for fold in (0, 1)
        }
    except (ValueError, OverflowError):
        return None
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    if offset is None or offset.total_seconds() % 60:
        return None
    minutes = int(offset.total_seconds() // 60)
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _rounds(
    orders: list[StagedOrder], lines: list[StagedLine]
) -> Iterator[tuple[list[StagedOrder], list[StagedLine]]]:
    """The chunk's staged orders in rounds in which each order number appears once.

    An order number that comes again further down the chunk (its rows not following each
    other) goes to a later round, which finds the order the earlier round recorded and
    compares with it, as a later file would: unchanged when identical, rejected otherwise.
    Almost every chunk is one round.
    """
    if len({order[1] for order in orders}) == len(orders):
        if orders:
            yield orders, lines
        return
    rounds: list[list[StagedOrder]] = []
    occurrences: dict[str, int] = {}
    for order in sorted(orders):
        n = occurrences[order[1]] = occurrences.get(order[1], -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(order)
    for part in rounds:
        seqs = {order[0] for order in part}
        yield part, [line for line in lines if line[0] in seqs]


class OrderImporter(Importer):
    """Groups order lines into orders and writes them with :func:`order_import_staged`."""

    kind = "orders"
    default_chunk = 100_000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.default_currency = settings.GUANXI_DEFAULT_CURRENCY
        self._dates: dict[str, str] = {}
        self._prices: dict[str, tuple[Decimal, str]] = {}
        self._quantities: dict[str, tuple[Decimal, str]] = {}
        self._price_pair = self._decimal_pair(_price)
        self._quantity_pair = self._decimal_pair(_quantity)
        #: UTC offset per day seen (None: not a plain day), see :func:`_day_offset`.
        self._offsets: dict[str, str | None] = {}
        #: Customers whose orders this importer created: told to the ``orders_changed``
        #: hook once, by :meth:`finish`.
        self.customers: set[int] = set()
        # One group per field of _FIELDS, in that order; a field without a column is an
        # empty group that matches no text.
        pattern = ""
        for name in _FIELDS:
            if name in self.mapping.columns:
                pattern += f"{_SEPARATOR if pattern else ''}({_PLAIN[name]})"
            else:
                pattern += "()"
        self._plain = re.compile(pattern, re.DOTALL).fullmatch

    def batches(self, rows: Iterable[Row]) -> Iterator[Batch]:
        """Chunks of consecutive rows, about ``chunk_size`` each, cut between orders."""
        index = self.mapping.columns["external_id"]
        size = self.chunk_size
        batch: Batch = []
        key: str | None = None
        for row in rows:
            if len(batch) >= size:
                cells = row[1]
                this = cells[index].strip() if index < len(cells) else ""
                if key is None:
                    last = batch[-1][1]
                    key = last[index].strip() if index < len(last) else ""
                if this != key or not this:
                    yield batch
                    batch, key = [], None
                else:
                    key = this
            batch.append(row)
        if batch:
            yield batch

    def rows_of(self, batch: Batch) -> list[Row]:
        return list(batch)

    def session(self) -> AbstractContextManager[Any]:
        """The order service's import session (see :func:`order_import_session`)."""
        return order_import_session()

    def finish(self, run: Any) -> None:
        """Tell the ``orders_changed`` hook, once, the customers whose orders the run created.

        A run resumed after a crash also names the customers of the orders its earlier
        attempts recorded (the actor's orders recorded since the run started).
        """
        customers = set(self.customers)
        if run.resumed and run.pk:
            customers.update(
                Order.objects.filter(
                    created_by=self.actor if getattr(self.actor, "pk", None) else None,
                    created_at__gte=run.started_at,
                ).values_list("customer_id", flat=True)
            )
        if customers:
            orders_changed(customers, bulk=True)
        self.customers = set()

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
        """Match every row against the plain forms, validate the rest cell by cell, then
        hand the whole chunk to the set-based service."""
        outcome = BatchOutcome()
        rows: list[Row] = batch
        fast_orders, fast_lines, fast = self._plain_orders(rows)
        slow_orders, slow_lines, staged = self._validate(fast.pop(-1), outcome)
        for orders, lines in _rounds(fast_orders + slow_orders, fast_lines + slow_lines):
            result = order_import_staged(actor=self.actor, orders=orders, lines=lines, upkeep=False)
            self.customers.update(result.customers)
            outcome.count("created", result.created_lines)
            outcome.count("unchanged", result.unchanged_lines)
            for seq, answer in result.rejected.items():
                if seq in staged:
                    self._reject_answer(outcome, *staged[seq], answer)
                else:
                    self._reject_answer(outcome, *self._fast_info(rows, fast[seq]), answer)
        return outcome

    def _plain_orders(
        self, rows: list[Row]
    ) -> tuple[list[StagedOrder], list[StagedLine], dict[int, Any]]:
        """Group the rows into orders as they follow each other; stage the orders whose
        every cell has a plain form (see ``_PLAIN``) straight from the matched text.

        Returns their staged orders and lines, and ``{seq: (first position, rows)}`` with
        key ``-1`` holding the other orders (lists of rows) for :meth:`_validate`.
        """
        columns = self.mapping.columns
        fields = [name for name in _FIELDS if name in columns]
        getter = itemgetter(*[columns[name] for name in fields])
        pad = [""] * (max(columns[name] for name in fields) + 1)
        match = self._plain
        numbered = "line_number" in columns
        default_currency = self.default_currency
        direct = str(SalesChannel.DIRECT)
        sale = str(OrderKind.SALE)
        offsets = self._offsets
        separator = _SEPARATOR
        orders: list[StagedOrder] = []
        lines: list[StagedLine] = []
        fast: dict[int, Any] = {}
        slow: list[list[Row]] = []
        seen: set[str] = set()

        def close(start: int, end: int, plain: bool, matched: list[tuple[str, ...]]) -> None:
            # Groups: 0 order number, 1 customer, 2 date, 3 channel, 4 currency, 5 kind,
            # 6 reverses, 7 total, 8 line, 9 SKU, 10 description, 11 quantity, 12 unit
            # price, 13 amount.
            if plain:
                head = matched[0]
                at = head[2]
                day = at[:10]
                offset = offsets.get(day, "?")
                if offset == "?":
                    offset = offsets[day] = _day_offset(day)
                staged: list[StagedLine] = []
                seq = rows[start][0]
                if offset is not None:
                    for number, cells in enumerate(matched, start=1):
                        quantity, price, amount = cells[11:14]
                        if not amount:
                            if quantity or not price:
                                break  # amount = quantity x price: rounding, in Python
                            amount = price
                        elif not price:
                            if quantity:
                                break
                            price = amount
                        staged.append(
                            (seq, int(cells[8]) if numbered else number, cells[9], cells[10],
                             quantity or "1", price, amount)
                        )  # fmt: skip
                    else:
                        orders.append(
                            (seq, head[0], head[1],
                             (at if len(at) > 10 else at + " 00:00") + offset,
                             head[3] or direct, head[4] or default_currency, None, sale, "")
                        )  # fmt: skip
                        lines.extend(staged)
                        fast[seq] = (start, end - start)
                        return
            slow.append(rows[start:end])

        key: str | None = None
        start = 0
        plain = False
        head: tuple[str, ...] = ()
        matched: list[tuple[str, ...]] = []
        keys: set[Any] = set()
        for position, (_number, cells, bad) in enumerate(rows):
            try:
                picked = getter(cells)
            except IndexError:
                picked = getter(cells + pad)
            found = None if bad else match(separator.join(picked))
            if found is None:
                this = picked[0].strip()
            else:
                groups = found.groups()
                this = groups[0]
            if this != key or not this:
                if matched or position:
                    close(start, position, plain, matched)
                key, start, matched, keys = this, position, [], set()
                # An order number seen earlier in the chunk: the Python path decides.
                plain = found is not None and this not in seen
                seen.add(this)
                if plain:
                    head = groups[:8]
            if plain:
                if found is None or groups[:8] != head:
                    plain = False
                else:
                    # Two lines with one number, or (unnumbered) two identical rows.
                    line_key = groups[8] if numbered else groups[8:]
                    if line_key in keys:
                        plain = False
                    else:
                        keys.add(line_key)
                        matched.append(groups)
        if rows:
            close(start, len(rows), plain, matched)
        fast[-1] = slow
        return orders, lines, fast

    def _fast_info(self, rows: list[Row], where: tuple[int, int]) -> _Staged:
        """Rows, (row, line number) pairs and customer cell of an order staged from its
        plain cells (to report it when the service rejects it)."""
        start, count = where
        group = rows[start : start + count]
        line_index = self.mapping.columns.get("line_number")
        numbers = [
            (number, int(cells[line_index].strip()) if line_index is not None else i)
            for i, (number, cells, _bad) in enumerate(group, start=1)
        ]
        return group, numbers, group[0][1][self.mapping.columns["customer_external_id"]]

    def _reject_answer(
        self,
        outcome: BatchOutcome,
        rows: list[Row],
        numbers: list[tuple[int, int]],
        customer: str,
        answer: tuple[str, str, str, int],
    ) -> None:
        """Reject an order the service refused, naming the row and cell that caused it."""
        _status, field, message, line_number = answer
        row = next((r for r, n in numbers if n == line_number), numbers[0][0])
        value = ""
        if field == "customer_external_id":
            value = convert.excerpt(customer)
        elif field == "sku":
            index = self.mapping.columns.get("sku")
            cells = next(c for r, c, _b in rows if r == row)
            value = convert.excerpt(cells[index]) if index is not None else ""
        column = self.mapping.column_name(field) if field else ""
        self._reject_group(outcome, rows, [(row, column, value, message)])

    def _validate(
        self, batch: list[list[Row]], outcome: BatchOutcome
    ) -> tuple[list[StagedOrder], list[StagedLine], dict[int, _Staged]]:
        """Validate the orders the SQL checks left out, cell by cell (the exact rules and
        messages); returns their staged orders and lines, and what to report per order."""
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
        staged_orders: list[StagedOrder] = []
        staged_lines: list[StagedLine] = []
        groups: dict[int, _Staged] = {}
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
            seq = rows[0][0]
            staged_orders.append(
                (seq, head["external_id"], head["customer"], head["ordered_at"], head["channel"],
                 head["currency"], format(total, "f"), str(head["kind"]), head["reverses"])
            )  # fmt: skip
            staged_lines.extend((seq, *line[1:]) for line in lines)
            groups[seq] = (rows, [(line[0], line[1]) for line in lines], head["customer"])
        return staged_orders, staged_lines, groups

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
