"""Orders on the customer timeline (registered in :meth:`SalesConfig.ready`)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Action, has_permission
from guanxi.core.timeline import (
    Cursor,
    TimelineEntry,
    TimelineSource,
    page_of,
    register_timeline_source,
)

from . import selectors
from .choices import OrderKind


def order_entries(user: Any, customer: Any, after: Cursor | None, limit: int) -> list[Any]:
    """The customer's orders (and reversals) that ``user`` may see, newest first.

    One range scan of the ``(customer, ordered_at, total_amount)`` index.
    """
    if not has_permission(user, "order", Action.VIEW):
        return []
    rows = page_of(
        selectors.order_list(user=user).filter(customer=customer).select_related(None),
        kind="order",
        after=after,
        limit=limit,
        time_field="ordered_at",
    )
    return [
        TimelineEntry(
            time=row.ordered_at,
            kind="order",
            pk=row.pk,
            label=_("Order"),
            title=row.external_id,
            url=reverse("order_detail", args=[row.pk]),
            summary=f"{number_format(row.total_amount, 2, force_grouping=True)} {row.currency}"
            f" · {row.get_channel_display()}",
            badge="bg-red-lt" if row.kind == OrderKind.REVERSAL else "bg-blue-lt",
            state=row.get_kind_display() if row.kind == OrderKind.REVERSAL else "",
        )
        for row in rows
    ]


def register() -> None:
    """Put orders on the customer timeline."""
    register_timeline_source(
        TimelineSource("order", _("Orders"), order_entries, covers=("sales.order",), order=10)
    )
