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
        object_type = getattr(view, "permission_object_type", None)
        if object_type is None:
            return True
        extra = getattr(view, "action_permissions", {})
        action = extra.get(getattr(view, "action", None)) or _METHOD_ACTIONS.get(
            request.method or "GET", Action.VIEW
        )
        return has_permission(user, object_type, action)
