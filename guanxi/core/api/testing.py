"""Helpers for API tests."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def api_client(user: Any = None) -> APIClient:
    """An API client, signed in as ``user`` when one is given."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def results(response: Any) -> list[dict[str, Any]]:
    """The items of a paginated list response."""
    return list(response.json()["results"])
