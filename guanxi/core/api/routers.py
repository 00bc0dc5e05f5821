"""The API router."""

from __future__ import annotations

from typing import Any

from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    """DRF's default router, letting several viewsets share one prefix.

    The privacy app adds ``customers/{id}/erase/`` under the customers prefix without the
    customers app importing it; only viewsets with a list appear on the API root page.
    """

    def get_api_root_view(self, api_urls: Any = None) -> Any:
        list_name = self.routes[0].name
        api_root_dict = {
            prefix: list_name.format(basename=basename)
            for prefix, viewset, basename in self.registry
            if hasattr(viewset, "list")
        }
        return self.APIRootView.as_view(api_root_dict=api_root_dict)
