"""REST API URLs under /api/ (filled in by the API work)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
