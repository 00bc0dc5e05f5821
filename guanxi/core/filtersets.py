"""Filter sets whose record choices are limited to what the requesting user may see."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Action, ScopedQuerySet
from guanxi.core.validators import MAX_ID, validate_storable_datetime


class IdFilter(django_filters.NumberFilter):
    """A record id (``?actor=3``): a whole number from 1 to 2**63-1, else a 400 naming it.

    ``NumberFilter`` takes any decimal (``1e30``, ``0.5``), which the database cannot
    compare with an integer column (an overflow, a 500); this one takes whole numbers.
    """

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class NumberInFilter(django_filters.BaseInFilter, IdFilter):
    """A comma-separated list of record ids (``?id=3,5,8``)."""


class StorableDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time the database can store (see ``validate_storable_datetime``)."""

    default_validators = [validate_storable_datetime]


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` refusing (400) moments outside the calendar once in UTC."""

    field_class = StorableDateTimeField


class ScopedFilterSet(django_filters.FilterSet):
    """A FilterSet whose record choices (``?customer=12``) are the user's visible records.

    An id outside the user's scope is refused exactly like an id that does not exist, and a
    filter's drop-down never lists records the user may not see. Used by the web lists and
    the API alike (django-filter passes the request to both).

    ``id`` narrows to chosen records (``?id=3,5,8``): the bulk export of selected rows.
    """

    id = NumberInFilter(field_name="pk", label=_("Records"))

    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        user = getattr(request, "user", None)
        for item in self.filters.values():  # deep copies, private to this instance
            choices = getattr(item, "queryset", None)
            if isinstance(choices, ScopedQuerySet):
                item.queryset = choices.restrict(user, Action.VIEW)
