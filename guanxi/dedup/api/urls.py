"""API routes of this app: (prefix, viewset, basename) registered on guanxi.api_urls.router."""

from typing import Any

from guanxi.dedup.api.views import DuplicateViewSet, MergeViewSet

routes: list[tuple[str, Any, str]] = [
    ("duplicates", DuplicateViewSet, "duplicate"),
    ("merges", MergeViewSet, "merge"),
]
