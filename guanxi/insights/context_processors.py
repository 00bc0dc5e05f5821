"""Template context of the insights app: whether the navigation offers the Insights page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .selectors import may_view_runs


def insights_navigation(request: HttpRequest) -> dict[str, Any]:
    """``may_view_insights`` for the navbar (the page itself checks the same rule)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"may_view_insights": may_view_runs(user)}
