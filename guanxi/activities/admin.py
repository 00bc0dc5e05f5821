"""Admin for interactions, notes and tasks; writes go through :mod:`guanxi.activities.services`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from guanxi.core.admin import AuditedModelAdmin

from . import services
from .models import Interaction, Note, Task


@admin.register(Interaction)
class InteractionAdmin(AuditedModelAdmin):
    list_display = ("subject", "customer", "channel", "direction", "outcome", "user", "occurred_at")
    list_filter = ("channel", "direction", "outcome")
    search_fields = ("subject", "customer__name")
    raw_id_fields = ("customer", "contact")
    list_select_related = ("customer", "user")

    def service_create(self, *, actor: Any, data: dict[str, Any]) -> Interaction:
        return services.interaction_create(actor=actor, data=data)

    def service_update(self, *, actor: Any, obj: Interaction, data: dict[str, Any]) -> Interaction:
        return services.interaction_update(actor=actor, interaction=obj, data=data)

    def service_delete(self, *, actor: Any, obj: Interaction) -> None:
        services.interaction_delete(actor=actor, interaction=obj)


@admin.register(Note)
class NoteAdmin(AuditedModelAdmin):
    list_display = ("headline", "customer", "author", "created_at")
    readonly_fields = ("author",)
    search_fields = ("body", "customer__name")
    raw_id_fields = ("customer",)
    list_select_related = ("customer", "author")

    def service_create(self, *, actor: Any, data: dict[str, Any]) -> Note:
        return services.note_create(actor=actor, data=data)

    def service_update(self, *, actor: Any, obj: Note, data: dict[str, Any]) -> Note:
        return services.note_update(
            actor=actor, note=obj, data={"body": data.get("body", obj.body)}
        )

    def service_delete(self, *, actor: Any, obj: Note) -> None:
        services.note_delete(actor=actor, note=obj)


@admin.register(Task)
class TaskAdmin(AuditedModelAdmin):
    list_display = ("title", "customer", "due_date", "assignee", "done", "completed_at")
    readonly_fields = ("created_by", "completed_at")
    list_filter = ("done",)
    search_fields = ("title", "customer__name")
    raw_id_fields = ("customer",)
    list_select_related = ("customer", "assignee")

    def service_create(self, *, actor: Any, data: dict[str, Any]) -> Task:
        return services.task_create(actor=actor, data=data)

    def service_update(self, *, actor: Any, obj: Task, data: dict[str, Any]) -> Task:
        return services.task_update(actor=actor, task=obj, data=data)

    def service_delete(self, *, actor: Any, obj: Task) -> None:
        services.task_delete(actor=actor, task=obj)
