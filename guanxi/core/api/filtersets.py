"""Filters of the change-log API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.core.filtersets import IdFilter, IsoDateTimeFilter
from guanxi.core.models import ChangeAction, ChangeRecord


class ChangeRecordFilterSet(django_filters.FilterSet):
    """Change-log entries by customer, kind of record, action, actor or request id."""

    customer = IdFilter(field_name="customer_id", label=_("Customer"))
    content_type = django_filters.CharFilter(
        method="filter_content_type", label=_("Kind of record (app_label.model)")
    )
    object_id = django_filters.CharFilter(label=_("Record id"))
    action = django_filters.ChoiceFilter(choices=ChangeAction.choices)
    actor = IdFilter(field_name="actor_id", label=_("Actor"))
    request_id = django_filters.CharFilter(label=_("Request id"))
    time_after = IsoDateTimeFilter(field_name="time", lookup_expr="gte")
    time_before = IsoDateTimeFilter(field_name="time", lookup_expr="lt")

    class Meta:
        model = ChangeRecord
        fields: list[str] = []

    def filter_content_type(
        self, queryset: QuerySet[ChangeRecord], name: str, value: str
    ) -> QuerySet[ChangeRecord]:
        app_label, _sep, model = value.strip().lower().partition(".")
        if not model:
            return queryset.filter(content_type__model=app_label)
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)
