"""The interaction API: scope, foreign keys within the scope, and the change log."""

from __future__ import annotations

import pytest

from guanxi.activities.models import Interaction
from guanxi.core.api.testing import api_client, results
from guanxi.core.models import ChangeRecord
from guanxi.customers import services as customer_services

pytestmark = pytest.mark.django_db


def test_list_and_retrieve_within_the_scope(world):
    records = world.records_for("sales_rep")
    client = api_client(world.users["sales_rep"])
    assert [i["id"] for i in results(client.get("/api/interactions/"))] == [
        records["own"].interaction.pk
    ]
    body = client.get(f"/api/interactions/{records['own'].interaction.pk}/").json()
    assert body["channel"] == "phone" and body["customer"] == records["own"].customer.pk
    assert client.get(f"/api/interactions/{records['other'].interaction.pk}/").status_code == 404


def test_create_update_delete_each_leave_one_entry(world):
    rep = world.users["sales_rep"]
    own = world.records_for("sales_rep")["own"]
    client = api_client(rep)
    # create
    response = client.post(
        "/api/interactions/",
        {
            "customer": own.customer.pk,
            "contact": own.contact.pk,
            "channel": "visit",
            "subject": "Site visit",
            "occurred_at": "2026-02-03T09:30:00+08:00",
        },
        format="json",
        HTTP_X_REQUEST_ID="req-int-c",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"] == rep.pk and body["occurred_at"] == "2026-02-03T09:30:00+08:00"
    (entry,) = ChangeRecord.objects.filter(request_id="req-int-c")
    assert entry.action == "create" and entry.changes["subject"] == [None, "Site visit"]
    pk = body["id"]
    # update
    response = client.patch(
        f"/api/interactions/{pk}/",
        {"outcome": "positive"},
        format="json",
        HTTP_X_REQUEST_ID="req-int-u",
    )
    assert response.status_code == 200 and response.json()["outcome"] == "positive"
    (entry,) = ChangeRecord.objects.filter(request_id="req-int-u")
    assert entry.changes == {"outcome": ["", "positive"]}
    # delete (reps may not delete interactions; their manager may)
    assert client.delete(f"/api/interactions/{pk}/").status_code == 403
    manager = api_client(world.users["sales_manager"])
    response = manager.delete(f"/api/interactions/{pk}/", HTTP_X_REQUEST_ID="req-int-d")
    assert response.status_code == 204
    (entry,) = ChangeRecord.objects.filter(request_id="req-int-d")
    assert entry.action == "delete" and entry.changes["subject"] == ["Site visit", None]
    assert not Interaction.objects.filter(pk=pk).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"customer": "other"}, "customer", "does not exist"),
        ({"contact": "other"}, "contact", "does not exist"),
        ({"contact": "own-elsewhere"}, "contact", "another customer"),
        ({"channel": "telepathy"}, "channel", "valid choice"),
        ({"notes": "x" * 20001}, "notes", "20000"),
        ({"occurred_at": 12}, "occurred_at", "format"),
        # year 1 in the site's zone (+08:00) is before year 1 in UTC, where it is stored
        ({"occurred_at": "0001-01-01T00:00:00"}, "occurred_at", "range"),
        ({"occurred_at": "0001-01-01T07:00:00+08:00"}, "occurred_at", "range"),
    ],
)
def test_invalid_interactions_are_400_naming_the_field(world, change, field, message):
    rep = world.users["sales_rep"]
    own = world.records_for("sales_rep")["own"]
    elsewhere = customer_services.customer_create(actor=rep, data={"name": "Elsewhere"})
    elsewhere_contact = customer_services.contact_create(
        actor=rep, data={"customer": elsewhere, "name": "Zhou"}
    )
    ids = {
        "other": world.records["other"].customer.pk
        if field == "customer"
        else world.records["other"].contact.pk,
        "own-elsewhere": elsewhere_contact.pk,
    }
    payload = {"customer": own.customer.pk, "channel": "email", "subject": "Bad"}
    payload.update({k: ids.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    # when
    response = api_client(rep).post("/api/interactions/", payload, format="json")
    # then
    assert response.status_code == 400
    assert message in str(response.json()[field])
    assert not Interaction.objects.filter(subject="Bad").exists()


def test_a_visible_interaction_the_role_may_not_change_is_403(world):
    # service agents see every interaction but change only their own
    agent = api_client(world.users["service_agent"])
    team = world.records["team"].interaction
    assert agent.get(f"/api/interactions/{team.pk}/").status_code == 200
    assert agent.patch(f"/api/interactions/{team.pk}/", {"subject": "x"}).status_code == 403
    assert agent.delete(f"/api/interactions/{team.pk}/").status_code == 403
    reader = api_client(world.users["read_only"])
    assert reader.post("/api/interactions/", {"subject": "x"}).status_code == 403
    assert Interaction.objects.get(pk=team.pk).subject == team.subject
