"""Filters shared by the activity lists (interactions, notes, tasks) in the UI and the API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.core.filtersets import ScopedFilterSet

from .choices import Direction, InteractionChannel, Outcome
from .models import Interaction, Note, Task


class InteractionFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="subject", lookup_expr="icontains", label=_("Subject"))
    channel = django_filters.ChoiceFilter(choices=InteractionChannel.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    occurred_after = django_filters.DateFilter(
        field_name="occurred_at", lookup_expr="date__gte", label=_("From")
    )
    occurred_before = django_filters.DateFilter(
        field_name="occurred_at", lookup_expr="date__lte", label=_("To")
    )

    class Meta:
        model = Interaction
        fields = ["customer", "contact", "user"]


class NoteFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="body", lookup_expr="icontains", label=_("Text"))

    class Meta:
        model = Note
        fields = ["customer", "author"]


class TaskFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label=_("Title"))
    done = django_filters.BooleanFilter(label=_("Done"))
    mine = django_filters.BooleanFilter(
        method="filter_mine",
        label=_("Assigned to me"),
        widget=django_filters.widgets.BooleanWidget(),
    )
    due_before = django_filters.DateFilter(
        field_name="due_date", lookup_expr="lte", label=_("Due by")
    )

    class Meta:
        model = Task
        fields = ["customer", "assignee"]

    def filter_mine(
        self, queryset: QuerySet[Task], name: str, value: bool | None
    ) -> QuerySet[Task]:
        user = getattr(self.request, "user", None)
        if value is None or user is None:
            return queryset
        return queryset.filter(assignee=user) if value else queryset.exclude(assignee=user)
