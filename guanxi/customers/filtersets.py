"""Filters shared by the customer lists in the UI and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Team, User
from guanxi.core.filtersets import ScopedFilterSet
from guanxi.core.search import clean_query, phone_digits

from . import choices
from .models import Contact, Customer, Tag
from .search import search_condition


class CustomerFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=choices.CustomerKind.choices)
    market = django_filters.ChoiceFilter(choices=choices.Market.choices)
    buyer_motive = django_filters.ChoiceFilter(choices=choices.BuyerMotive.choices)
    qualification_status = django_filters.ChoiceFilter(choices=choices.QualificationStatus.choices)
    credit_rating = django_filters.ChoiceFilter(choices=choices.CreditRating.choices)
    source = django_filters.ChoiceFilter(choices=choices.Source.choices)
    province = django_filters.CharFilter(method="region", label=_("Province or region"))
    city = django_filters.CharFilter(method="region", label=_("City"))
    industry = django_filters.CharFilter(lookup_expr="icontains")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    tag = django_filters.ModelMultipleChoiceFilter(
        field_name="tags__name",
        to_field_name="name",
        queryset=Tag.objects.all(),
        label=_("Tag"),
        method="tagged",
    )

    class Meta:
        model = Customer
        fields = ["credit_overdue", "external_id"]

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        """Name prefix, email, phone digits or external id: indexed lookups (core.search)."""
        value = clean_query(value)
        if not value:
            return queryset
        return queryset.alias(phone_key=phone_digits("phone")).filter(search_condition(value))

    def tagged(self, queryset: QuerySet[Customer], name: str, value: Any) -> QuerySet[Customer]:
        """Customers with any of the tags: a semi-join, so no DISTINCT over wide rows."""
        if not value:
            return queryset
        links = Customer.tags.through.objects.filter(tag__in=value).values("customer_id")
        return queryset.filter(pk__in=links)

    def region(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        """Equal to the typed place in its usual spellings (the province/city index)."""
        value = value.strip()
        if not value:
            return queryset
        spellings = {value, value.title(), value.upper(), value.lower()}
        return queryset.filter(**{f"{name}__in": sorted(spellings)})


class ContactFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    buying_role = django_filters.ChoiceFilter(choices=choices.BuyingRole.choices)
    stance = django_filters.ChoiceFilter(choices=choices.Stance.choices)

    class Meta:
        model = Contact
        fields = ["customer", "is_primary", "external_id"]

    def search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        """Name prefix, email, phone digits or external id: indexed lookups (core.search)."""
        value = clean_query(value)
        if not value:
            return queryset
        return queryset.alias(phone_key=phone_digits("phone")).filter(search_condition(value))
