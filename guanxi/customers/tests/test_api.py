"""The customer and contact API: scope, permissions, validation and the change log."""

from __future__ import annotations

import json

import pytest

from guanxi.core.api.pagination import Pagination
from guanxi.core.api.testing import api_client, results
from guanxi.core.models import ChangeRecord
from guanxi.customers import services
from guanxi.customers.models import Contact, Customer, CustomFieldDefinition

pytestmark = pytest.mark.django_db


def test_list_returns_only_customers_in_the_users_scope(world):
    # given
    rep, manager = world.users["sales_rep"], world.users["sales_manager"]
    own = world.records_for("sales_rep")["own"].customer
    # when
    rep_ids = {c["id"] for c in results(api_client(rep).get("/api/customers/"))}
    manager_ids = {c["id"] for c in results(api_client(manager).get("/api/customers/"))}
    # then
    assert rep_ids == {own.pk}
    assert world.records["team"].customer.pk in manager_ids
    assert world.records["other"].customer.pk not in manager_ids


def test_retrieve_answers_the_customer_and_404_outside_the_scope(world):
    rep = world.users["sales_rep"]
    records = world.records_for("sales_rep")
    client = api_client(rep)

    response = client.get(f"/api/customers/{records['own'].customer.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == records["own"].customer.name
    assert body["owner"] == rep.pk and body["tags"] == [] and body["consents"] == []
    assert body["created_at"].endswith("+08:00")  # ISO 8601 with the time zone

    for distance in ("team", "other"):
        assert client.get(f"/api/customers/{records[distance].customer.pk}/").status_code == 404
    assert client.get("/api/customers/999999/").status_code == 404


def test_create_leaves_one_change_log_entry_with_the_request_id(world):
    rep = world.users["sales_rep"]
    # when
    response = api_client(rep).post(
        "/api/customers/",
        {
            "name": "王芳",
            "email": "wang@example.com",
            "tags": ["VIP", "展会"],
            "credit_limit": "5000",
        },
        format="json",
        HTTP_X_REQUEST_ID="req-create-1",
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tags"] == ["VIP", "展会"]
    assert body["credit_limit"] == "5000.00"  # decimals travel as strings
    assert body["owner"] == rep.pk and body["team"] == world.north.pk
    assert response["X-Request-ID"] == "req-create-1"
    (entry,) = ChangeRecord.objects.for_object(Customer.objects.get(pk=body["id"]))
    assert entry.action == "create" and entry.request_id == "req-create-1"
    assert entry.source == "api" and entry.actor == rep
    assert entry.changes["name"] == [None, "王芳"]
    assert entry.changes["tags"] == [None, ["VIP", "展会"]]


def test_update_leaves_one_entry_with_before_and_after(world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    old_name = customer.name
    # when
    response = api_client(rep).patch(
        f"/api/customers/{customer.pk}/",
        {"name": "New name", "tags": ["VIP"]},
        format="json",
        HTTP_X_REQUEST_ID="req-update-1",
    )
    # then
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "New name" and response.json()["tags"] == ["VIP"]
    (entry,) = ChangeRecord.objects.for_object(customer)
    assert entry.action == "update" and entry.request_id == "req-update-1"
    assert entry.changes == {"name": [old_name, "New name"], "tags": [[], ["VIP"]]}


def test_delete_moves_to_the_trash_and_restore_brings_it_back(world):
    rep = world.users["sales_rep"]
    customer = services.customer_create(actor=rep, data={"name": "Short-lived"})
    client = api_client(rep)
    # when
    response = client.delete(f"/api/customers/{customer.pk}/", HTTP_X_REQUEST_ID="req-del-1")
    # then
    assert response.status_code == 204
    entry = ChangeRecord.objects.for_object(customer).get(action="delete")
    assert entry.request_id == "req-del-1"
    assert ChangeRecord.objects.filter(request_id="req-del-1").count() == 1
    assert client.get(f"/api/customers/{customer.pk}/").status_code == 404
    assert [c["id"] for c in results(client.get("/api/customers/trash/"))] == [customer.pk]
    # when
    response = client.post(f"/api/customers/{customer.pk}/restore/")
    # then
    assert response.status_code == 200 and response.json()["deleted_at"] is None
    assert client.get(f"/api/customers/{customer.pk}/").status_code == 200
    assert client.post(f"/api/customers/{customer.pk}/restore/").status_code == 404


def test_restore_looks_only_in_the_users_trash(world):
    other = world.records["other"].customer
    services.customer_delete(actor=world.south_rep, customer=other)
    rep = api_client(world.users["sales_rep"])
    assert results(rep.get("/api/customers/trash/")) == []
    assert rep.post(f"/api/customers/{other.pk}/restore/").status_code == 404


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("service_agent", "post", "/api/customers/"),
        ("read_only", "patch", "/api/customers/{pk}/"),
        ("analyst", "delete", "/api/customers/{pk}/"),
        ("marketer", "get", "/api/customers/trash/"),
        ("marketer", "post", "/api/customers/{pk}/restore/"),
        ("analyst", "post", "/api/customers/{pk}/consent/"),
    ],
)
def test_actions_the_role_does_not_have_are_403(world, role, method, path):
    customer = world.records_for(role)["own"].customer
    client = api_client(world.users[role])
    response = getattr(client, method)(path.format(pk=customer.pk), {}, format="json")
    assert response.status_code == 403


def test_a_visible_record_outside_the_action_scope_is_403(world):
    # a manager sees the team's customers but the service agent may only view them
    agent = api_client(world.users["service_agent"])
    team_customer = world.records["team"].customer
    assert agent.get(f"/api/customers/{team_customer.pk}/").status_code == 200
    # a rep may not hand an own customer to someone else (the write leaves the scope)
    rep = world.users["sales_rep"]
    own = world.records_for("sales_rep")["own"].customer
    response = api_client(rep).patch(
        f"/api/customers/{own.pk}/", {"owner": world.south_rep.pk}, format="json"
    )
    assert response.status_code == 403
    assert Customer.objects.get(pk=own.pk).owner == rep


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "A", "credit_limit": "lots"}, "credit_limit"),
        ({"name": "A", "kind": "alien"}, "kind"),
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A", "tags": "VIP"}, "tags"),
        ({"name": "A", "tags": ["x" * 51]}, "tags"),
        ({"name": "A", "custom_fields": ["a"]}, "custom_fields"),
        ({"name": "A", "custom_fields": {"nope": 1}}, "custom_fields"),
        ({"name": "A", "custom_fields": {"size": "big"}}, "custom_fields"),
        ({"name": "A", "owner": 999999}, "owner"),
        ({"name": "A", "notes": "x" * 20001}, "notes"),
        ({"email": "a@example.com"}, "name"),
    ],
)
def test_invalid_input_is_400_naming_the_field(world, payload, field):
    CustomFieldDefinition.objects.create(name="size", label="Size", field_type="integer")
    response = api_client(world.users["sales_rep"]).post("/api/customers/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Customer.objects.filter(name="A").exists()


def test_custom_fields_are_validated_and_normalized_by_the_service(world):
    CustomFieldDefinition.objects.create(name="size", label="Size", field_type="integer")
    response = api_client(world.users["sales_rep"]).post(
        "/api/customers/", {"name": "A", "custom_fields": {"size": "12"}}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["custom_fields"] == {"size": 12}


def test_a_body_over_the_upload_limit_is_a_clear_413(world):
    # given a 10 MB note (DATA_UPLOAD_MAX_MEMORY_SIZE is 5 MB)
    body = json.dumps({"name": "Big", "notes": "x" * (10 * 1024 * 1024)})
    # when
    response = api_client(world.users["sales_rep"]).post(
        "/api/customers/", body, content_type="application/json"
    )
    # then
    assert response.status_code == 413
    assert "MB" in response.json()["detail"]
    assert not Customer.objects.filter(name="Big").exists()


def test_filters_search_and_ordering(world):
    admin = world.users["administrator"]
    services.customer_create(actor=admin, data={"name": "Zeta Ltd", "province": "Hubei"})
    tagged = services.customer_create(actor=admin, data={"name": "Alpha Co"}, tags=["VIP"])
    client = api_client(admin)

    assert [c["id"] for c in results(client.get("/api/customers/?tag=VIP"))] == [tagged.pk]
    assert [c["name"] for c in results(client.get("/api/customers/?province=hubei"))] == [
        "Zeta Ltd"
    ]
    assert [c["name"] for c in results(client.get("/api/customers/?search=alpha"))] == ["Alpha Co"]
    assert [c["name"] for c in results(client.get("/api/customers/?q=zeta"))] == ["Zeta Ltd"]
    names = [c["name"] for c in results(client.get("/api/customers/?ordering=-name"))]
    assert names == sorted(names, reverse=True)
    assert client.get("/api/customers/?kind=alien").status_code == 400


def test_consent_is_recorded_and_shown_nested(world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    client = api_client(rep)
    # when
    response = client.post(
        f"/api/customers/{customer.pk}/consent/",
        {"channel": "email", "granted": True, "method": "web_form", "note": "newsletter"},
        format="json",
        HTTP_X_REQUEST_ID="req-consent-1",
    )
    # then
    assert response.status_code == 200, response.content
    assert response.json()["granted"] is True and response.json()["channel"] == "email"
    (consent,) = client.get(f"/api/customers/{customer.pk}/").json()["consents"]
    assert consent["method"] == "web_form" and consent["note"] == "newsletter"
    (entry,) = ChangeRecord.objects.filter(request_id="req-consent-1")
    assert entry.changes["consent_email"][0] is None
    assert entry.changes["consent_email"][1].startswith("granted (web_form")


def test_consent_input_errors_name_the_field(world):
    customer = world.records_for("sales_rep")["own"].customer
    client = api_client(world.users["sales_rep"])
    response = client.post(
        f"/api/customers/{customer.pk}/consent/",
        {"channel": "pigeon", "granted": "maybe", "method": "web_form"},
        format="json",
    )
    assert response.status_code == 400
    assert {"channel", "granted"} <= response.json().keys()
    other = world.records["other"].customer
    response = client.post(
        f"/api/customers/{other.pk}/consent/",
        {"channel": "email", "granted": True, "method": "web_form"},
        format="json",
    )
    assert response.status_code == 404


def test_history_lists_changes_of_the_customer_and_its_records(world):
    rep = world.users["sales_rep"]
    customer = services.customer_create(actor=rep, data={"name": "Historic"})
    services.contact_create(actor=rep, data={"customer": customer, "name": "Li"})
    services.customer_update(actor=rep, customer=customer, data={"city": "Wuhan"})
    client = api_client(rep)
    # when
    response = client.get(f"/api/customers/{customer.pk}/history/?limit=2")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    newest = body["results"][0]
    assert newest["action"] == "update" and newest["changes"] == {"city": ["", "Wuhan"]}
    assert newest["content_type"] == "customers.customer" and newest["customer"] == customer.pk
    kinds = {
        e["content_type"] for e in results(client.get(f"/api/customers/{customer.pk}/history/"))
    }
    assert kinds == {"customers.customer", "customers.contact"}
    other = world.records["other"].customer
    assert client.get(f"/api/customers/{other.pk}/history/").status_code == 404


def test_contact_crud_with_one_change_log_entry_per_write(world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    client = api_client(rep)
    # create
    response = client.post(
        "/api/contacts/",
        {"customer": customer.pk, "name": "张伟", "buying_role": "decision_maker"},
        format="json",
        HTTP_X_REQUEST_ID="req-contact-c",
    )
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["id"])
    assert response.json()["customer_name"] == customer.name
    (entry,) = ChangeRecord.objects.filter(request_id="req-contact-c")
    assert entry.action == "create" and entry.changes["name"] == [None, "张伟"]
    assert entry.customer_id == customer.pk
    # update
    response = client.patch(
        f"/api/contacts/{contact.pk}/",
        {"title": "CEO"},
        format="json",
        HTTP_X_REQUEST_ID="req-contact-u",
    )
    assert response.status_code == 200 and response.json()["title"] == "CEO"
    (entry,) = ChangeRecord.objects.filter(request_id="req-contact-u")
    assert entry.changes == {"title": ["", "CEO"]}
    # delete, trash, restore
    response = client.delete(f"/api/contacts/{contact.pk}/", HTTP_X_REQUEST_ID="req-contact-d")
    assert response.status_code == 204
    assert ChangeRecord.objects.filter(request_id="req-contact-d").count() == 1
    assert client.get(f"/api/contacts/{contact.pk}/").status_code == 404
    assert [c["id"] for c in results(client.get("/api/contacts/trash/"))] == [contact.pk]
    response = client.post(f"/api/contacts/{contact.pk}/restore/")
    assert response.status_code == 200 and response.json()["deleted_at"] is None


@pytest.mark.parametrize("target", ["team", "other", "missing"])
def test_a_contact_cannot_be_attached_to_a_customer_outside_the_scope(world, target):
    rep = world.users["sales_rep"]
    pk = world.records[target].customer.pk if target != "missing" else 999999
    response = api_client(rep).post(
        "/api/contacts/", {"customer": pk, "name": "Sneaky"}, format="json"
    )
    assert response.status_code == 400
    assert "does not exist" in response.json()["customer"][0]
    assert not Contact.objects.filter(name="Sneaky").exists()


def test_contacts_outside_the_scope_are_404(world):
    client = api_client(world.users["sales_rep"])
    other = world.records["other"].contact
    assert client.get(f"/api/contacts/{other.pk}/").status_code == 404
    assert client.patch(f"/api/contacts/{other.pk}/", {"title": "x"}).status_code == 404
    assert client.delete(f"/api/contacts/{other.pk}/").status_code == 404


def test_change_log_is_scoped_to_visible_customers(world):
    rep, admin = world.users["sales_rep"], world.users["administrator"]
    own = world.records_for("sales_rep")["own"].customer
    other = world.records["other"].customer
    services.customer_update(actor=rep, customer=own, data={"city": "Hefei"})
    services.customer_update(actor=world.south_rep, customer=other, data={"city": "Xiamen"})
    # when
    rep_entries = results(api_client(rep).get("/api/change-log/"))
    admin_entries = results(api_client(admin).get("/api/change-log/"))
    # then
    assert [e["customer"] for e in rep_entries] == [own.pk]
    assert {e["customer"] for e in admin_entries} == {own.pk, other.pk}
    other_entry = ChangeRecord.objects.get(customer_id=other.pk)
    assert api_client(rep).get(f"/api/change-log/{other_entry.pk}/").status_code == 404


def test_change_log_filters(world):
    admin = world.users["administrator"]
    client = api_client(admin)
    own = world.records_for("administrator")["own"].customer
    client.patch(f"/api/customers/{own.pk}/", {"city": "Nanjing"}, HTTP_X_REQUEST_ID="req-f1")
    services.customer_update(
        actor=world.south_rep, customer=world.records["other"].customer, data={"city": "Fuzhou"}
    )

    def ids(query: str) -> list[int]:
        return [e["customer"] for e in results(client.get(f"/api/change-log/?{query}"))]

    assert ids("request_id=req-f1") == [own.pk]
    assert ids(f"customer={own.pk}") == [own.pk]
    assert ids(f"actor={world.south_rep.pk}") == [world.records["other"].customer.pk]
    assert len(ids("content_type=customers.customer&action=update")) == 2
    assert ids("content_type=customers.contact") == []
    assert ids("action=delete") == []


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_change_log_entries_cannot_be_written_through_the_api(world, method):
    admin = world.users["administrator"]
    own = world.records_for("administrator")["own"].customer
    services.customer_update(actor=admin, customer=own, data={"city": "Suzhou"})
    entry = ChangeRecord.objects.get(customer_id=own.pk)
    client = api_client(admin)
    path = "/api/change-log/" if method == "post" else f"/api/change-log/{entry.pk}/"
    response = getattr(client, method)(path, {"changes": {}}, format="json")
    assert response.status_code == 405
    assert ChangeRecord.objects.get(pk=entry.pk).changes == {"city": ["", "Suzhou"]}


def test_an_external_id_held_by_a_customer_in_the_trash_is_a_409_not_a_500(world):
    rep = world.users["sales_rep"]
    gone = services.customer_create(actor=rep, data={"name": "Gone", "external_id": "EXT-9"})
    services.customer_delete(actor=rep, customer=gone)
    response = api_client(rep).post(
        "/api/customers/", {"name": "Twin", "external_id": "EXT-9"}, format="json"
    )
    assert response.status_code == 409
    assert not Customer.objects.filter(name="Twin").exists()


def test_pages_are_capped(world, monkeypatch):
    monkeypatch.setattr(Pagination, "max_limit", 3)
    client = api_client(world.users["administrator"])
    response = client.get("/api/customers/?limit=3")
    assert response.status_code == 200
    assert response.json()["count"] == Customer.objects.count() > 3
    assert len(results(response)) == 3
    # a larger page is refused, naming the cap, rather than silently cut
    response = client.get("/api/customers/?limit=5000")
    assert response.status_code == 400
    assert "3" in response.json()["limit"][0]


def test_options_describes_the_endpoint(world):
    response = api_client(world.users["sales_rep"]).options("/api/customers/")
    assert response.status_code == 200
    assert "POST" in response.json()["actions"]


def test_filter_choices_are_limited_to_the_scope(world):
    client = api_client(world.users["sales_rep"])
    own = world.records_for("sales_rep")["own"]
    found = results(client.get(f"/api/contacts/?customer={own.customer.pk}"))
    assert [c["id"] for c in found] == [own.contact.pk]
    # another rep's customer is refused exactly like one that does not exist
    for pk in (world.records["other"].customer.pk, 999999):
        response = client.get(f"/api/contacts/?customer={pk}")
        assert response.status_code == 400 and "customer" in response.json()
