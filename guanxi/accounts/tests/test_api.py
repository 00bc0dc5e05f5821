"""The signed-in user endpoint and token authentication."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from guanxi.core.api.testing import api_client

pytestmark = pytest.mark.django_db


def test_me_answers_role_team_language_and_permissions(world):
    rep = world.users["sales_rep"]
    rep.language = "zh-hans"
    rep.save(update_fields=["language"])
    # when
    response = api_client(rep).get("/api/me/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "sales_rep" and body["role"] == "sales_rep"
    assert body["team"] == {"id": world.north.pk, "name": "North"}
    assert body["language"] == "zh-hans"
    assert body["permissions"]["customer"]["view"] == "own"
    assert "reverse" not in body["permissions"]["order"]


def test_a_superuser_is_an_administrator(world):
    boss = world.users["read_only"]
    boss.is_superuser = True
    boss.save(update_fields=["is_superuser"])
    body = api_client(boss).get("/api/me/").json()
    assert body["role"] == "administrator"
    assert body["permissions"]["customer"]["erase"] == "all"


def test_anonymous_requests_are_401(world):
    client = APIClient()
    for path in ("/api/me/", "/api/customers/", "/api/change-log/"):
        response = client.get(path)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


def test_a_token_obtained_with_the_password_authenticates(world):
    client = APIClient()
    # when
    response = client.post(
        "/api/auth/token/", {"username": "sales_rep", "password": "pw-sales_rep"}, format="json"
    )
    # then
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/me/").json()["username"] == "sales_rep"
    assert client.get("/api/customers/").json()["count"] == 1
    # the same token again, not a new one
    again = APIClient().post(
        "/api/auth/token/", {"username": "sales_rep", "password": "pw-sales_rep"}, format="json"
    )
    assert again.json()["token"] == token


def test_a_wrong_password_or_token_is_refused(world):
    response = APIClient().post(
        "/api/auth/token/", {"username": "sales_rep", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400 and "non_field_errors" in response.json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/me/").status_code == 401
