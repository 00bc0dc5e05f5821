"""Filters shared by the customer lists in the UI and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Team, User
from guanxi.core.filtersets import ScopedFilterSet

from . import choices
from .models import Contact, Customer, Tag


class CustomerFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=choices.CustomerKind.choices)
    market = django_filters.ChoiceFilter(choices=choices.Market.choices)
    buyer_motive = django_filters.ChoiceFilter(choices=choices.BuyerMotive.choices)
    qualification_status = django_filters.ChoiceFilter(choices=choices.QualificationStatus.choices)
    credit_rating = django_filters.ChoiceFilter(choices=choices.CreditRating.choices)
    source = django_filters.ChoiceFilter(choices=choices.Source.choices)
    province = django_filters.CharFilter(lookup_expr="iexact")
    city = django_filters.CharFilter(lookup_expr="iexact")
    industry = django_filters.CharFilter(lookup_expr="icontains")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    tag = django_filters.ModelMultipleChoiceFilter(
        field_name="tags__name", to_field_name="name", queryset=Tag.objects.all(), label=_("Tag")
    )

    class Meta:
        model = Customer
        fields = ["credit_overdue", "external_id"]

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(email__iexact=value)
            | Q(phone__contains=value)
            | Q(external_id=value)
        )


class ContactFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    buying_role = django_filters.ChoiceFilter(choices=choices.BuyingRole.choices)
    stance = django_filters.ChoiceFilter(choices=choices.Stance.choices)

    class Meta:
        model = Contact
        fields = ["customer", "is_primary", "external_id"]

    def search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(email__iexact=value) | Q(phone__contains=value)
        )
