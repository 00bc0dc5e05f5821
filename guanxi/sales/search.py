"""Orders in the global search (:mod:`guanxi.core.search`): by order number."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone

from guanxi.core.search import SearchHit

from . import selectors


def search_orders(user: Any, text: str, limit: int) -> list[SearchHit]:
    """Orders the user may see whose number is or starts with ``text`` (any case typed)."""
    if " " in text:
        return []
    condition = Q(external_id=text)
    for variant in dict.fromkeys((text, text.upper())):
        condition |= Q(external_id__startswith=variant)
    rows = list(
        selectors.order_list(user=user)
        .order_by()
        .filter(condition)
        .values("pk", "external_id", "customer__name", "ordered_at", "total_amount", "currency")[
            :limit
        ]
    )
    rows.sort(key=lambda r: (r["external_id"] != text, r["external_id"]))
    return [
        SearchHit(
            row["external_id"],
            " · ".join(
                str(p)
                for p in (
                    row["customer__name"],
                    formats.date_format(timezone.localtime(row["ordered_at"]), "SHORT_DATE_FORMAT")
                    if row["ordered_at"]
                    else "",
                    f"{formats.number_format(row['total_amount'], 2, force_grouping=True)} "
                    f"{row['currency']}",
                )
                if p
            ),
            reverse("order_detail", args=[row["pk"]]),
        )
        for row in rows
    ]
