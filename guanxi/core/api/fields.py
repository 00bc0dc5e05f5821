"""Serializer fields shared by every app's API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from rest_framework import serializers


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
