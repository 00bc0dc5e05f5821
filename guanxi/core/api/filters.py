"""Filter backends of the API."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend

from guanxi.core.permissions import Action, ScopedQuerySet


class ScopedFilterBackend(DjangoFilterBackend):
    """django-filter, with record choices (``?customer=12``) limited to the user's scope.

    The shared filtersets offer every customer as a choice; here an id outside the scope
    is refused exactly like an id that does not exist, so a filter cannot be used to probe
    which records exist.
    """

    def get_filterset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        for item in filterset.filters.values():  # deep copies, private to this request
            choices = getattr(item, "queryset", None)
            if isinstance(choices, ScopedQuerySet):
                item.queryset = choices.restrict(request.user, Action.VIEW)
        return filterset
