"""Reads of interactions, notes and tasks, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from guanxi.core.permissions import Action

from .models import Interaction, Note, Task


def interaction_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Interaction]:
    """Interactions with customers outside the trash that the user may see."""
    return (
        Interaction.objects.restrict(user, action)
        .filter(customer__deleted_at__isnull=True)
        .select_related("customer", "contact", "user")
    )


def note_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Note]:
    """Notes about customers outside the trash that the user may see."""
    return (
        Note.objects.restrict(user, action)
        .filter(customer__deleted_at__isnull=True)
        .select_related("customer", "author")
    )


def task_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Task]:
    """Tasks for customers outside the trash that the user may see."""
    return (
        Task.objects.restrict(user, action)
        .filter(customer__deleted_at__isnull=True)
        .select_related("customer", "assignee")
    )


def my_open_tasks(*, user: Any, action: str = Action.VIEW) -> QuerySet[Task]:
    """The user's own undone tasks, soonest due first (tasks without a date last)."""
    return (
        task_list(user=user, action=action)
        .filter(assignee=user, done=False)
        .order_by(F("due_date").asc(nulls_last=True), "-id")
    )
