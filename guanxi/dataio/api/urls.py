"""API routes of this app: (prefix, viewset, basename) registered on guanxi.api_urls.router."""

from typing import Any

from guanxi.dataio.api.export import export_routes

routes: list[tuple[str, Any, str]] = []

# Exports: GET /api/exports/<kind>/?format=csv|xlsx&<filters>.
routes += export_routes

# Imports: POST /api/imports/ (multipart), GET /api/imports/ and /api/imports/<id>/.
from guanxi.dataio.api.imports import ImportRunViewSet  # noqa: E402

routes += [("imports", ImportRunViewSet, "import-run")]
