"""Customers and contacts in the global search (:mod:`guanxi.core.search`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.core.search import (
    MIN_NAME_LENGTH,
    SearchHit,
    SearchProvider,
    looks_like_email,
    looks_like_phone,
    name_prefix_q,
    normalise_phone,
    phone_digits,
    register_search_provider,
)

from . import selectors


def search_condition(text: str) -> Q:
    """Indexed lookups only: external id, email prefix, digits of the phone, name prefix."""
    condition = Q(external_id=text)
    if looks_like_email(text):
        return condition | Q(email__startswith=text.lower()) | Q(email__startswith=text)
    if looks_like_phone(text):
        condition |= Q(phone_key=normalise_phone(text))
    if len(text) >= MIN_NAME_LENGTH:
        condition |= name_prefix_q("name", text)
    return condition


def _ranked(rows: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Exact matches first (external id, email), then by name."""
    lowered = text.lower()

    def key(row: dict[str, Any]) -> tuple[int, str]:
        exact = row["external_id"] == text or (row["email"] or "").lower() == lowered
        return (0 if exact else 1, row["name"].lower())

    return sorted(rows, key=key)


def _detail(*parts: Any) -> str:
    return " · ".join(str(p) for p in parts if p)


def search_customers(user: Any, text: str, limit: int) -> list[SearchHit]:
    """Customers the user may see whose name, email, phone or external id matches."""
    rows = list(
        selectors.customer_list(user=user)
        .order_by()  # index order; a sort over every match would cost as much as the scan
        .alias(phone_key=phone_digits("phone"))
        .filter(search_condition(text))
        .values("pk", "name", "email", "phone", "external_id", "city")[:limit]
    )
    return [
        SearchHit(
            row["name"],
            _detail(row["external_id"], row["email"], row["phone"], row["city"]),
            reverse("customer_detail", args=[row["pk"]]),
        )
        for row in _ranked(rows, text)
    ]


def search_contacts(user: Any, text: str, limit: int) -> list[SearchHit]:
    """Contacts the user may see whose name, email, phone or external id matches."""
    rows = list(
        selectors.contact_list(user=user)
        .order_by()
        .alias(phone_key=phone_digits("phone"))
        .filter(search_condition(text))
        .values("pk", "name", "email", "phone", "external_id", "customer__name")[:limit]
    )
    return [
        SearchHit(
            row["name"],
            _detail(row["customer__name"], row["email"], row["phone"]),
            reverse("contact_detail", args=[row["pk"]]),
        )
        for row in _ranked(rows, text)
    ]


register_search_provider(
    SearchProvider(
        "customers", _("Customers"), "customer", search_customers, "customer_list", order=10
    )
)
register_search_provider(
    SearchProvider("contacts", _("Contacts"), "contact", search_contacts, "contact_list", order=20)
)
