"""Filter sets whose record choices are limited to what the requesting user may see."""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Action, ScopedQuerySet


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    """A comma-separated list of numbers (``?id=3,5,8``)."""


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
