"""Interaction pages: scope, logging from the customer page, edit history, delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from guanxi.activities.models import Interaction
from guanxi.core.models import ChangeRecord

pytestmark = pytest.mark.django_db

PAGES = ("interaction_detail", "interaction_edit", "interaction_history")


def test_interaction_pages_and_scope(client, world):
    client.force_login(world.users["sales_rep"])
    own = world.records_for("sales_rep")["own"].interaction
    for name in PAGES:
        response = client.get(reverse(name, args=[own.pk]))
        assert response.status_code == 200 and own.subject in response.content.decode(), name
    assert own.subject in client.get(reverse("interaction_list")).content.decode()
    other = world.records["other"].interaction
    for name in (*PAGES, "interaction_delete"):
        assert client.get(reverse(name, args=[other.pk])).status_code == 404, name


def test_logging_an_interaction_from_the_customer_page(client, world):
    rep = world.users["sales_rep"]
    client.force_login(rep)
    records = world.records_for("sales_rep")["own"]
    form = client.get(reverse("interaction_add"), {"customer": records.customer.pk})
    assert form.context["form"].initial["customer"] == str(records.customer.pk)
    response = client.post(
        reverse("interaction_add"),
        {"customer": records.customer.pk, "contact": records.contact.pk, "channel": "visit",
         "direction": "outbound", "occurred_at": "2026-03-02T09:00", "subject": "拜访",
         "outcome": "positive", "notes": "Discussed the tender."},
    )  # fmt: skip
    interaction = Interaction.objects.get(subject="拜访")
    assert response.url == reverse("interaction_detail", args=[interaction.pk])
    assert interaction.user == rep
    assert ChangeRecord.objects.for_object(interaction).get().action == "create"


def test_editing_an_interaction_and_a_too_long_note(client, world):
    client.force_login(world.users["sales_rep"])
    interaction = world.records_for("sales_rep")["own"].interaction
    base = {"customer": interaction.customer_id, "channel": "phone", "direction": "outbound",
            "occurred_at": "2026-03-02T09:00", "subject": "Call back", "outcome": ""}  # fmt: skip
    too_long = client.post(
        reverse("interaction_edit", args=[interaction.pk]), {**base, "notes": "x" * 20_001}
    )
    assert too_long.status_code == 200 and too_long.context["form"].errors["notes"]
    assert not ChangeRecord.objects.for_object(interaction).exists()
    client.post(reverse("interaction_edit", args=[interaction.pk]), base)
    entry = ChangeRecord.objects.for_object(interaction).get(action="update")
    assert entry.changes["subject"] == [interaction.subject, "Call back"]


def test_a_service_agent_may_not_edit_what_others_logged(client, world):
    client.force_login(world.users["service_agent"])
    interaction = world.records["other"].interaction
    assert client.get(reverse("interaction_detail", args=[interaction.pk])).status_code == 200
    assert client.get(reverse("interaction_edit", args=[interaction.pk])).status_code == 403


def test_deleting_an_interaction_keeps_it_in_the_change_log(client, world):
    client.force_login(world.users["sales_manager"])
    interaction = world.records["team"].interaction
    page = client.get(reverse("interaction_delete", args=[interaction.pk]))
    assert page.status_code == 200
    response = client.post(reverse("interaction_delete", args=[interaction.pk]))
    assert response.url == reverse("interaction_list")
    assert not Interaction.objects.filter(pk=interaction.pk).exists()
    assert ChangeRecord.objects.filter(action="delete", object_id=str(interaction.pk)).exists()


def test_the_customer_page_shows_interactions(client, world):
    client.force_login(world.users["sales_rep"])
    records = world.records_for("sales_rep")["own"]
    page = client.get(reverse("customer_detail", args=[records.customer.pk])).content.decode()
    assert records.interaction.subject in page


def test_a_moment_outside_the_calendar_in_utc_is_a_form_error(client, world):
    client.force_login(world.users["sales_rep"])
    interaction = world.records_for("sales_rep")["own"].interaction
    before = (interaction.subject, interaction.occurred_at)
    response = client.post(
        reverse("interaction_edit", args=[interaction.pk]),
        {"customer": interaction.customer_id, "channel": "phone", "direction": "outbound",
         "occurred_at": "0001-01-01T00:00", "subject": "Year one", "outcome": ""},
    )  # fmt: skip
    assert response.status_code == 200
    assert "9999" in str(response.context["form"].errors["occurred_at"])
    interaction.refresh_from_db()
    assert (interaction.subject, interaction.occurred_at) == before
