"""The API as a whole: schema, docs, routes and shared error handling."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.viewsets import GenericViewSet

from guanxi.core.api.testing import api_client
from guanxi.core.permissions import OBJECT_TYPES

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    # the same command CI runs; raises on any warning or validation error
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert "/api/orders/{id}/reverse/" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_endpoint_answers(world):
    response = api_client(world.users["read_only"]).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/customers/", "/api/change-log/", "/api/me/", "/api/auth/token/"} <= set(paths)
    assert "put" not in paths["/api/orders/{id}/"]
    assert "delete" not in paths["/api/products/{id}/"]


def test_swagger_ui_is_served_without_a_cdn(world):
    response = api_client(world.users["read_only"]).get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert 'src="http' not in html and 'href="http' not in html
    asset = api_client().get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def _routed_viewsets(patterns: list[URLPattern | URLResolver]) -> set[type]:
    found: set[type] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found |= _routed_viewsets(pattern.url_patterns)
        elif hasattr(pattern.callback, "actions"):  # as_view() of a viewset
            found.add(pattern.callback.cls)  # type: ignore[attr-defined]
    return found


def test_every_routed_viewset_declares_its_object_type():
    # walked through the URL resolver: core may not import the apps' API modules
    viewsets = _routed_viewsets(get_resolver().url_patterns)
    # + one export per kind (guanxi.dataio.api.export), duplicates and merges (guanxi.dedup.api)
    # + import runs (guanxi.dataio.api.imports), KPIs (guanxi.insights.api)
    # (+ notes and tasks in guanxi.activities.api)
    assert len(viewsets) == 9 + 5 + 2 + 1 + 1
    for viewset in viewsets:
        assert issubclass(viewset, GenericViewSet), viewset
        assert getattr(viewset, "permission_object_type", None) in OBJECT_TYPES, viewset


def test_the_api_root_lists_the_collections(world):
    body = api_client(world.users["analyst"]).get("/api/").json()
    assert set(body) == {
        "customers", "contacts", "products", "orders", "interactions", "notes", "tasks",
        "change-log",
        "exports/customers", "exports/contacts", "exports/products", "exports/orders",
        "exports/interactions", "merges", "imports", "insights/kpis",
    }  # fmt: skip
    assert body["customers"].endswith("/api/customers/")


@pytest.mark.parametrize("body_format", ["json", "form", "multipart"])
def test_bodies_over_the_upload_limit_are_413_in_every_format(world, body_format):
    # given a note of 6 MB (DATA_UPLOAD_MAX_MEMORY_SIZE is 5 MB)
    note = "x" * (6 * 1024 * 1024)
    client = api_client(world.users["sales_rep"])
    # when
    if body_format == "form":
        response = client.post(
            "/api/customers/",
            f"name=Big&notes={note}",
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = client.post(
            "/api/customers/", {"name": "Big", "notes": note}, format=body_format
        )
    # then
    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is larger than the limit of 5 MB."


def test_a_session_client_gets_413_too(world):
    # with session auth DRF checks CSRF first, which makes Django read request.POST
    client = api_client()
    client.force_login(world.users["sales_rep"])
    response = client.post(
        "/api/customers/",
        "name=Big&notes=" + "x" * (6 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/customers/?id=10000000000000000000000000", "id"),
        ("/api/products/?id=1,0.5", "id"),
        ("/api/change-log/?actor=-1.3589597672736602e%2B21", "actor"),
        ("/api/change-log/?customer=99999999999999999999", "customer"),
    ],
)
def test_an_id_filter_out_of_range_is_a_400_naming_it(world, url, param):
    response = api_client(world.users["administrator"]).get(url)
    assert response.status_code == 400
    assert param in response.json()


@pytest.mark.parametrize(
    "query", ["time_before=0001-01-01T00:00:00", "time_after=9999-12-31T23:59:59-08:00"]
)
def test_a_change_log_time_outside_the_calendar_in_utc_is_a_400(world, query):
    response = api_client(world.users["administrator"]).get(f"/api/change-log/?{query}")
    assert response.status_code == 400
    assert query.partition("=")[0] in response.json()


def test_an_unknown_ordering_field_is_a_400_listing_the_allowed_ones(world):
    client = api_client(world.users["administrator"])
    for value in ("nmae", "-owner__password", "name,nope"):
        response = client.get(f"/api/customers/?ordering={value}")
        assert response.status_code == 400, value
        assert "name" in response.json()["ordering"][0]
    assert client.get("/api/customers/?ordering=-name,id").status_code == 200
    assert client.get("/api/customers/?ordering=").status_code == 200


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=-5", "limit"),
        ("offset=-1", "offset"),
        ("offset=null", "offset"),
        ("offset=100000000000000000000000", "offset"),
    ],
)
def test_a_page_size_or_offset_out_of_range_is_a_400_naming_it(world, query, param):
    response = api_client(world.users["administrator"]).get(f"/api/customers/?{query}")
    assert response.status_code == 400
    assert param in response.json()


def test_the_search_limit_out_of_range_is_a_400(world):
    client = api_client(world.users["sales_rep"])
    for limit in ("0", "51", "-3"):
        response = client.get("/api/search/", {"q": "x", "limit": limit})
        assert response.status_code == 400
        assert "limit" in response.json()
    assert client.get("/api/search/", {"q": "x", "limit": "50"}).status_code == 200


def test_the_schema_allows_the_blank_insight_choices_the_api_returns(world):
    schema = api_client(world.users["read_only"]).get("/api/schema/?format=json").json()
    insight = schema["components"]["schemas"]["CustomerInsight"]["properties"]
    for name in ("abc_grade", "rfm_segment", "churn_risk", "relationship_tier"):
        refs = {item["$ref"].rsplit("/", 1)[-1] for item in insight[name]["oneOf"]}
        assert "BlankEnum" in refs, name
