"""Activity pages: interactions, notes and tasks, and the quick actions of the customer 360."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.permissions import Action, has_permission
from guanxi.core.timeline import QuickActionView
from guanxi.core.views import (
    DetailPanel,
    HomeCard,
    ObjectActionView,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectHistoryView,
    ObjectListView,
    register_detail_panel,
    register_home_card,
    safe_next,
)
from guanxi.customers import selectors as customer_selectors

from . import selectors, services
from .filtersets import InteractionFilterSet, NoteFilterSet, TaskFilterSet
from .forms import InteractionForm, NoteForm, TaskForm
from .models import Interaction, Note, Task
from .tables import InteractionTable, NoteTable, TaskTable


class InteractionListView(ObjectListView):
    model = Interaction
    selector = selectors.interaction_list
    filterset_class = InteractionFilterSet
    table_class = InteractionTable
    filter_fields = ("q", "channel", "direction", "outcome", "occurred_after", "occurred_before")


class InteractionDetailView(ObjectDetailView):
    model = Interaction
    selector = selectors.interaction_list
    detail_fields = (
        "customer", "contact", "channel", "direction", "occurred_at", "outcome", "user",
        "notes", "created_at", "updated_at",
    )  # fmt: skip

    def extra_context(self, obj: Interaction) -> dict[str, Any]:
        return {"history_url": reverse("interaction_history", args=[obj.pk])}


class InteractionEditView(ObjectEditView):
    model = Interaction
    selector = selectors.interaction_list
    form_class = InteractionForm

    def get_initial(self) -> dict[str, Any]:
        return {
            "customer": self.request.GET.get("customer"),
            "contact": self.request.GET.get("contact"),
        }

    def create(self, form: InteractionForm) -> Interaction:
        return services.interaction_create(actor=self.request.user, data=form.service_data())

    def update(self, obj: Interaction, form: InteractionForm) -> Interaction:
        return services.interaction_update(
            actor=self.request.user, interaction=obj, data=form.service_data()
        )


class InteractionDeleteView(ObjectDeleteView):
    model = Interaction
    selector = selectors.interaction_list
    soft_delete = False

    def perform(self, obj: Interaction, form: Any) -> None:
        services.interaction_delete(actor=self.request.user, interaction=obj)


class InteractionHistoryView(ObjectHistoryView):
    model = Interaction
    selector = selectors.interaction_list


# --- Notes ----------------------------------------------------------------------------------


class NoteListView(ObjectListView):
    model = Note
    selector = selectors.note_list
    filterset_class = NoteFilterSet
    table_class = NoteTable
    filter_fields = ("q", "author")


class NoteDetailView(ObjectDetailView):
    model = Note
    selector = selectors.note_list
    detail_fields = ("customer", "body", "author", "created_at", "updated_at")

    def extra_context(self, obj: Note) -> dict[str, Any]:
        return {"history_url": reverse("note_history", args=[obj.pk])}


class NoteEditView(ObjectEditView):
    model = Note
    selector = selectors.note_list
    form_class = NoteForm

    def get_initial(self) -> dict[str, Any]:
        return {"customer": self.request.GET.get("customer")}

    def create(self, form: NoteForm) -> Note:
        return services.note_create(actor=self.request.user, data=form.service_data())

    def update(self, obj: Note, form: NoteForm) -> Note:
        return services.note_update(
            actor=self.request.user, note=obj, data={"body": form.cleaned_data["body"]}
        )


class NoteDeleteView(ObjectDeleteView):
    model = Note
    selector = selectors.note_list
    soft_delete = False

    def perform(self, obj: Note, form: Any) -> None:
        services.note_delete(actor=self.request.user, note=obj)


class NoteHistoryView(ObjectHistoryView):
    model = Note
    selector = selectors.note_list


# --- Tasks ----------------------------------------------------------------------------------


class TaskListView(ObjectListView):
    model = Task
    selector = selectors.task_list
    filterset_class = TaskFilterSet
    table_class = TaskTable
    filter_fields: ClassVar[tuple[str, ...]] = ("q", "mine", "done", "assignee", "due_before")


class MyTaskListView(TaskListView):
    """The signed-in user's open tasks, soonest due first: a sales rep's to-do list."""

    selector = selectors.my_open_tasks
    filter_fields = ("q", "due_before")
    list_key = "task_mine"  # its own saved views, apart from the list of all tasks

    def extra_context(self) -> dict[str, Any]:
        return {"model_name_plural": gettext_lazy("my open tasks")}


class TaskDetailView(ObjectDetailView):
    model = Task
    selector = selectors.task_list
    template_name = "activities/task_detail.html"
    detail_fields = (
        "customer", "title", "due_date", "assignee", "done", "completed_at", "notes",
        "created_by", "created_at", "updated_at",
    )  # fmt: skip

    def extra_context(self, obj: Task) -> dict[str, Any]:
        return {"history_url": reverse("task_history", args=[obj.pk])}


class TaskEditView(ObjectEditView):
    model = Task
    selector = selectors.task_list
    form_class = TaskForm

    def get_initial(self) -> dict[str, Any]:
        return {"customer": self.request.GET.get("customer")}

    def create(self, form: TaskForm) -> Task:
        return services.task_create(actor=self.request.user, data=form.service_data())

    def update(self, obj: Task, form: TaskForm) -> Task:
        return services.task_update(actor=self.request.user, task=obj, data=form.service_data())


class TaskCompleteView(ObjectActionView):
    """Mark a task done, or open it again when it is done."""

    model = Task
    selector = selectors.task_list
    action = Action.CHANGE
    title = gettext_lazy("Mark the task done")
    button_label = gettext_lazy("Done")

    def perform(self, obj: Task, form: Any) -> Task:
        return services.task_complete(actor=self.request.user, task=obj, done=not obj.done)

    def success_message(self, obj: Task, result: Task) -> str:
        if result.done:
            return _("Task %(task)s is done.") % {"task": result}
        return _("Task %(task)s is open again.") % {"task": result}

    def get_success_url(self, obj: Task, result: Any) -> str:
        return safe_next(self.request, reverse("task_detail", args=[obj.pk]))


class TaskDeleteView(ObjectDeleteView):
    model = Task
    selector = selectors.task_list
    soft_delete = False

    def perform(self, obj: Task, form: Any) -> None:
        services.task_delete(actor=self.request.user, task=obj)


class TaskHistoryView(ObjectHistoryView):
    model = Task
    selector = selectors.task_list


# --- Quick actions on the customer 360 -------------------------------------------------------


class _CustomerQuickAction(QuickActionView):
    """A quick action of this app: the customer from the customer selector, a bound form."""

    object_type: str
    form_class: type[Any]

    def get_customer(self, pk: int) -> Any:
        return get_object_or_404(customer_selectors.customer_list(user=self.request.user), pk=pk)

    def get_form(self, customer: Any, data: Any = None) -> Any:
        if not has_permission(self.request.user, self.object_type, Action.ADD):
            return None
        return self.form_class(data, user=self.request.user, customer=customer)


class QuickInteractionView(_CustomerQuickAction):
    name = "interaction"
    object_type = "interaction"
    form_class = InteractionForm
    title = gettext_lazy("Log an interaction")

    def perform(self, customer: Any, form: InteractionForm) -> Interaction:
        return services.interaction_create(actor=self.request.user, data=form.service_data())

    def success_message(self, customer: Any, result: Interaction) -> str:
        return _("Interaction %(subject)s logged.") % {"subject": result}


class QuickNoteView(_CustomerQuickAction):
    name = "note"
    object_type = "note"
    form_class = NoteForm
    title = gettext_lazy("Add a note")

    def perform(self, customer: Any, form: NoteForm) -> Note:
        return services.note_create(actor=self.request.user, data=form.service_data())

    def success_message(self, customer: Any, result: Note) -> str:
        return _("Note added.")


class QuickTaskView(_CustomerQuickAction):
    name = "task"
    object_type = "task"
    form_class = TaskForm
    title = gettext_lazy("Add a task")

    def perform(self, customer: Any, form: TaskForm) -> Task:
        return services.task_create(actor=self.request.user, data=form.service_data())

    def success_message(self, customer: Any, result: Task) -> str:
        return _("Task %(task)s added.") % {"task": result}


# --- What this app adds to the shell ------------------------------------------------------


def _customer_open_tasks(request: HttpRequest, customer: Any) -> dict[str, Any] | None:
    # Interactions and notes are on the timeline; open tasks are what to do next.
    user = request.user
    if not has_permission(user, "task", Action.VIEW):
        return None
    tasks = selectors.task_list(user=user).filter(customer=customer, done=False)
    return {"tasks": list(tasks.order_by("due_date", "-id")[:10])}


register_detail_panel(
    "customers.customer",
    DetailPanel(
        "open_tasks", "activities/customer_tasks_panel.html", _customer_open_tasks, order=12
    ),
)
register_home_card(
    HomeCard(
        "interaction",
        gettext_lazy("Interactions"),
        "interaction_list",
        lambda user: selectors.interaction_list(user=user).count(),
        order=50,
    )
)
register_home_card(
    HomeCard(
        "task",
        gettext_lazy("My open tasks"),
        "task_mine",
        lambda user: selectors.my_open_tasks(user=user).count(),
        order=55,
    )
)
