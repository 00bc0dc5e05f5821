"""Serializers of the customer database: input validation and representation only.

Writes go through :mod:`guanxi.customers.services`, called by the viewsets.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from guanxi.accounts.models import Team, User
from guanxi.core.api.fields import ScopedPrimaryKeyRelatedField, TagNamesField
from guanxi.customers.choices import ConsentChannel, ConsentMethod
from guanxi.customers.models import Contact, Customer, CustomerConsent
from guanxi.customers.selectors import customer_list

_TIMESTAMPS = ("created_at", "updated_at")


class CustomerConsentSerializer(serializers.ModelSerializer):
    """Whether the customer agreed to be contacted on one channel, and when and how."""

    class Meta:
        model = CustomerConsent
        fields = ("channel", "granted", "method", "note", "recorded_at")
        read_only_fields = fields


class CustomerConsentChangeSerializer(serializers.Serializer):
    """Input of ``POST /api/customers/{id}/consent/``."""

    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    granted = serializers.BooleanField()
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CustomerSerializer(serializers.ModelSerializer):
    """A customer with tags (names), custom fields (an object) and consent (read only)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:customer-detail")
    display = serializers.CharField(source="__str__", read_only=True)
    tags = TagNamesField(required=False, help_text=_("Tag names; a new name creates the tag."))
    custom_fields = serializers.DictField(
        required=False, help_text=_("Values of the custom fields, by key.")
    )
    consents = CustomerConsentSerializer(many=True, read_only=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text=_("The relationship manager (defaults to you)."),
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Defaults to your team."),
    )

    class Meta:
        model = Customer
        fields = (
            "id", "url", "display", "external_id", "kind", "name", "market", "buyer_motive",
            "email", "phone", "country", "province", "city", "address", "industry", "language",
            "age_band", "gender", "income_band", "education", "occupation", "org_size",
            "ownership", "financial_strength", "money", "money_note", "authority",
            "authority_note", "need", "need_note", "qualification_status", "credit_rating",
            "credit_limit", "credit_overdue", "category_need", "source", "tags",
            "custom_fields", "consents",
            "notes", "owner", "team", "erased_at", "deleted_at", *_TIMESTAMPS,
        )  # fmt: skip
        read_only_fields = ("qualification_status", "erased_at", "deleted_at", *_TIMESTAMPS)


class ContactSerializer(serializers.ModelSerializer):
    """A person at an organization customer; ``customer`` must be one you can see."""

    url = serializers.HyperlinkedIdentityField(view_name="api:contact-detail")
    display = serializers.CharField(source="__str__", read_only=True)
    customer = ScopedPrimaryKeyRelatedField(
        selector=customer_list, model=Customer, help_text=_("The organization (customer id).")
    )
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Contact
        fields = (
            "id", "url", "display", "customer", "customer_name", "external_id", "name",
            "title", "email", "phone", "buying_role", "stance", "is_primary", "notes",
            "deleted_at", *_TIMESTAMPS,
        )  # fmt: skip
        read_only_fields = ("deleted_at", *_TIMESTAMPS)
