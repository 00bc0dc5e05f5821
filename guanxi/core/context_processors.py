"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from guanxi.core.permissions import has_permission, role_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the navigation may offer this user (menus hide what the role cannot use)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_role": role_of(user),
        "can": {
            f"{t}_{a}": has_permission(user, t, a)
            for t in ("customer", "contact", "product", "order", "interaction")
            for a in ("view", "add", "export")
        },
    }
