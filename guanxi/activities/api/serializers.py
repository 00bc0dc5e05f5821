"""Serializers of interactions, notes and tasks: input validation and representation only.

Writes go through :mod:`guanxi.activities.services`, called by the viewset.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from guanxi.activities.models import Interaction, Note, Task
from guanxi.core.api.fields import DateTimeField, ScopedPrimaryKeyRelatedField
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
    occurred_at = DateTimeField(required=False, help_text=_("When it happened (default: now)."))

    class Meta:
        model = Interaction
        fields = (
            "id", "url", "display", "customer", "customer_name", "contact", "channel",
            "direction", "subject", "notes", "outcome", "user", "occurred_at", "created_at",
            "updated_at",
        )  # fmt: skip
        read_only_fields = ("user", "created_at", "updated_at")


class NoteSerializer(serializers.ModelSerializer):
    """A note about a customer; ``author`` is who wrote it (you, on create)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:note-detail")
    display = serializers.CharField(source="__str__", read_only=True)
    customer = ScopedPrimaryKeyRelatedField(selector=customer_list, model=Customer)
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Note
        fields = (
            "id", "url", "display", "customer", "customer_name", "body", "author", "created_at",
            "updated_at",
        )  # fmt: skip
        read_only_fields = ("author", "created_at", "updated_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "customer" in attrs:
            if attrs["customer"] != self.instance.customer:
                raise serializers.ValidationError(
                    {"customer": _("A note cannot move to another customer.")}
                )
            attrs.pop("customer")
        return attrs


class TaskSerializer(serializers.ModelSerializer):
    """A task for a customer; assigned to you unless ``assignee`` says otherwise.

    Setting ``done`` stamps ``completed_at``.
    """

    url = serializers.HyperlinkedIdentityField(view_name="api:task-detail")
    display = serializers.CharField(source="__str__", read_only=True)
    customer = ScopedPrimaryKeyRelatedField(selector=customer_list, model=Customer)
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Task
        fields = (
            "id", "url", "display", "customer", "customer_name", "title", "notes", "due_date",
            "assignee", "done", "completed_at", "created_by", "created_at", "updated_at",
        )  # fmt: skip
        read_only_fields = ("completed_at", "created_by", "created_at", "updated_at")
