"""API routes of this app: (prefix, viewset, basename) registered on guanxi.api_urls.router."""

from typing import Any

from guanxi.insights.api.views import KPIViewSet

routes: list[tuple[str, Any, str]] = [
    ("insights/kpis", KPIViewSet, "insight-kpi"),
]
