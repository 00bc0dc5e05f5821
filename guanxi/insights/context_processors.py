"""Template context of the insights app: what the navigation offers under Insights."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .selectors import may_view_dashboards, may_view_runs


def insights_navigation(request: HttpRequest) -> dict[str, Any]:
    """``may_view_dashboards`` and ``may_view_insights`` (the refresh runs) for the navbar;
    the pages themselves check the same rules."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "may_view_dashboards": may_view_dashboards(user),
        "may_view_insights": may_view_runs(user),
    }
