"""API viewsets of interactions, notes and tasks: reads from selectors, writes through services."""

from __future__ import annotations

from django.db.models import QuerySet

from guanxi.activities import selectors, services
from guanxi.activities.api.serializers import InteractionSerializer, NoteSerializer, TaskSerializer
from guanxi.activities.filtersets import InteractionFilterSet, NoteFilterSet, TaskFilterSet
from guanxi.activities.models import Interaction, Note, Task
from guanxi.core.api.viewsets import ServiceCRUDViewSet, WriteServices


class InteractionViewSet(ServiceCRUDViewSet):
    """Interactions: calls, emails, meetings, visits ... with customers you can see."""

    permission_object_type = "interaction"
    queryset = Interaction.objects.none()
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    ordering_fields = ("id", "occurred_at", "created_at")
    search_fields = ("subject", "notes")
    write_services = WriteServices(
        create=services.interaction_create,
        update=services.interaction_update,
        delete=services.interaction_delete,
        record="interaction",
    )

    def get_queryset(self) -> QuerySet[Interaction]:
        return selectors.interaction_list(user=self.request.user)


class NoteViewSet(ServiceCRUDViewSet):
    """Notes about customers you can see; only the text of a note can be corrected."""

    permission_object_type = "note"
    queryset = Note.objects.none()
    serializer_class = NoteSerializer
    filterset_class = NoteFilterSet
    ordering_fields = ("id", "created_at")
    search_fields = ("body",)
    write_services = WriteServices(
        create=services.note_create,
        update=services.note_update,
        delete=services.note_delete,
        record="note",
    )

    def get_queryset(self) -> QuerySet[Note]:
        return selectors.note_list(user=self.request.user)


class TaskViewSet(ServiceCRUDViewSet):
    """Tasks for customers you can see (``?mine=true&done=false``: your open tasks)."""

    permission_object_type = "task"
    queryset = Task.objects.none()
    serializer_class = TaskSerializer
    filterset_class = TaskFilterSet
    ordering_fields = ("id", "due_date", "created_at")
    search_fields = ("title", "notes")
    write_services = WriteServices(
        create=services.task_create,
        update=services.task_update,
        delete=services.task_delete,
        record="task",
    )

    def get_queryset(self) -> QuerySet[Task]:
        return selectors.task_list(user=self.request.user)
