"""Web UI URLs of this app (filled in by the UI work)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
