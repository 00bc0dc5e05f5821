"""API viewsets of interactions, notes and tasks: reads from selectors, writes through services."""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from rest_framework import mixins, serializers

from guanxi.activities import selectors, services
from guanxi.activities.api.serializers import InteractionSerializer, NoteSerializer, TaskSerializer
from guanxi.activities.filtersets import InteractionFilterSet, NoteFilterSet, TaskFilterSet
from guanxi.activities.models import Interaction, Note, Task
from guanxi.core.api.viewsets import ScopedViewSet


class InteractionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Interactions: calls, emails, meetings, visits ... with customers you can see."""

    permission_object_type = "interaction"
    queryset = Interaction.objects.none()
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    ordering_fields = ("id", "occurred_at", "created_at")
    search_fields = ("subject", "notes")

    def get_queryset(self) -> QuerySet[Interaction]:
        return selectors.interaction_list(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.interaction_create(
            actor=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.interaction_update(
            actor=self.request.user,
            interaction=cast(Interaction, serializer.instance),
            data=serializer.validated_data,
        )

    def perform_destroy(self, instance: Interaction) -> None:
        services.interaction_delete(actor=self.request.user, interaction=instance)


class NoteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Notes about customers you can see; only the text of a note can be corrected."""

    permission_object_type = "note"
    queryset = Note.objects.none()
    serializer_class = NoteSerializer
    filterset_class = NoteFilterSet
    ordering_fields = ("id", "created_at")
    search_fields = ("body",)

    def get_queryset(self) -> QuerySet[Note]:
        return selectors.note_list(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.note_create(
            actor=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.note_update(
            actor=self.request.user,
            note=cast(Note, serializer.instance),
            data=serializer.validated_data,
        )

    def perform_destroy(self, instance: Note) -> None:
        services.note_delete(actor=self.request.user, note=instance)


class TaskViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Tasks for customers you can see (``?mine=true&done=false``: your open tasks)."""

    permission_object_type = "task"
    queryset = Task.objects.none()
    serializer_class = TaskSerializer
    filterset_class = TaskFilterSet
    ordering_fields = ("id", "due_date", "created_at")
    search_fields = ("title", "notes")

    def get_queryset(self) -> QuerySet[Task]:
        return selectors.task_list(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.task_create(
            actor=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.task_update(
            actor=self.request.user,
            task=cast(Task, serializer.instance),
            data=serializer.validated_data,
        )

    def perform_destroy(self, instance: Task) -> None:
        services.task_delete(actor=self.request.user, task=instance)
