"""Reads shared by every app."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import QuerySet

from guanxi.core.models import ChangeRecord, ListPreference, SavedView


def record_history(*, scoped: QuerySet[Any], obj: models.Model) -> QuerySet[ChangeRecord]:
    """The change log of one record, newest first.

    ``scoped`` is the caller's permission-scoped queryset of the record's model: a record
    outside it raises ``DoesNotExist`` (a 404), so history never shows more than the record.
    """
    scoped.get(pk=obj.pk)
    return ChangeRecord.objects.for_object(obj).select_related("content_type", "actor")


def saved_view_list(*, user: Any, list_key: str | None = None) -> QuerySet[SavedView]:
    """Saved views the user may apply: their own and those shared in their team."""
    views = SavedView.objects.visible_to(user).select_related("user")
    if list_key is not None:
        views = views.filter(list_key=list_key)
    return views


def saved_view_get(*, user: Any, pk: Any, list_key: str | None = None) -> SavedView | None:
    """One saved view the user may apply, or None (unknown, or another team's)."""
    try:
        return saved_view_list(user=user, list_key=list_key).get(pk=pk)
    except (SavedView.DoesNotExist, ValueError, TypeError):
        return None


def list_columns(*, user: Any, list_key: str) -> list[str] | None:
    """The columns the user chose for a list, or None when they never chose."""
    if user is None or not user.is_authenticated:
        return None
    pref = ListPreference.objects.filter(user=user, list_key=list_key).first()
    return list(pref.columns) if pref is not None else None
