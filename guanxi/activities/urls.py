"""Web UI URLs of interactions, notes and tasks, and the customer 360's quick actions."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("interactions/", views.InteractionListView.as_view(), name="interaction_list"),
    path("interactions/add/", views.InteractionEditView.as_view(), name="interaction_add"),
    path(
        "interactions/<int:pk>/", views.InteractionDetailView.as_view(), name="interaction_detail"
    ),
    path(
        "interactions/<int:pk>/edit/",
        views.InteractionEditView.as_view(),
        name="interaction_edit",
    ),
    path(
        "interactions/<int:pk>/delete/",
        views.InteractionDeleteView.as_view(),
        name="interaction_delete",
    ),
    path(
        "interactions/<int:pk>/history/",
        views.InteractionHistoryView.as_view(),
        name="interaction_history",
    ),
    path("notes/", views.NoteListView.as_view(), name="note_list"),
    path("notes/add/", views.NoteEditView.as_view(), name="note_add"),
    path("notes/<int:pk>/", views.NoteDetailView.as_view(), name="note_detail"),
    path("notes/<int:pk>/edit/", views.NoteEditView.as_view(), name="note_edit"),
    path("notes/<int:pk>/delete/", views.NoteDeleteView.as_view(), name="note_delete"),
    path("notes/<int:pk>/history/", views.NoteHistoryView.as_view(), name="note_history"),
    path("tasks/", views.TaskListView.as_view(), name="task_list"),
    path("tasks/mine/", views.MyTaskListView.as_view(), name="task_mine"),
    path("tasks/add/", views.TaskEditView.as_view(), name="task_add"),
    path("tasks/<int:pk>/", views.TaskDetailView.as_view(), name="task_detail"),
    path("tasks/<int:pk>/edit/", views.TaskEditView.as_view(), name="task_edit"),
    path("tasks/<int:pk>/done/", views.TaskCompleteView.as_view(), name="task_complete"),
    path("tasks/<int:pk>/delete/", views.TaskDeleteView.as_view(), name="task_delete"),
    path("tasks/<int:pk>/history/", views.TaskHistoryView.as_view(), name="task_history"),
    path(
        "customers/<int:pk>/interaction/",
        views.QuickInteractionView.as_view(),
        name="customer_quick_interaction",
    ),
    path("customers/<int:pk>/note/", views.QuickNoteView.as_view(), name="customer_quick_note"),
    path("customers/<int:pk>/task/", views.QuickTaskView.as_view(), name="customer_quick_task"),
]
