"""Serializer fields shared by every app's API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers

from guanxi.core.validators import MAX_ID, validate_storable_datetime


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key in a write payload, resolved only among records the user may see.

    ``selector`` is an app selector (``customer_list``) called with the requesting user, so
    an id outside the user's scope is refused exactly like an id that does not exist
    ("object does not exist"), and never reveals that the record is there.
    """

    def __init__(
        self, *, selector: Callable[..., models.QuerySet[Any]], model: type[models.Model], **kw: Any
    ) -> None:
        self.selector = selector
        if not kw.get("read_only"):
            # Only a hint for schema generation; get_queryset() is what resolves ids.
            kw.setdefault("queryset", model._default_manager.none())
        super().__init__(**kw)

    def get_queryset(self) -> models.QuerySet[Any]:
        request = self.context.get("request")
        return self.selector(user=getattr(request, "user", None))


class TagNamesField(serializers.ListField):
    """Tags as a plain list of names (read from a many-to-many manager, written as strings)."""

    child = serializers.CharField(max_length=50, allow_blank=False)

    def to_representation(self, data: Any) -> list[str]:
        items = data.all() if hasattr(data, "all") else data
        return sorted(getattr(item, "name", item) for item in items)


class DateTimeField(serializers.DateTimeField):
    """DRF's date-time field, refusing (400) moments that cannot be stored in UTC.

    DRF converts a naive value with the site's time zone and lets the ``OverflowError`` of
    a moment on the edge of the calendar (``0001-01-01T00:00:00``) escape as a 500.
    """

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        try:
            value = super().enforce_timezone(value)
            validate_storable_datetime(value)
        except (OverflowError, DjangoValidationError):
            self.fail("overflow")
        return value


class IdField(serializers.IntegerField):
    """A record id in a payload: a whole number the database can compare (1 .. 2**63-1)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)
