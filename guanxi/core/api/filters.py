"""Filter backends of the API that refuse what they cannot apply instead of ignoring it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class OrderingFilter(filters.OrderingFilter):
    """DRF's ``?ordering=`` filter answering 400 for a field it may not sort by.

    DRF drops unknown fields silently, so a typo (``?ordering=nmae``) returns a list in
    another order than the client asked for, with nothing to say so.
    """

    def remove_invalid_fields(
        self, queryset: QuerySet[Any], fields: Iterable[str], view: Any, request: Request
    ) -> list[str]:
        terms = [term for term in fields if term]
        valid = super().remove_invalid_fields(queryset, terms, view, request)
        unknown = [term for term in terms if term not in valid]
        if unknown:
            allowed = [item[0] for item in self.get_valid_fields(queryset, view, {})]
            raise ValidationError(
                {
                    self.ordering_param: [
                        _("Cannot sort by %(fields)s. Sort by one of: %(allowed)s.")
                        % {"fields": ", ".join(unknown), "allowed": ", ".join(allowed)}
                    ]
                }
            )
        return valid
