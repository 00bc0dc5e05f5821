"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from guanxi.core.permissions import Role, has_permission, role_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the navigation may offer this user (menus hide what the role cannot use)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_role": role_of(user),
        "can": {
            f"{t}_{a}": has_permission(user, t, a)
            for t in ("customer", "contact", "product", "order", "interaction", "note", "task")
            for a in ("view", "add", "change", "delete", "restore", "export", "reverse", "erase")
        },
        "is_administrator": role_of(user) == Role.ADMINISTRATOR,
        "can_view_configuration": has_permission(user, "configuration", "view"),
        "nav_section": _section(request),
    }


#: URL-name prefix -> navigation group, so the menu can mark where the user is.
_SECTIONS = {
    "customer": "customers",
    "contact": "customers",
    "product": "sales",
    "order": "sales",
    "interaction": "service",
    "note": "service",
    "task": "service",
    "duplicate": "customers",
    "merge": "customers",
    "saved": "marketing",
    "data": "marketing",
    "home": "home",
    "search": "search",
    "trash": "admin",
    "insights": "insights",
    "insight": "insights",
}


def _section(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    name = (match.url_name or "") if match else ""
    return _SECTIONS.get(name.split("_")[0], "")
