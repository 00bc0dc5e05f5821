"""Reads shared by every app."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import QuerySet

from guanxi.core.models import ChangeRecord


def record_history(*, scoped: QuerySet[Any], obj: models.Model) -> QuerySet[ChangeRecord]:
    """The change log of one record, newest first.

    ``scoped`` is the caller's permission-scoped queryset of the record's model: a record
    outside it raises ``DoesNotExist`` (a 404), so history never shows more than the record.
    """
    scoped.get(pk=obj.pk)
    return ChangeRecord.objects.for_object(obj).select_related("content_type", "actor")
