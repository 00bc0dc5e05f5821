"""Filters shared by the interaction lists in the UI and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from guanxi.core.filtersets import ScopedFilterSet

from .choices import Direction, InteractionChannel, Outcome
from .models import Interaction


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
