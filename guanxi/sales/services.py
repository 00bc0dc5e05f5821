"""Writes to the catalogue and the transaction records.

Orders are created once (with their lines) and corrected only by :func:`order_reverse`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.core.changelog import record_change, snapshot
from guanxi.core.models import ChangeAction
from guanxi.core.permissions import Action, ensure_allowed, ensure_may_create
from guanxi.core.services import audited_create, audited_update
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
    return reversal
