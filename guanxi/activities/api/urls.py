"""API routes of interactions, notes and tasks, registered in ``guanxi.api_urls``."""

from guanxi.activities.api.views import InteractionViewSet, NoteViewSet, TaskViewSet

#: ``(prefix, viewset, basename)`` for :meth:`rest_framework.routers.BaseRouter.register`.
routes = [
    ("interactions", InteractionViewSet, "interaction"),
    ("notes", NoteViewSet, "note"),
    ("tasks", TaskViewSet, "task"),
]
