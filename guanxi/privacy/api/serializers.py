"""Serializers of privacy erasure."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from guanxi.core.models import ErasureRecord


class CustomerEraseSerializer(serializers.Serializer):
    """Input of ``POST /api/customers/{id}/erase/``."""

    reason = serializers.CharField(
        max_length=500, help_text=_("Why the data is erased (e.g. the data subject's request).")
    )


class ErasureRecordSerializer(serializers.ModelSerializer):
    """The receipt of an erasure: who erased what, when and why, without personal data."""

    class Meta:
        model = ErasureRecord
        fields = (
            "id", "time", "actor", "actor_name", "request_id", "subject_type", "subject_id",
            "reason", "erased_counts",
        )  # fmt: skip
        read_only_fields = fields
