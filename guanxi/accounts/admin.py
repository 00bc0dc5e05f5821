"""Admin for users and teams (administrators only)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from guanxi.core.admin import AuditedModelAdmin

from .models import Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active", "is_staff")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("guanxi"), {"fields": ("role", "team", "language")}),
    )


@admin.register(Team)
class TeamAdmin(AuditedModelAdmin):
    list_display = ("name", "manager")
    search_fields = ("name",)
