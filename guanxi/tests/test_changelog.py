"""Every service write leaves exactly one change-log entry with the right before/after."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from guanxi.activities import services as activities
from guanxi.core.context import change_context
from guanxi.core.models import ChangeRecord, ImmutableRecordError
from guanxi.customers import services as customers
from guanxi.customers.models import Customer
from guanxi.privacy import services as privacy
from guanxi.sales import services as sales
from guanxi.testing import World

pytestmark = pytest.mark.django_db

# (name, write(world, admin) -> record the entry belongs to, action, expected changes subset)
WriteCase = tuple[str, Callable[[World, Any], Any], str, dict[str, list[Any]]]


def _customer(world: World) -> Customer:
    return world.records["team"].customer


def _then(write: Callable[..., None], record: Any, **kwargs: Any) -> Any:
    """Run a write that returns nothing and hand back the record it touched."""
    write(**kwargs)
    return record


WRITES: list[WriteCase] = [
    (
        "customer_create",
        lambda w, a: customers.customer_create(actor=a, data={"name": "New Co", "city": "杭州"}),
        "create",
        {"name": [None, "New Co"], "city": [None, "杭州"]},
    ),
    (
        "customer_update",
        lambda w, a: customers.customer_update(
            actor=a, customer=_customer(w), data={"city": "Xi'an", "credit_limit": Decimal("5")}
        ),
        "update",
        {"city": ["", "Xi'an"], "credit_limit": [None, "5"]},
    ),
    (
        "customer_update_tags",
        lambda w, a: customers.customer_update(
            actor=a, customer=_customer(w), data={}, tags=["VIP", "key account"]
        ),
        "update",
        {"tags": [[], ["VIP", "key account"]]},
    ),
    (
        "customer_set_consent",
        lambda w, a: (
            customers.customer_set_consent(
                actor=a, customer=_customer(w), channel="sms", granted=True, method="written"
            ).customer
        ),
        "update",
        {},
    ),
    (
        "customer_delete",
        lambda w, a: _then(customers.customer_delete, _customer(w), actor=a, customer=_customer(w)),
        "delete",
        {},
    ),
    (
        "contact_create",
        lambda w, a: customers.contact_create(
            actor=a, data={"customer": _customer(w), "name": "Li Lei", "buying_role": "coach"}
        ),
        "create",
        {"name": [None, "Li Lei"], "buying_role": [None, "coach"]},
    ),
    (
        "contact_update",
        lambda w, a: customers.contact_update(
            actor=a, contact=w.records["team"].contact, data={"stance": "supporter"}
        ),
        "update",
        {"stance": ["unknown", "supporter"]},
    ),
    (
        "contact_delete",
        lambda w, a: _then(
            customers.contact_delete,
            w.records["team"].contact,
            actor=a,
            contact=w.records["team"].contact,
        ),
        "delete",
        {},
    ),
    (
        "product_create",
        lambda w, a: sales.product_create(
            actor=a, data={"sku": "S-9", "name": "Gear", "list_price": Decimal("9.50")}
        ),
        "create",
        {"sku": [None, "S-9"], "list_price": [None, "9.50"]},
    ),
    (
        "product_update",
        lambda w, a: sales.product_update(
            actor=a, product=w.product, data={"list_price": Decimal("120.00")}
        ),
        "update",
        {"list_price": ["100.00", "120.00"]},
    ),
    (
        "order_create",
        lambda w, a: sales.order_create(
            actor=a,
            data={"external_id": "NEW-1", "customer": _customer(w)},
            lines=[{"product": w.product, "quantity": 2, "unit_price": "10.00"}],
        ),
        "create",
        {"external_id": [None, "NEW-1"], "total_amount": [None, "20.00"]},
    ),
    (
        "order_reverse",
        lambda w, a: (
            sales.order_reverse(actor=a, order=w.records["team"].order, reason="typo"),
            w.records["team"].order,
        )[1],
        "reverse",
        {"reason": [None, "typo"]},
    ),
    (
        "interaction_create",
        lambda w, a: activities.interaction_create(
            actor=a, data={"customer": _customer(w), "channel": "visit", "subject": "Visit"}
        ),
        "create",
        {"channel": [None, "visit"], "subject": [None, "Visit"]},
    ),
    (
        "interaction_update",
        lambda w, a: activities.interaction_update(
            actor=a, interaction=w.records["team"].interaction, data={"outcome": "positive"}
        ),
        "update",
        {"outcome": ["", "positive"]},
    ),
    (
        "interaction_delete",
        lambda w, a: _then(
            activities.interaction_delete,
            copy.copy(w.records["team"].interaction),  # keeps the pk that delete() clears
            actor=a,
            interaction=w.records["team"].interaction,
        ),
        "delete",
        {"channel": ["phone", None]},
    ),
]


CASCADED_RECORDS = {"customer_delete": 2}


@pytest.mark.parametrize(
    ("name", "write", "action", "expected"), WRITES, ids=[w[0] for w in WRITES]
)
def test_each_write_leaves_exactly_one_entry(world, name, write, action, expected):
    # given
    actor = world.users["administrator"]
    before_ids = set(ChangeRecord.objects.values_list("id", flat=True))
    # when
    with change_context(request_id="req-123", source="web"):
        record = write(world, actor)
    # then
    new = ChangeRecord.objects.exclude(id__in=before_ids)
    # A customer goes to the trash with its contact: one entry for each record.
    assert new.count() == CASCADED_RECORDS.get(name, 1), f"{name} left {new.count()} entries"
    entry = new.for_object(record).get()
    assert entry.action == action
    assert entry.actor == actor and entry.actor_name == "administrator"
    assert entry.request_id == "req-123" and entry.source == "web"
    for field, before_after in expected.items():
        assert entry.changes[field] == before_after, field


def test_consent_history_shows_the_channel_before_and_after(world):
    admin, customer = world.users["administrator"], _customer(world)
    customers.customer_set_consent(
        actor=admin, customer=customer, channel="email", granted=True, method="web_form"
    )
    customers.customer_set_consent(
        actor=admin, customer=customer, channel="email", granted=False, method="verbal"
    )
    latest = ChangeRecord.objects.for_object(customer).first()
    assert latest is not None
    old, new = latest.changes["consent_email"]
    assert old.startswith("granted (web_form") and new.startswith("refused (verbal")


def test_restore_leaves_one_entry_per_restored_record(world):
    admin, customer = world.users["administrator"], _customer(world)
    customers.customer_delete(actor=admin, customer=customer)
    before_ids = set(ChangeRecord.objects.values_list("id", flat=True))
    customers.customer_restore(actor=admin, customer=Customer.all_objects.get(pk=customer.pk))
    new = ChangeRecord.objects.exclude(id__in=before_ids)
    assert sorted((e.action, e.content_type.model) for e in new) == [
        ("restore", "contact"),
        ("restore", "customer"),
    ]


def test_history_cannot_be_edited_or_deleted(world):
    admin = world.users["administrator"]
    customer = customers.customer_create(actor=admin, data={"name": "X"})
    entry = ChangeRecord.objects.for_object(customer).get()
    entry.changes = {}
    with pytest.raises(ImmutableRecordError):
        entry.save()
    with pytest.raises(ImmutableRecordError):
        entry.delete()


def test_a_failed_write_leaves_no_entry_and_no_change(world):
    admin, customer = world.users["administrator"], _customer(world)
    count = ChangeRecord.objects.count()
    with pytest.raises(Exception, match="email"):
        customers.customer_update(actor=admin, customer=customer, data={"email": "not-an-email"})
    assert ChangeRecord.objects.count() == count
    customer.refresh_from_db()
    assert customer.email.endswith("@example.com")


def test_erase_removes_personal_data_and_history_but_keeps_orders(world):
    admin, records = world.users["administrator"], world.records["team"]
    customer = records.customer
    customers.customer_update(actor=admin, customer=customer, data={"phone": "+86 138 0000 0000"})
    receipt = privacy.customer_erase(actor=admin, customer=customer, reason="request #42")
    customer = Customer.all_objects.get(pk=customer.pk)
    assert customer.email == "" and customer.phone == "" and customer.erased_at
    assert not customer.contacts.exists()
    assert customer.orders.count() == 1
    remaining = ChangeRecord.objects.filter(customer_id=customer.pk)
    assert [e.action for e in remaining] == ["erase"]
    # (the phone in any form; not just "138": a customer id may contain those digits)
    kept = [(e.object_repr, e.changes) for e in remaining]
    assert "0000 0000" not in str(kept) and "13800000000" not in str(kept)
    assert receipt.reason == "request #42" and receipt.erased_counts["contacts"] == 1
    records.interaction.refresh_from_db()
    assert records.interaction.notes == "" and "team call" not in records.interaction.subject


def test_erase_needs_the_erase_permission(world):
    from django.core.exceptions import PermissionDenied

    manager = world.users["sales_manager"]
    with pytest.raises(PermissionDenied):
        privacy.customer_erase(actor=manager, customer=_customer(world), reason="asked")


def test_trash_purge_after_the_trash_period(world, settings):
    import datetime as dt

    from django.utils import timezone

    admin = world.users["administrator"]
    no_orders = customers.customer_create(actor=admin, data={"name": "Empty"})
    with_orders = _customer(world)
    customers.customer_delete(actor=admin, customer=no_orders)
    customers.customer_delete(actor=admin, customer=with_orders)
    assert privacy.trash_purge() == {
        "contacts": 0,
        "customers_removed": 0,
        "customers_anonymized": 0,
    }
    later = timezone.now() + dt.timedelta(days=settings.GUANXI_TRASH_DAYS + 1)
    counts = privacy.trash_purge(now=later)
    assert counts == {"contacts": 1, "customers_removed": 1, "customers_anonymized": 1}
    assert not Customer.all_objects.filter(pk=no_orders.pk).exists()
    assert Customer.all_objects.get(pk=with_orders.pk).erased_at is not None
