"""API routes of this app: (prefix, viewset, basename) registered on guanxi.api_urls.router."""

from typing import Any

routes: list[tuple[str, Any, str]] = []
