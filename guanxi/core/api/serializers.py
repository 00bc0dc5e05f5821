"""Serializers of the core records: the change log, shared by every app's API."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from guanxi.core.models import ChangeRecord


class ChangeRecordSerializer(serializers.ModelSerializer):
    """One change-log entry: who changed which record how (``changes``: field -> [old, new])."""

    content_type = serializers.SerializerMethodField(
        help_text=_("The kind of record, as app_label.model (customers.customer).")
    )
    customer = serializers.IntegerField(
        source="customer_id",
        read_only=True,
        allow_null=True,
        help_text=_("The customer the changed record belongs to."),
    )
    changes = serializers.JSONField(
        read_only=True, help_text=_("Field name -> [value before, value after].")
    )

    class Meta:
        model = ChangeRecord
        fields = (
            "id", "time", "action", "actor", "actor_name", "request_id", "source",
            "content_type", "object_id", "object_repr", "customer", "changes",
        )  # fmt: skip
        read_only_fields = fields

    def get_content_type(self, obj: ChangeRecord) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}"
