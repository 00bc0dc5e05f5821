"""Notes and tasks: services with change log, scope, pages, "my open tasks" and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guanxi.activities import selectors, services
from guanxi.activities.models import Note, Task
from guanxi.core.models import ChangeRecord

pytestmark = pytest.mark.django_db


def test_note_create_update_delete_are_change_logged(world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    note = services.note_create(actor=rep, data={"customer": customer, "body": "Likes tea"})
    assert note.author == rep
    created = ChangeRecord.objects.for_object(note).get()
    assert created.action == "create" and created.customer_id == customer.pk
    assert created.changes["body"] == [None, "Likes tea"]
    services.note_update(actor=rep, note=note, data={"body": "Likes green tea"})
    updated = ChangeRecord.objects.for_object(note).get(action="update")
    assert updated.changes["body"] == ["Likes tea", "Likes green tea"]
    with pytest.raises(ValidationError) as error:
        services.note_update(actor=rep, note=note, data={"author": None})
    assert "author" in error.value.message_dict
    manager, pk = world.users["sales_manager"], note.pk
    services.note_delete(actor=manager, note=note)
    assert not Note.objects.filter(pk=pk).exists()
    assert ChangeRecord.objects.filter(action="delete", object_id=str(pk)).exists()


def test_a_note_must_fit_the_text_limit_and_the_customer_must_be_visible(world, settings):
    rep = world.users["sales_rep"]
    own = world.records_for("sales_rep")["own"].customer
    with pytest.raises(ValidationError) as error:
        services.note_create(
            actor=rep, data={"customer": own, "body": "x" * (settings.GUANXI_MAX_TEXT_LENGTH + 1)}
        )
    assert "body" in error.value.message_dict
    other = world.records["other"].customer
    with pytest.raises(PermissionDenied):
        services.note_create(actor=rep, data={"customer": other, "body": "Not mine"})
    assert not Note.objects.exists()


def test_completing_a_task_stamps_the_time_and_reopening_clears_it(world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    task = services.task_create(
        actor=rep,
        data={"customer": customer, "title": "Send offer", "due_date": dt.date(2026, 3, 1)},
    )
    assert task.assignee == rep and task.created_by == rep and not task.done
    services.task_complete(actor=rep, task=task)
    task.refresh_from_db()
    assert task.done and task.completed_at is not None
    entry = ChangeRecord.objects.for_object(task).get(action="update")
    assert entry.changes["done"] == [False, True]
    services.task_complete(actor=rep, task=task, done=False)
    task.refresh_from_db()
    assert not task.done and task.completed_at is None
    with pytest.raises(ValidationError):
        services.task_update(
            actor=rep, task=task, data={"customer": world.records["team"].customer}
        )


def test_notes_and_tasks_follow_the_interaction_scope(world):
    """Visible with the customer; a note to its author, a task to its assignee too."""
    agent = world.users["service_agent"]
    other = world.records["other"].customer
    note = services.note_create(actor=agent, data={"customer": other, "body": "Complaint"})
    task = services.task_create(
        actor=agent,
        data={"customer": other, "title": "Call back", "assignee": world.users["sales_rep"]},
    )
    rep, south_rep = world.users["sales_rep"], world.south_rep
    # The customer's owner sees both; the rep of another team sees the task assigned to them.
    assert note in selectors.note_list(user=south_rep) and task in selectors.task_list(
        user=south_rep
    )
    assert note not in selectors.note_list(user=rep)
    assert task in selectors.task_list(user=rep)
    assert list(selectors.my_open_tasks(user=rep)) == [task]
    # The read-only user of the north team sees neither (the customer is in the south team).
    reader = world.users["read_only"]
    assert note not in selectors.note_list(user=reader)
    assert task not in selectors.task_list(user=reader)
    # The agent may change only what they wrote.
    services.note_update(actor=agent, note=note, data={"body": "Complaint (resolved)"})
    own_by_rep = services.note_create(
        actor=south_rep, data={"customer": other, "body": "Owner's note"}
    )
    with pytest.raises(PermissionDenied):
        services.note_update(actor=agent, note=own_by_rep, data={"body": "changed"})


def test_note_and_task_pages(client, world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    note = services.note_create(actor=rep, data={"customer": customer, "body": "First line\nmore"})
    task = services.task_create(actor=rep, data={"customer": customer, "title": "Quote"})
    client.force_login(rep)
    for name, obj, text in (
        ("note_detail", note, "First line"),
        ("note_edit", note, "First line"),
        ("note_history", note, "First line"),
        ("task_detail", task, "Quote"),
        ("task_edit", task, "Quote"),
        ("task_history", task, "Quote"),
    ):
        response = client.get(reverse(name, args=[obj.pk]))
        assert response.status_code == 200 and text in response.content.decode(), name
    assert "First line" in client.get(reverse("note_list")).content.decode()
    mine = client.get(reverse("task_mine")).content.decode()
    assert "Quote" in mine
    response = client.post(reverse("task_complete", args=[task.pk]))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.done
    link = f'href="{reverse("task_detail", args=[task.pk])}"'
    assert link in mine and link not in client.get(reverse("task_mine")).content.decode()
    other_note = services.note_create(
        actor=world.south_rep,
        data={"customer": world.records["other"].customer, "body": "Hidden"},
    )
    assert client.get(reverse("note_detail", args=[other_note.pk])).status_code == 404
    created = client.post(
        reverse("task_add"),
        {"customer": customer.pk, "title": "Visit", "due_date": "2026-04-01", "assignee": rep.pk},
    )
    visit = Task.objects.get(title="Visit")
    assert created.url == reverse("task_detail", args=[visit.pk])
    assert visit.due_date == dt.date(2026, 4, 1)


def test_note_and_task_api(world):
    from rest_framework.test import APIClient

    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    api = APIClient()
    api.force_authenticate(rep)
    note = api.post(reverse("api:note-list"), {"customer": customer.pk, "body": "API note"})
    assert note.status_code == 201, note.content
    assert note.json()["author"] == rep.pk
    patched = api.patch(reverse("api:note-detail", args=[note.json()["id"]]), {"body": "Fixed"})
    assert patched.status_code == 200 and patched.json()["body"] == "Fixed"
    task = api.post(
        reverse("api:task-list"), {"customer": customer.pk, "title": "API task"}, format="json"
    )
    assert task.status_code == 201, task.content
    done = api.patch(
        reverse("api:task-detail", args=[task.json()["id"]]), {"done": True}, format="json"
    )
    assert done.status_code == 200 and done.json()["completed_at"]
    listed = api.get(reverse("api:task-list"), {"mine": "true", "done": "false"}).json()
    assert listed["results"] == []
    other = world.records["other"].customer
    refused = api.post(reverse("api:note-list"), {"customer": other.pk, "body": "x"})
    assert refused.status_code == 400 and "customer" in refused.json()


def test_a_task_goes_only_to_users_the_actor_may_assign(world):
    from rest_framework.test import APIClient

    # given a rep (own scope) and a customer of theirs
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    api = APIClient()
    api.force_authenticate(rep)

    # when the rep gives a task to a user of another team, through the API or the service
    refused = api.post(
        reverse("api:task-list"),
        {"customer": customer.pk, "title": "Hand over", "assignee": world.south_rep.pk},
        format="json",
    )

    # then it is refused naming the field, and nothing is stored
    assert refused.status_code == 400 and "assignee" in refused.json()
    assert not Task.objects.filter(title="Hand over").exists()
    task = services.task_create(actor=rep, data={"customer": customer, "title": "Mine"})
    with pytest.raises(ValidationError) as error:
        services.task_update(actor=rep, task=task, data={"assignee": world.south_rep})
    assert "assignee" in error.value.message_dict
    task.refresh_from_db()
    assert task.assignee == rep

    # and an administrator may give it to anyone
    admin = world.users["administrator"]
    moved = services.task_update(actor=admin, task=task, data={"assignee": world.south_rep})
    assert moved.assignee == world.south_rep
