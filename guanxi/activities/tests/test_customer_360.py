"""The customer 360: one timeline of every kind, scoped; quick actions; constant queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guanxi.accounts.models import User
from guanxi.activities import services
from guanxi.activities.models import Interaction, Note, Task
from guanxi.core.models import ChangeRecord
from guanxi.core.timeline import Cursor, customer_timeline
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.sales.models import Order, OrderLine

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _at(days_ago: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days_ago)


def _order(customer: Customer, product, n: int, when: dt.datetime) -> Order:
    order = Order.objects.create(
        external_id=f"T360-{customer.pk}-{n}",
        customer=customer,
        total_amount=Decimal("10.00"),
        ordered_at=when,
    )
    OrderLine.objects.create(
        order=order,
        line_number=1,
        product=product,
        quantity=Decimal("1"),
        unit_price=Decimal("10.00"),
        amount=Decimal("10.00"),
    )
    return order


def test_the_timeline_merges_every_kind_newest_first(world):
    admin = world.users["administrator"]
    records = world.records_for("sales_rep")["own"]
    customer = records.customer
    Order.objects.filter(pk=records.order.pk).update(ordered_at=_at(50))
    Interaction.objects.filter(pk=records.interaction.pk).update(occurred_at=_at(40))
    note = services.note_create(actor=admin, data={"customer": customer, "body": "Met at fair"})
    Note.objects.filter(pk=note.pk).update(created_at=_at(30))
    task = services.task_create(actor=admin, data={"customer": customer, "title": "Send quote"})
    Task.objects.filter(pk=task.pk).update(created_at=_at(20))
    customer_services.customer_update(actor=admin, customer=customer, data={"city": "Ningbo"})

    page = customer_timeline(user=admin, customer=customer)
    kinds = [e.kind for e in page.entries]
    assert kinds == ["change", "task", "note", "interaction", "order"]
    times = [e.time for e in page.entries]
    assert times == sorted(times, reverse=True)
    change = page.entries[0]
    assert any("Ningbo" in line for line in change.lines)
    # The log's "created" entries of notes and tasks are not repeated next to them.
    assert not any(e.kind == "change" and "Send quote" in e.title for e in page.entries)
    assert page.next_cursor is None


def test_pages_follow_each_other_without_gaps_or_repeats(world):
    """Entries sharing one timestamp (an imported batch) still page exactly."""
    admin = world.users["administrator"]
    records = world.records_for("administrator")["own"]
    customer = records.customer
    same = _at(3)
    for n in range(9):
        Interaction.objects.create(customer=customer, channel="email", subject=f"Mail {n}",
                                   occurred_at=same)  # fmt: skip
        _order(customer, world.product, n, same)
    expected = customer_timeline(user=admin, customer=customer, limit=100).entries
    seen = []
    after: Cursor | None = None
    while True:
        page = customer_timeline(user=admin, customer=customer, after=after, limit=4)
        seen.extend(page.entries)
        if page.next_cursor is None:
            break
        # The cursor survives its round trip through the URL.
        after = Cursor.parse(page.next_cursor.token())
    assert [(e.kind, e.pk) for e in seen] == [(e.kind, e.pk) for e in expected]
    assert len(expected) == 9 * 2 + 2  # plus the world's own order and interaction


def test_the_timeline_respects_the_scope(client, world):
    """An interaction, note or task another user logged on a customer you see is shown."""
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    agent = world.users["service_agent"]
    services.interaction_create(
        actor=agent, data={"customer": customer, "channel": "phone", "subject": "Agent call"}
    )
    services.note_create(actor=agent, data={"customer": customer, "body": "Agent note"})
    services.task_create(
        actor=agent, data={"customer": customer, "title": "Agent task", "assignee": agent}
    )
    client.force_login(rep)
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    for text in ("Agent call", "Agent note", "Agent task"):
        assert text in page, text
    # A customer out of scope has no timeline for this user.
    other = world.records["other"].customer
    assert client.get(reverse("customer_timeline", args=[other.pk])).status_code == 404
    # The read-only user of the same team sees the team's customer's timeline, read only.
    team_customer = world.records["team"].customer
    services.note_create(
        actor=world.north_peer, data={"customer": team_customer, "body": "Peer note"}
    )
    client.force_login(world.users["read_only"])
    response = client.get(reverse("customer_detail", args=[team_customer.pk]))
    html = response.content.decode()
    assert "Peer note" in html
    assert response.context["quick_actions"] == []
    assert reverse("customer_quick_note", args=[team_customer.pk]) not in html


def test_load_more_and_the_kind_filter(client, world):
    admin = world.users["administrator"]
    customer = world.records_for("administrator")["own"].customer
    for n in range(25):
        Interaction.objects.create(customer=customer, channel="email", subject=f"Mail {n:02}",
                                   occurred_at=_at(n + 1))  # fmt: skip
    client.force_login(admin)
    first = client.get(reverse("customer_detail", args=[customer.pk]))
    assert first.context["more_url"]
    more = client.get(first.context["more_url"], **HTMX)
    html = more.content.decode()
    assert more.status_code == 200 and "Mail 20" in html and "<section" not in html
    assert "Mail 00" not in html  # on the first page
    orders_only = client.get(
        reverse("customer_timeline", args=[customer.pk]), {"kind": "order"}, **HTMX
    )
    assert 'data-kind="order"' in orders_only.content.decode()
    assert 'data-kind="interaction"' not in orders_only.content.decode()
    bad = client.get(reverse("customer_timeline", args=[customer.pk]), {"after": "yesterday"})
    assert bad.status_code == 400 and b"timeline position" in bad.content


@pytest.mark.parametrize(
    ("url_name", "payload", "model", "text"),
    [
        ("customer_quick_note", {"body": "Prefers WeChat"}, Note, "Prefers WeChat"),
        (
            "customer_quick_task",
            {"title": "Send samples", "due_date": "2026-05-04"},
            Task,
            "Send samples",
        ),
        (
            "customer_quick_interaction",
            {"channel": "visit", "direction": "outbound", "subject": "Site visit"},
            Interaction,
            "Site visit",
        ),
    ],
)
def test_quick_actions_write_through_the_services_and_answer_the_timeline(
    client, world, url_name, payload, model, text
):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    client.force_login(rep)
    before = model.objects.count()
    response = client.post(reverse(url_name, args=[customer.pk]), payload, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="customer-timeline"' in html and text in html
    assert 'hx-swap-oob="true"' in html  # a blank form replaces the posted one
    created = model.objects.get(customer=customer, pk__gt=0, **_lookup(model, text))
    assert model.objects.count() == before + 1
    entry = ChangeRecord.objects.for_object(created).get()
    assert entry.action == "create" and entry.actor == rep and entry.customer_id == customer.pk


def _lookup(model, text: str) -> dict[str, str]:
    return {Note: {"body": text}, Task: {"title": text}, Interaction: {"subject": text}}[model]


def test_a_quick_action_with_errors_answers_its_form(client, world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    client.force_login(rep)
    response = client.post(reverse("customer_quick_note", args=[customer.pk]), {"body": ""}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#quick-note"
    assert 'id="quick-note"' in response.content.decode()
    assert "invalid-feedback" in response.content.decode()
    assert not Note.objects.exists()
    # Without HTMX the same post shows the form as a page; a success redirects.
    page = client.post(reverse("customer_quick_note", args=[customer.pk]), {"body": ""})
    assert page.status_code == 200 and page.context["action"]["form"].errors
    done = client.post(reverse("customer_quick_note", args=[customer.pk]), {"body": "Plain"})
    assert done.url == reverse("customer_detail", args=[customer.pk])


def test_the_360_renders_the_first_quick_form_and_loads_the_others_when_opened(client, world):
    # given a rep on the 360 page of an own customer
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    client.force_login(rep)
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    actions = [a["name"] for a in client.get(reverse("customer_detail", args=[customer.pk]))
               .context["quick_actions"]]  # fmt: skip
    assert len(actions) > 1

    # then only the first tab's form is on the page; the others load when their tab shows
    assert f'id="quick-{actions[0]}"' in page
    for name in actions[1:]:
        assert f'id="quick-{name}"' not in page
        assert f'hx-target="#quick-pane-{name}"' in page

    # when a tab asks for its form, it gets the form alone (no page around it)
    note = client.get(reverse("customer_quick_note", args=[customer.pk]), **HTMX)
    assert note.status_code == 200
    assert note.content.decode().startswith('<form id="quick-note"')
    # and without HTMX the same address is the form as a page
    full = client.get(reverse("customer_quick_note", args=[customer.pk]))
    assert "<html" in full.content.decode()


def test_change_owner_within_the_scope(client, world):
    manager = world.users["sales_manager"]
    customer = world.records["team"].customer
    client.force_login(manager)
    page = client.get(reverse("customer_detail", args=[customer.pk]))
    owner_action = next(a for a in page.context["quick_actions"] if a["name"] == "owner")
    offered = set(owner_action["form"].fields["owner"].queryset)
    assert world.north_peer in offered and world.south_rep not in offered
    response = client.post(
        reverse("customer_owner", args=[customer.pk]), {"owner": manager.pk}, **HTMX
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.owner == manager
    entry = ChangeRecord.objects.for_object(customer).get(action="update")
    assert entry.changes["owner"] == [world.north_peer.pk, manager.pk]
    html = response.content.decode()
    assert 'id="customer-timeline"' in html and 'id="customer-relationship"' in html
    # Handing the customer to a rep of another team is not offered (and not accepted).
    refused = client.post(
        reverse("customer_owner", args=[customer.pk]), {"owner": world.south_rep.pk}, **HTMX
    )
    assert refused["HX-Retarget"] == "#quick-owner"
    customer.refresh_from_db()
    assert customer.owner == manager


@pytest.mark.parametrize("role", ["service_agent", "marketer", "analyst", "read_only"])
def test_change_owner_is_refused_to_roles_that_may_not_change_the_customer(client, world, role):
    user = world.users[role]
    own = world.records_for(role)["own"].customer
    client.force_login(user)
    page = client.get(reverse("customer_detail", args=[own.pk]))
    assert page.status_code == 200
    assert "owner" not in [a["name"] for a in page.context["quick_actions"]]
    assert reverse("customer_owner", args=[own.pk]) not in page.content.decode()
    assert client.get(reverse("customer_owner", args=[own.pk])).status_code == 403
    response = client.post(reverse("customer_owner", args=[own.pk]), {"owner": user.pk})
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.owner == user  # unchanged (the world made the user its owner)


def test_a_customer_handed_to_an_owner_follows_the_owners_team(client, world):
    # the same rule as the list's bulk action (customers.services.customer_assign_owner)
    admin = world.users["administrator"]
    customer = world.records["other"].customer
    assert customer.team != world.north
    client.force_login(admin)
    # (an administrator is offered every active user, not only the present owner)
    page = client.get(reverse("customer_detail", args=[customer.pk]))
    action = next(a for a in page.context["quick_actions"] if a["name"] == "owner")
    assert set(action["form"].fields["owner"].queryset) == set(User.objects.filter(is_active=True))
    response = client.post(
        reverse("customer_owner", args=[customer.pk]), {"owner": world.north_peer.pk}, **HTMX
    )
    assert response.status_code == 200 and "HX-Retarget" not in response
    customer.refresh_from_db()
    assert (customer.owner, customer.team) == (world.north_peer, world.north)
    entry = ChangeRecord.objects.for_object(customer).get(action="update")
    assert set(entry.changes) >= {"owner", "team"}


def test_a_rep_may_only_keep_the_customer(client, world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    client.force_login(rep)
    response = client.post(
        reverse("customer_owner", args=[customer.pk]), {"owner": world.north_peer.pk}, **HTMX
    )
    assert response["HX-Retarget"] == "#quick-owner"
    customer.refresh_from_db()
    assert customer.owner == rep


def _fill(customer: Customer, world, count: int) -> None:
    admin = world.users["administrator"]
    for n in range(count):
        _order(customer, world.product, n, _at(n + 1))
        Interaction.objects.create(customer=customer, channel="phone", subject=f"Call {n}",
                                   occurred_at=_at(n + 0.5), user=admin)  # fmt: skip
        Note.objects.create(customer=customer, body=f"Note {n}", author=admin)
        Task.objects.create(customer=customer, title=f"Task {n}", assignee=admin)
    customer_services.customer_update(actor=admin, customer=customer, data={"city": f"C{count}"})


@pytest.mark.parametrize("role", ["administrator", "sales_rep"])
def test_the_360_page_runs_a_constant_number_of_queries(client, world, role):
    user = world.users[role]
    small = world.records_for(role)["own"].customer
    large = Customer.objects.create(name="Large", owner=user, team=user.team)
    _fill(small, world, 5)
    _fill(large, world, 50)
    client.force_login(user)
    counts = []
    for customer in (small, large):
        client.get(reverse("customer_detail", args=[customer.pk]))  # warm caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("customer_detail", args=[customer.pk]))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
