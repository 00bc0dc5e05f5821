"""DRF permission class mapping HTTP methods to guanxi role actions."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from guanxi.core.permissions import Action, has_permission

_METHOD_ACTIONS = {
    "GET": Action.VIEW,
    "HEAD": Action.VIEW,
    "OPTIONS": Action.VIEW,
    "POST": Action.ADD,
    "PUT": Action.CHANGE,
    "PATCH": Action.CHANGE,
    "DELETE": Action.DELETE,
}


def required_action(request: Request, view: Any) -> str:
    """The role action a request needs: the view's mapping for its action, else the method's."""
    extra = getattr(view, "action_permissions", {})
    return extra.get(getattr(view, "action", None)) or _METHOD_ACTIONS.get(
        request.method or "GET", Action.VIEW
    )


class RolePermission(BasePermission):
    """Authenticated, and the role grants the action on the view's model at some scope.

    Which *records* are reachable is decided by the view's permission-scoped queryset (a
    record outside the scope answers 404); services re-check the scope of each write.
    Views declare ``permission_object_type`` and may map extra actions in
    ``action_permissions`` (``{"restore": "restore"}``).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if getattr(view, "action_map", None) is not None and getattr(view, "action", 1) is None:
            # A viewset route that does not map this method (PUT on an order): let the view
            # answer 405 Method Not Allowed rather than a misleading 403.
            return True
        object_type = getattr(view, "permission_object_type", None)
        if object_type is None:
            return True
        return has_permission(user, object_type, required_action(request, view))
