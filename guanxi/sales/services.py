"""Writes to the catalogue and the transaction records.

Orders are created once (with their lines) and corrected only by :func:`order_reverse`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.changelog import record_change, snapshot
from guanxi.core.hooks import orders_changed
from guanxi.core.models import ChangeAction
from guanxi.core.permissions import Action, Scope, ensure_allowed, ensure_may_create, scope_for
from guanxi.core.services import (
    BulkResult,
    BulkRow,
    audited_bulk_write,
    audited_create,
    audited_update,
)
from guanxi.customers.models import Customer

from .choices import OrderKind
from .models import Order, OrderLine, Product

PRODUCT_EDITABLE = ("sku", "name", "category", "list_price", "unit_cost", "currency", "is_active")
ORDER_FIELDS = ("external_id", "customer", "ordered_at", "channel", "currency")
_CENT = Decimal("0.01")


def product_create(*, actor: Any, data: Mapping[str, Any]) -> Product:
    """Add a product to the catalogue."""
    return audited_create(actor=actor, model=Product, data=data, editable=PRODUCT_EDITABLE)


def product_update(*, actor: Any, product: Product, data: Mapping[str, Any]) -> Product:
    """Change a product (price changes do not touch orders already recorded)."""
    return audited_update(actor=actor, obj=product, data=data, editable=PRODUCT_EDITABLE)


def _decimal(value: Any, *, field: str, line: int) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValidationError(
            {
                "lines": _("Line %(n)s: %(field)s %(value)r is not a number.")
                % {"n": line, "field": field, "value": str(value)[:30]}
            }
        )
    return number


def _build_lines(order: Order, lines: Sequence[Mapping[str, Any]]) -> list[OrderLine]:
    if not lines:
        raise ValidationError({"lines": _("An order needs at least one line.")})
    built = []
    for number, data in enumerate(lines, start=1):
        unknown = set(data) - {"product", "description", "quantity", "unit_price", "amount"}
        if unknown:
            raise ValidationError(
                {
                    "lines": _("Line %(n)s: unknown fields %(f)s.")
                    % {"n": number, "f": sorted(unknown)}
                }
            )
        quantity = _decimal(data.get("quantity", 1), field="quantity", line=number)
        unit_price = _decimal(data.get("unit_price"), field="unit_price", line=number)
        amount = data.get("amount")
        amount = (
            (quantity * unit_price).quantize(_CENT)
            if amount in (None, "")
            else _decimal(amount, field="amount", line=number)
        )
        product = data.get("product")
        if product is not None and not isinstance(product, Product):
            raise ValidationError({"lines": _("Line %(n)s: unknown product.") % {"n": number}})
        line = OrderLine(
            order=order,
            line_number=number,
            product=product,
            description=str(data.get("description") or (product.name if product else ""))[:200],
            quantity=quantity,
            unit_price=unit_price,
            amount=amount,
        )
        line.full_clean(exclude=["order"])
        built.append(line)
    return built


def order_create(
    *, actor: Any, data: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> Order:
    """Record an order with its lines; the total is the sum of the line amounts."""
    unknown = set(data) - set(ORDER_FIELDS)
    if unknown:
        raise ValidationError(
            {n: _("This field does not exist or cannot be set.") for n in unknown}
        )
    customer = data.get("customer")
    if not isinstance(customer, Customer):
        raise ValidationError({"customer": _("Choose an existing customer.")})
    ensure_may_create(actor, Order)
    with transaction.atomic():
        order = Order(**data, created_by=actor if getattr(actor, "pk", None) else None)
        built = _build_lines(order, lines)
        order.total_amount = sum((line.amount for line in built), Decimal("0"))
        order.full_clean()
        order.save()
        for line in built:
            line.order = order
        OrderLine.objects.bulk_create(built)
        ensure_allowed(actor, order, Action.ADD)
        after = snapshot(order, extra={"lines": [_line_summary(line) for line in built]})
        record_change(
            actor=actor,
            action=ChangeAction.CREATE,
            obj=order,
            before=None,
            after={k: v for k, v in after.items() if v not in (None, "")},
        )
        # Derived per-customer figures (insights) update in the same transaction.
        orders_changed([order.customer_id])
    return order


def _line_summary(line: OrderLine) -> str:
    label = line.description or line.product_id
    return f"{label} x {line.quantity} @ {line.unit_price} = {line.amount}"


def order_reverse(*, actor: Any, order: Order, reason: str) -> Order:
    """Correct an order by recording its reversal (negated lines); the original stays."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the order is reversed.")})
    with transaction.atomic():
        original = Order.objects.select_for_update().get(pk=order.pk)
        ensure_allowed(actor, original, Action.REVERSE)
        if original.kind == OrderKind.REVERSAL:
            raise ValidationError(_("A reversal cannot itself be reversed."))
        if Order.objects.filter(reverses=original).exists():
            raise ValidationError(
                _("Order %(id)s is already reversed.") % {"id": original.external_id}
            )
        reversal = Order(
            external_id=f"{original.external_id}-R"[:100],
            customer=original.customer,
            channel=original.channel,
            currency=original.currency,
            kind=OrderKind.REVERSAL,
            reverses=original,
            total_amount=-original.total_amount,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        reversal.save()
        OrderLine.objects.bulk_create(
            OrderLine(
                order=reversal,
                line_number=line.line_number,
                product_id=line.product_id,
                description=line.description,
                quantity=-line.quantity,
                unit_price=line.unit_price,
                amount=-line.amount,
            )
            for line in original.lines.all()
        )
        record_change(
            actor=actor,
            action=ChangeAction.REVERSE,
            obj=original,
            before=None,
            after=None,
            changes={"reversed_by": [None, reversal.external_id], "reason": [None, reason[:500]]},
        )
        orders_changed([reversal.customer_id])
    return reversal


def product_import_batch(*, actor: Any, rows: Sequence[BulkRow]) -> list[BulkResult]:
    """Create or update many products (an import batch), each validated and logged."""
    return audited_bulk_write(actor=actor, model=Product, rows=rows, editable=PRODUCT_EDITABLE)


# --- Set-based order import (staging tables) ------------------------------------------------

#: One staged order: (sequence number: the row number of its first line, external id,
#: customer external id, ordered at as naive UTC ISO text or as ISO text ending in its UTC
#: offset (``2024-03-01 10:00+08:00``), channel, currency, total as text or None (the sum
#: of its staged lines), kind, external id of the order it reverses or "").
StagedOrder = tuple[int, str, str, str, str, str, str | None, str, str]
#: One staged line: (order's sequence number, line number, SKU or "", description,
#: quantity, unit price, amount; decimals as text).
StagedLine = tuple[int, int, str, str, str, str, str]
#: What became of one staged order that was not created: (status, field, message, line
#: number or 0).
StagedAnswer = tuple[str, str, str, int]

#: Columns of the staging tables ``_stage_order`` and ``_stage_line`` (temporary tables of
#: the connection). An importer may fill them with its own ``INSERT ... SELECT`` after
#: :func:`order_import_open_stage`, then call :func:`order_import_staged` with
#: ``prestaged=True``.
STAGE_ORDER_COLUMNS = (
    "seq", "external_id", "customer_ext", "ordered_at", "channel", "currency", "total_amount",
    "kind", "reverses_ext",
)  # fmt: skip
STAGE_LINE_COLUMNS = (
    "seq", "line_number", "sku", "description", "quantity", "unit_price", "amount",
)  # fmt: skip


@dataclass
class StagedResult:
    """What :func:`order_import_staged` did with the staged orders.

    Orders not named in ``rejected`` or ``unchanged`` were created. Line counts are over
    every staged order, however it was staged.
    """

    rejected: dict[int, StagedAnswer] = field(default_factory=dict)
    unchanged: set[int] = field(default_factory=set)
    created_lines: int = 0
    unchanged_lines: int = 0
    #: Customers whose orders were created (for the ``orders_changed`` upkeep).
    customers: list[int] = field(default_factory=list)

    def status(self, seq: int) -> str:
        """``created``, ``unchanged`` or ``rejected``."""
        if seq in self.rejected:
            return "rejected"
        return "unchanged" if seq in self.unchanged else "created"


@contextmanager
def order_import_session() -> Iterator[None]:
    """Around an import run's transactions: on SQLite, leave the checking of foreign keys
    to :func:`order_import_staged`.

    SQLite checks every foreign key of every inserted row (customer, recorder, order,
    product: about a fifth of the write time of a large import). The staged writes only
    take their references from joins against the parent tables inside the same write
    transaction, which holds SQLite's single write lock, so no parent can vanish in between:
    the per-row check would never fail. The pragma is per connection and cannot change
    inside a transaction, so inside an outer transaction (or on PostgreSQL) nothing changes;
    the setting is restored when the run ends, and a killed process takes it with its
    connection.
    """
    connection = connections[Order.objects.db]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        enforced = bool(cursor.fetchone()[0])
        cursor.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        if enforced and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = ON")


def order_import_open_stage() -> None:
    """Create (once per connection) and empty the import's temporary staging tables."""
    connection = connections[Order.objects.db]
    connection.ensure_connection()
    with connection.cursor() as django_cursor:
        cursor: Any = django_cursor.cursor
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _stage_order (seq INTEGER PRIMARY KEY, "
                "external_id TEXT, customer_ext TEXT, ordered_at TEXT, channel TEXT, "
                "currency TEXT, total_amount NUMERIC, kind TEXT, reverses_ext TEXT)"
            )
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _stage_line (seq INTEGER, line_number INTEGER, "
                "sku TEXT, description TEXT, quantity NUMERIC, unit_price NUMERIC, "
                "amount NUMERIC, PRIMARY KEY (seq, line_number)) WITHOUT ROWID"
            )
            cursor.execute("DELETE FROM _stage_order")
            cursor.execute("DELETE FROM _stage_line")
            return
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _stage_order (seq integer PRIMARY KEY, "
            "external_id text, customer_ext text, ordered_at timestamptz, channel text, "
            "currency text, total_amount numeric, kind text, reverses_ext text)"
        )
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _stage_line (seq integer, line_number integer, "
            "sku text, description text, quantity numeric, unit_price numeric, amount numeric)"
        )
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS _stage_line_seq ON _stage_line (seq, line_number)"
        )
        cursor.execute("TRUNCATE _stage_order, _stage_line")


def _stage(cursor: Any, vendor: str, orders: Sequence[StagedOrder], lines: Sequence[StagedLine]):
    """Append orders and lines to the staging tables (executemany / COPY)."""
    if vendor == "sqlite":
        if orders:
            cursor.executemany(
                f"INSERT INTO _stage_order VALUES ({', '.join('?' * len(STAGE_ORDER_COLUMNS))})",  # noqa: S608
                orders,
            )
        if lines:
            cursor.executemany(
                f"INSERT INTO _stage_line VALUES ({', '.join('?' * len(STAGE_LINE_COLUMNS))})",  # noqa: S608
                lines,
            )
        return
    if orders:
        with cursor.copy(
            f"COPY _stage_order ({', '.join(STAGE_ORDER_COLUMNS)}) FROM STDIN"
        ) as copy:
            for row in orders:
                at = row[3]
                copy.write_row(row if at[-6] in "+-" else (*row[:3], at + "+00", *row[4:]))
    if lines:
        with cursor.copy(f"COPY _stage_line ({', '.join(STAGE_LINE_COLUMNS)}) FROM STDIN") as copy:
            for line in lines:
                copy.write_row(line)


def _delete_seqs(cursor: Any, vendor: str, table: str, seqs: Sequence[int]) -> None:
    if not seqs:
        return
    if vendor == "sqlite":
        cursor.executemany(f"DELETE FROM {table} WHERE seq = ?", [(s,) for s in seqs])  # noqa: S608
    else:
        cursor.execute(f"DELETE FROM {table} WHERE seq = ANY(%s)", [list(seqs)])  # noqa: S608


def order_import_staged(
    *,
    actor: Any,
    orders: Sequence[StagedOrder] = (),
    lines: Sequence[StagedLine] = (),
    prestaged: bool = False,
    upkeep: bool = True,
) -> StagedResult:
    """Record a batch of imported orders with set-based SQL; says what became of each.

    The caller has validated every cell (types, lengths, dates as UTC). ``orders`` and
    ``lines`` are loaded into temporary staging tables (``executemany`` on SQLite, ``COPY``
    on PostgreSQL); with ``prestaged`` they are added to what the caller already put there
    after :func:`order_import_open_stage`. Customers, products and already recorded orders
    are then resolved by joins against them, and the new orders and lines are written with
    ``INSERT ... SELECT`` in file order (``ON CONFLICT DO NOTHING`` on the orders: the
    unique keys are the safety net against a concurrent import). Each external id comes at
    most once in a batch, and each line number at most once per order (a repeated order
    belongs in a later call, which compares it with the recorded one). An order is created;
    or ``unchanged`` when it is already recorded with the same customer, kind and lines
    (re-importing a file changes nothing); or rejected with the field and reason (unknown
    customer or SKU, customer in the trash or outside the actor's scope, an order recorded
    with other values, a reversal without its original). There is no per-order change-log
    entry (the import run is the record). With ``upkeep``
    :func:`guanxi.core.hooks.orders_changed` is told the customers whose orders were
    created, in the caller's transaction; without it the caller gets them in
    :attr:`StagedResult.customers` and must tell the hook itself (once per import run).
    """
    scope = scope_for(actor, Order.permission_object_type, Action.ADD)
    connection = connections[Order.objects.db]
    connection.ensure_connection()
    vendor = connection.vendor
    if len({order[1] for order in orders}) != len(orders):
        raise ValueError("order_import_staged: an external id is staged twice in one batch")
    if not prestaged:
        order_import_open_stage()
    result = StagedResult()
    rejected = result.rejected
    with connection.cursor() as django_cursor:
        cursor: Any = django_cursor.cursor  # the driver's own cursor: no per-row wrapping
        _stage(cursor, vendor, orders, lines)
        if scope is Scope.NONE:
            cursor.execute("SELECT seq FROM _stage_order")
            for (seq,) in cursor.fetchall():
                rejected[seq] = ("rejected", "", _("You may not add an order."), 0)
            return result
        checked = False
        if vendor == "postgresql":
            # Fresh statistics, so that the joins below hash rather than loop. Row counts
            # and a rough distribution are all the plans need: a small sample (3,000 rows
            # instead of 30,000) takes a tenth of the time.
            cursor.execute("SET LOCAL default_statistics_target = 10")
            cursor.execute("ANALYZE _stage_order, _stage_line")
            cursor.execute("RESET default_statistics_target")
        _resolve(cursor, vendor, actor, scope, result)
        if any(o[8] for o in orders):
            _check_reversals(cursor, vendor, orders, result)
        if vendor == "postgresql":
            # After the resolution: the rows locked are the ones the writes will refer to.
            checked = _check_references_set_based(cursor, actor)
        _write(cursor, vendor, actor, result)
        if checked:
            # (After a failed write the transaction rolls back, and the setting with it.)
            cursor.execute("SET LOCAL session_replication_role = origin")
    if upkeep:
        # Derived per-customer figures (insights) update in the same transaction.
        orders_changed(result.customers)
    return result


def _check_references_set_based(cursor: Any, actor: Any) -> bool:
    """PostgreSQL: check the batch's foreign keys once, set-based, instead of row by row.

    Every inserted order and line would queue one check per foreign key (customer,
    recorder, order, product), run at commit: about half of a large import's time. When the
    role may set ``session_replication_role`` (a superuser, or granted it), the parents the
    batch refers to are locked ``FOR KEY SHARE`` here, in one statement per table (what
    each per-row check would do: no one can delete or re-key them until the batch commits),
    and the writes run with the row triggers off; :func:`_write` takes every reference
    from a join against those locked rows (or from the orders it inserts itself), so the
    stored references are exactly those the per-row checks would have let through.
    Returns whether the triggers are off (the caller turns them on again after the writes).
    Without the privilege nothing changes and the per-row checks run as usual.
    """
    cursor.execute(
        "SELECT rolsuper, current_setting('server_version_num')::int "
        "FROM pg_roles WHERE rolname = current_user"
    )
    superuser, version = cursor.fetchone() or (False, 0)
    if not superuser:
        if version < 150000:  # before 15 only a superuser may set it
            return False
        cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
        if not cursor.fetchone()[0]:
            return False
    order_t, customer_t = Order._meta.db_table, Customer._meta.db_table
    product_t = Product._meta.db_table
    user_t = get_user_model()._meta.db_table
    cursor.execute(
        f"SELECT 1 FROM {customer_t} WHERE external_id IN "  # noqa: S608
        "(SELECT customer_ext FROM _stage_order) FOR KEY SHARE"
    )
    cursor.execute(
        f"SELECT 1 FROM {product_t} WHERE sku IN (SELECT sku FROM _stage_line) FOR KEY SHARE"  # noqa: S608
    )
    cursor.execute(
        f"SELECT 1 FROM {order_t} WHERE external_id IN "  # noqa: S608
        "(SELECT reverses_ext FROM _stage_order WHERE reverses_ext <> '') FOR KEY SHARE"
    )
    if getattr(actor, "pk", None):
        cursor.execute(f"SELECT 1 FROM {user_t} WHERE id = %s FOR KEY SHARE", [actor.pk])  # noqa: S608
    cursor.execute("SET LOCAL session_replication_role = replica")
    return True


def _resolve(cursor: Any, vendor: str, actor: Any, scope: Scope, result: StagedResult) -> None:
    """Reject unknown, trashed or out-of-scope customers and unknown SKUs; find the staged
    orders already recorded (unchanged, or rejected when recorded with other values)."""
    mark = "?" if vendor == "sqlite" else "%s"
    order_t, customer_t = Order._meta.db_table, Customer._meta.db_table
    product_t = Product._meta.db_table
    team_id = getattr(actor, "team_id", None)
    # Only the staged orders that need a decision come back to Python.
    outside, params = "", []
    if scope is not Scope.ALL:
        outside = f"OR NOT (c.owner_id IS NOT NULL AND c.owner_id = {mark}"
        params.append(actor.pk)
        if scope is Scope.TEAM and team_id is not None:
            outside += f" OR c.team_id IS NOT NULL AND c.team_id = {mark}"
            params.append(team_id)
        outside += ")"
    cursor.execute(
        f"SELECT s.seq, s.customer_ext, c.id, c.owner_id, c.team_id, c.deleted_at, o.id "  # noqa: S608
        f"FROM _stage_order s LEFT JOIN {customer_t} c ON c.external_id = s.customer_ext "
        f"LEFT JOIN {order_t} o ON o.external_id = s.external_id "
        f"WHERE c.id IS NULL OR c.deleted_at IS NOT NULL OR o.id IS NOT NULL {outside}",
        params,
    )
    rejected = result.rejected
    existing: list[int] = []
    for row in cursor.fetchall():
        seq, customer_ext, customer_id, owner_id, customer_team, deleted_at, order_id = row
        if customer_id is None:
            rejected[seq] = (
                "rejected",
                "customer_external_id",
                _("no customer has the external id '%(id)s'") % {"id": customer_ext[:40]},
                0,
            )
        elif deleted_at is not None:
            rejected[seq] = (
                "rejected",
                "customer_external_id",
                _("Its customer #%(pk)s is in the trash.") % {"pk": customer_id},
                0,
            )
        elif scope is not Scope.ALL and not (
            owner_id == actor.pk
            or (scope is Scope.TEAM and team_id is not None and customer_team == team_id)
        ):
            rejected[seq] = (
                "rejected",
                "customer_external_id",
                _("You may not add orders for customer #%(pk)s.") % {"pk": customer_id},
                0,
            )
        elif order_id is not None:
            existing.append(seq)
    cursor.execute(
        f"SELECT l.seq, l.line_number, l.sku FROM _stage_line l "  # noqa: S608
        f"LEFT JOIN {product_t} p ON p.sku = l.sku WHERE l.sku <> '' AND p.id IS NULL"
    )
    for seq, line_number, sku in cursor.fetchall():
        if seq not in rejected:
            rejected[seq] = (
                "rejected",
                "sku",
                _("no product has the SKU '%(sku)s'") % {"sku": sku[:40]},
                line_number,
            )
    if existing:
        _compare_existing(cursor, vendor, rejected, existing)
        result.unchanged = {seq for seq in existing if seq not in rejected}


def _write(cursor: Any, vendor: str, actor: Any, result: StagedResult) -> None:
    """Write the staged orders that are neither rejected nor already recorded."""
    mark = "?" if vendor == "sqlite" else "%s"
    order_t, line_t = Order._meta.db_table, OrderLine._meta.db_table
    customer_t, product_t = Customer._meta.db_table, Product._meta.db_table
    user_t = get_user_model()._meta.db_table
    _delete_seqs(cursor, vendor, "_stage_order", list(result.rejected))
    if result.unchanged:
        cursor.execute(
            f"SELECT count(*) FROM _stage_order s JOIN _stage_line l ON l.seq = s.seq "  # noqa: S608
            f"JOIN {order_t} o ON o.external_id = s.external_id"
        )
        result.unchanged_lines = cursor.fetchone()[0]
        _delete_seqs(cursor, vendor, "_stage_order", list(result.unchanged))
    cursor.execute("SELECT count(*) FROM _stage_order")
    kept = cursor.fetchone()[0]
    if not kept:
        return
    now = timezone.now()
    created_by = actor.pk if getattr(actor, "pk", None) else None
    recorded: Any = now.replace(tzinfo=None).isoformat(" ") if vendor == "sqlite" else now
    if vendor == "sqlite":
        # Text with a UTC offset becomes naive UTC text, as Django stores it.
        ordered_at = (
            "CASE WHEN s.ordered_at GLOB '*[+-][0-9][0-9]:[0-9][0-9]' "
            "THEN datetime(s.ordered_at) ELSE s.ordered_at END"
        )
        line_sum = "round(sum(l.amount), 2)"  # amounts have two places: exact
    else:
        ordered_at, line_sum = "s.ordered_at", "sum(l.amount)"
    # One statement in file order (keys ascending: B-tree appends). A reversal whose
    # original is in this batch gets its link just after, in the same transaction.
    cursor.execute(
        f"INSERT INTO {order_t} (external_id, customer_id, ordered_at, channel, "  # noqa: S608
        "currency, total_amount, kind, reverses_id, created_at, created_by_id) "
        f"SELECT s.external_id, c.id, {ordered_at}, s.channel, s.currency, "
        f"coalesce(s.total_amount, (SELECT {line_sum} FROM _stage_line l WHERE l.seq = s.seq)), "
        "s.kind, CASE WHEN s.reverses_ext = '' THEN NULL ELSE "
        f"(SELECT r.id FROM {order_t} r WHERE r.external_id = s.reverses_ext) END, "
        # The recorder by a join too (a user deleted meanwhile records none, as deleting
        # a user does to the orders it recorded), see order_import_session.
        f"{mark}, (SELECT u.id FROM {user_t} u WHERE u.id = {mark}) FROM _stage_order s "
        f"JOIN {customer_t} c ON c.external_id = s.customer_ext "
        "WHERE true ORDER BY s.seq ON CONFLICT (external_id) DO NOTHING",
        [recorded, created_by],
    )
    inserted = max(cursor.rowcount, 0)
    cursor.execute("SELECT 1 FROM _stage_order WHERE reverses_ext <> '' LIMIT 1")
    if cursor.fetchone():
        cursor.execute(
            f"UPDATE {order_t} SET reverses_id = (SELECT r.id FROM {order_t} r "  # noqa: S608
            "WHERE r.external_id = s.reverses_ext) FROM _stage_order s "
            f"WHERE {order_t}.external_id = s.external_id AND s.reverses_ext <> '' "
            f"AND {order_t}.reverses_id IS NULL"
        )
    if inserted != kept:  # a concurrent import recorded some of them first
        cursor.execute(
            f"SELECT s.seq FROM _stage_order s JOIN {order_t} o "  # noqa: S608
            f"ON o.external_id = s.external_id WHERE o.created_at <> {mark}",
            [recorded],
        )
        theirs = [row[0] for row in cursor.fetchall()]
        if theirs:
            cursor.execute(
                f"SELECT count(*) FROM _stage_order s JOIN _stage_line l ON l.seq = s.seq "  # noqa: S608
                f"JOIN {order_t} o ON o.external_id = s.external_id WHERE o.created_at <> {mark}",
                [recorded],
            )
            result.unchanged_lines += cursor.fetchone()[0]
            result.unchanged.update(theirs)
            _delete_seqs(cursor, vendor, "_stage_order", theirs)
    # No ON CONFLICT here (a speculative insertion per line costs PostgreSQL a fifth of
    # the statement): the orders left are the ones just inserted by this transaction, which
    # nobody else can see yet, and the importer stages each line number of an order once.
    cursor.execute(
        f"INSERT INTO {line_t} (order_id, line_number, product_id, description, "  # noqa: S608
        "quantity, unit_price, amount) "
        "SELECT o.id, l.line_number, p.id, l.description, l.quantity, l.unit_price, l.amount "
        "FROM _stage_order s JOIN _stage_line l ON l.seq = s.seq "
        f"JOIN {order_t} o ON o.external_id = s.external_id "
        f"LEFT JOIN {product_t} p ON p.sku = l.sku AND l.sku <> '' "
        "ORDER BY s.seq, l.line_number"
    )
    result.created_lines = max(cursor.rowcount, 0)
    cursor.execute(
        f"SELECT DISTINCT c.id FROM _stage_order s "  # noqa: S608
        f"JOIN {customer_t} c ON c.external_id = s.customer_ext"
    )
    result.customers = [row[0] for row in cursor.fetchall()]


def _compare_existing(
    cursor: Any, vendor: str, rejected: dict[int, StagedAnswer], existing: list[int]
) -> None:
    """Reject staged orders already recorded with another customer, kind or other lines.

    Joins and anti-joins only (no correlated counts): an order differs when its customer or
    kind differs, when a staged line is missing or different in the recorded order, or when
    a recorded line is missing from the staged order.
    """
    order_t, line_t = Order._meta.db_table, OrderLine._meta.db_table
    customer_t, product_t = Customer._meta.db_table, Product._meta.db_table
    differs = "IS NOT" if vendor == "sqlite" else "IS DISTINCT FROM"
    cursor.execute(
        f"SELECT s.seq, s.external_id FROM _stage_order s "  # noqa: S608
        f"JOIN {order_t} o ON o.external_id = s.external_id "
        f"JOIN {customer_t} c ON c.external_id = s.customer_ext "
        "WHERE o.customer_id <> c.id OR o.kind <> s.kind "
        "UNION "
        "SELECT l.seq, s.external_id FROM _stage_line l JOIN _stage_order s ON s.seq = l.seq "
        f"JOIN {order_t} o ON o.external_id = s.external_id "
        f"LEFT JOIN {product_t} p ON p.sku = l.sku AND l.sku <> '' "
        f"LEFT JOIN {line_t} ol ON ol.order_id = o.id AND ol.line_number = l.line_number "
        "WHERE ol.id IS NULL OR ol.quantity <> l.quantity OR ol.unit_price <> l.unit_price "
        f"OR ol.amount <> l.amount OR ol.product_id {differs} p.id "
        "UNION "
        "SELECT s.seq, s.external_id FROM _stage_order s "
        f"JOIN {order_t} o ON o.external_id = s.external_id "
        f"JOIN {line_t} ol ON ol.order_id = o.id "
        "LEFT JOIN _stage_line l ON l.seq = s.seq AND l.line_number = ol.line_number "
        "WHERE l.seq IS NULL"
    )
    known = set(existing)
    for seq, external_id in cursor.fetchall():
        if seq in known and seq not in rejected:
            rejected[seq] = (
                "rejected",
                "",
                _(
                    "Order %(id)s is already recorded with other values; orders are "
                    "facts: record a reversal to correct one."
                )
                % {"id": external_id},
                0,
            )


def _check_reversals(
    cursor: Any, vendor: str, orders: Sequence[StagedOrder], result: StagedResult
) -> None:
    """Refuse imported reversals whose original is missing, later, reversed or different.

    The original may be staged in the same batch (by the caller's SQL or in ``orders``).
    """
    answers = result.rejected
    known = result.unchanged
    reversals = [o for o in orders if o[8] and o[0] not in answers and o[0] not in known]
    if not reversals:
        return
    names = sorted({o[8] for o in reversals})
    mark = "?" if vendor == "sqlite" else "%s"
    line_sum = "round(sum(l.amount), 2)" if vendor == "sqlite" else "sum(l.amount)"
    staged: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(names), 500):
        part = names[start : start + 500]
        cursor.execute(
            "SELECT seq, external_id, customer_ext, coalesce(total_amount, "  # noqa: S608
            f"(SELECT {line_sum} FROM _stage_line l WHERE l.seq = s.seq)), kind "
            f"FROM _stage_order s WHERE external_id IN ({', '.join([mark] * len(part))})",
            part,
        )
        for seq, external_id, customer_ext, total, kind in cursor.fetchall():
            staged[external_id] = (seq, external_id, customer_ext, "", "", "", str(total), kind)
    recorded = {
        external_id: (customer_ext, kind, total, reversed_by)
        for external_id, customer_ext, kind, total, reversed_by in Order.objects.filter(
            external_id__in=names
        ).values_list(
            "external_id", "customer__external_id", "kind", "total_amount",
            "reversed_by__external_id",
        )
    }  # fmt: skip
    taken: set[str] = set()
    for order in reversals:
        seq, external_id, customer_ext, _at, _ch, _cur, total, kind, target = order
        message = ""
        if kind != OrderKind.REVERSAL:
            message = _("A reversal has kind reversal and names the order it reverses.")
        elif target in recorded:
            o_customer, o_kind, o_total, reversed_by = recorded[target]
            if reversed_by and reversed_by != external_id:
                message = _("Order %(id)s is already reversed.") % {"id": target}
        elif target in staged and staged[target][0] < seq and staged[target][0] not in answers:
            earlier = staged[target]
            o_customer, o_kind, o_total = earlier[2], earlier[7], Decimal(earlier[6])
        else:
            message = _(
                "Order %(id)s, which this reversal reverses, is not recorded (it must come "
                "before its reversal)."
            ) % {"id": target}
        if not message:
            if target in taken:
                message = _("Order %(id)s is already reversed.") % {"id": target}
            elif o_kind != OrderKind.SALE:
                message = _("A reversal cannot itself be reversed.")
            elif o_customer != customer_ext:
                message = _("A reversal belongs to the customer of the order it reverses.")
            elif Decimal(str(total)) != -o_total:
                message = _(
                    "A reversal's total must be the opposite of the reversed order's total."
                )
        if message:
            answers[seq] = ("rejected", "reverses_external_id", message, 0)
        else:
            taken.add(target)
