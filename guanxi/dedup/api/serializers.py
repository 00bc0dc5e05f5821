"""Serializers of duplicate candidates and merges."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from guanxi.core.api.fields import IdField
from guanxi.dedup.models import MergeKind, MergeRecord


class DuplicateRecordSerializer(serializers.Serializer):
    """One record of a duplicate group, with the values matching looked at."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    city = serializers.CharField(required=False, default="")
    customer = serializers.IntegerField(source="customer_id", required=False, allow_null=True)


class DuplicateGroupSerializer(serializers.Serializer):
    """Records that are likely the same, a score (0..1) and the reasons in words."""

    ids = serializers.ListField(child=serializers.IntegerField())
    score = serializers.FloatField()
    reasons = serializers.SerializerMethodField()
    records = serializers.SerializerMethodField()

    def get_reasons(self, group: Any) -> list[str]:
        return [str(r) for r in group.reasons]

    def get_records(self, group: Any) -> list[dict[str, Any]]:
        records = self.context.get("records", {})
        return [DuplicateRecordSerializer(records[pk]).data for pk in group.ids if pk in records]


class MergeCreateSerializer(serializers.Serializer):
    """Input of ``POST /api/merges/``."""

    kind = serializers.ChoiceField(choices=MergeKind.choices, default=MergeKind.CUSTOMER)
    survivor = IdField(help_text=_("Id of the record that stays."))
    others = serializers.ListField(
        child=IdField(),
        min_length=1,
        help_text=_("Ids of the records merged into it (they go to the trash)."),
    )
    field_choices = serializers.DictField(
        child=IdField(),
        required=False,
        default=dict,
        help_text=_(
            "Field name (or custom_fields.<key>, notes) -> id of the record whose value wins; "
            "by default the survivor's filled-in value, else the first filled-in other."
        ),
    )


class MergeRecordSerializer(serializers.ModelSerializer):
    """A merge: who merged what into which record, what moved, and whether it was undone."""

    survivor = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField(
        help_text=_("Field name -> [survivor's value before, after].")
    )

    class Meta:
        model = MergeRecord
        fields = (
            "id", "kind", "time", "actor", "actor_name", "survivor", "other_ids", "other_names",
            "field_choices", "counts", "changes", "undone_at", "undone_by",
        )  # fmt: skip
        read_only_fields = fields

    def get_survivor(self, merge: MergeRecord) -> int | None:
        return merge.survivor_customer_id or merge.survivor_contact_id

    def get_changes(self, merge: MergeRecord) -> dict[str, list[Any]]:
        state = merge.state or {}
        before, after = state.get("survivor_before", {}), state.get("survivor_after", {})
        return {
            k: [before.get(k), after.get(k)]
            for k in sorted(before.keys() | after.keys())
            if before.get(k) != after.get(k)
        }
