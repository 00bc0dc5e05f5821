"""Serializers of interactions: input validation and representation only.

Writes go through :mod:`guanxi.activities.services`, called by the viewset.
"""

from __future__ import annotations

from rest_framework import serializers

from guanxi.activities.models import Interaction
from guanxi.core.api.fields import ScopedPrimaryKeyRelatedField
from guanxi.customers.models import Contact, Customer
from guanxi.customers.selectors import contact_list, customer_list


class InteractionSerializer(serializers.ModelSerializer):
    """A logged contact with a customer; ``user`` is who logged it (you, on create)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:interaction-detail")
    display = serializers.CharField(source="__str__", read_only=True)
    customer = ScopedPrimaryKeyRelatedField(selector=customer_list, model=Customer)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    contact = ScopedPrimaryKeyRelatedField(
        selector=contact_list, model=Contact, required=False, allow_null=True
    )

    class Meta:
        model = Interaction
        fields = (
            "id", "url", "display", "customer", "customer_name", "contact", "channel",
            "direction", "subject", "notes", "outcome", "user", "occurred_at", "created_at",
            "updated_at",
        )  # fmt: skip
        read_only_fields = ("user", "created_at", "updated_at")
