"""Serializers of the signed-in user."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from guanxi.accounts.models import Team, User
from guanxi.core.permissions import OBJECT_TYPES, Action, Role, role_of, scope_for


class TeamSerializer(serializers.ModelSerializer):
    """A team, as shown on its members."""

    class Meta:
        model = Team
        fields = ("id", "name")


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user: role, team, language and what the role may do where."""

    display = serializers.CharField(source="__str__", read_only=True)
    role = serializers.SerializerMethodField(
        help_text=_("The effective role (superusers are administrators).")
    )
    team = TeamSerializer(read_only=True, allow_null=True)
    permissions = serializers.SerializerMethodField(
        help_text=_("Object type -> action -> scope (own, team or all); absent means none.")
    )

    class Meta:
        model = User
        fields = (
            "id", "username", "display", "first_name", "last_name", "email", "role", "team",
            "language", "permissions",
        )  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices, allow_null=True))
    def get_role(self, user: User) -> str | None:
        return role_of(user)

    @extend_schema_field(
        serializers.DictField(child=serializers.DictField(child=serializers.CharField()))
    )
    def get_permissions(self, user: User) -> dict[str, dict[str, str]]:
        granted: dict[str, dict[str, str]] = {}
        for object_type in OBJECT_TYPES:
            scopes = {a.value: scope_for(user, object_type, a).value for a in Action}
            granted[object_type] = {a: s for a, s in scopes.items() if s != "none"}
        return granted
