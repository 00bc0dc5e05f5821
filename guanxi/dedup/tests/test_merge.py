"""Merging customers and contacts, and undoing a merge: every record, field and count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from guanxi.activities.models import Interaction, Note, Task
from guanxi.activities.services import interaction_create, note_create, task_create
from guanxi.core.changelog import snapshot
from guanxi.core.models import ChangeAction, ChangeRecord
from guanxi.core.permissions import Role
from guanxi.customers import selectors as customer_selectors
from guanxi.customers import services as customer_services
from guanxi.customers.models import Contact, Customer, CustomerConsent, CustomFieldDefinition
from guanxi.dedup.models import MergeRecord
from guanxi.dedup.services import contact_merge, customer_merge, merge_undo, undo_problems
from guanxi.privacy.services import customer_erase
from guanxi.sales.models import Order
from guanxi.sales.services import order_create
from guanxi.testing import World

pytestmark = pytest.mark.django_db

T0 = timezone.now() - dt.timedelta(days=30)


def _customer(admin: Any, data: dict[str, Any], tags: list[str], n_orders: int, world: World):
    customer = customer_services.customer_create(
        actor=admin, data={"kind": "organization", "market": "industrial", **data}, tags=tags
    )
    for i in range(n_orders):
        order_create(
            actor=admin,
            data={"customer": customer, "external_id": f"{data['name']}-O{i}"},
            lines=[{"product": world.product, "quantity": "1", "unit_price": "10.00"}],
        )
    contact = customer_services.contact_create(
        actor=admin, data={"customer": customer, "name": f"{data['name']} buyer"}
    )
    interaction_create(
        actor=admin,
        data={"customer": customer, "contact": contact, "channel": "phone", "subject": "call"},
    )
    interaction_create(
        actor=admin, data={"customer": customer, "channel": "email", "subject": "mail"}
    )
    note_create(actor=admin, data={"customer": customer, "body": f"{data['name']}: met at a fair"})
    task_create(actor=admin, data={"customer": customer, "title": f"Call {data['name']} back"})
    return customer


@pytest.fixture
def three(world: World) -> tuple[Any, Customer, Customer, Customer]:
    """Three records of one company, each with orders, contacts, interactions, consent, tags."""
    admin = world.users[Role.ADMINISTRATOR]
    CustomFieldDefinition.objects.create(name="vip_level", label="VIP level", field_type="text")
    CustomFieldDefinition.objects.create(name="region_code", label="Region", field_type="text")
    a = _customer(
        admin,
        {
            "name": "上海恒信贸易有限公司", "email": "info@hengxin.cn", "city": "上海",
            "external_id": "EXT-A", "notes": "A notes", "custom_fields": {"vip_level": "gold"},
        },
        ["vip"], 2, world,
    )  # fmt: skip
    b = _customer(
        admin,
        {
            "name": "上海恒信贸易公司", "phone": "021-61234567", "external_id": "EXT-B",
            "notes": "B notes", "custom_fields": {"region_code": "SH"}, "money": "yes",
            "industry": "trade",
        },
        ["trade show"], 3, world,
    )  # fmt: skip
    c = _customer(
        admin,
        {"name": "恒信贸易", "email": "INFO@hengxin.cn", "phone": "+86 21 6123 4567"},
        ["vip", "new"], 1, world,
    )  # fmt: skip
    # A contact of C already in the trash moves too (and stays in the trash).
    trashed = customer_services.contact_create(actor=admin, data={"customer": c, "name": "Old"})
    customer_services.contact_delete(actor=admin, contact=trashed)
    consent = customer_services.customer_set_consent
    consent(actor=admin, customer=a, channel="email", granted=True, method="web_form",
            recorded_at=T0)  # fmt: skip
    consent(actor=admin, customer=b, channel="email", granted=False, method="email_reply",
            recorded_at=T0 + dt.timedelta(days=2))  # fmt: skip
    consent(actor=admin, customer=b, channel="sms", granted=True, method="verbal",
            recorded_at=T0)  # fmt: skip
    consent(actor=admin, customer=c, channel="phone", granted=True, method="written",
            recorded_at=T0)  # fmt: skip
    consent(actor=admin, customer=c, channel="sms", granted=False, method="verbal",
            recorded_at=T0 - dt.timedelta(days=1))  # fmt: skip
    return admin, a, b, c


def capture(*customers: Customer) -> dict[int, dict[str, Any]]:
    """Every field value and every related record (by id) of each customer."""
    state = {}
    for customer in customers:
        fresh = Customer.all_objects.get(pk=customer.pk)
        state[customer.pk] = {
            "fields": snapshot(fresh),
            "deleted": fresh.deleted_at is not None,
            "tags": sorted(fresh.tags.values_list("name", flat=True)),
            "orders": sorted(Order.objects.filter(customer=fresh).values_list("pk", flat=True)),
            "interactions": sorted(
                Interaction.objects.filter(customer=fresh).values_list("pk", "contact_id")
            ),
            "notes": sorted(Note.objects.filter(customer=fresh).values_list("pk", flat=True)),
            "tasks": sorted(Task.objects.filter(customer=fresh).values_list("pk", flat=True)),
            "contacts": sorted(
                Contact.all_objects.filter(customer=fresh).values_list("pk", "deleted_at")
            ),
            "consents": sorted(
                CustomerConsent.objects.filter(customer=fresh).values_list(
                    "pk", "channel", "granted", "recorded_at", "method", "note"
                )
            ),
            "history": set(
                ChangeRecord.objects.filter(customer_id=fresh.pk).values_list("pk", flat=True)
            ),
        }
    return state


def counts(state: dict[str, Any]) -> dict[str, int]:
    keys = ("orders", "interactions", "notes", "tasks", "contacts", "consents", "tags", "history")
    return {k: len(state[k]) for k in keys}


def test_merge_three_customers_then_undo_restores_everything(three) -> None:
    # given
    admin, a, b, c = three
    original = capture(a, b, c)
    assert [counts(original[x.pk]) for x in (a, b, c)] == [
        {
            "orders": 2,
            "interactions": 2,
            "notes": 1,
            "tasks": 1,
            "contacts": 1,
            "consents": 1,
            "tags": 1,
            "history": 9,
        },
        {
            "orders": 3,
            "interactions": 2,
            "notes": 1,
            "tasks": 1,
            "contacts": 1,
            "consents": 2,
            "tags": 1,
            "history": 11,
        },
        {
            "orders": 1,
            "interactions": 2,
            "notes": 1,
            "tasks": 1,
            "contacts": 2,
            "consents": 2,
            "tags": 2,
            "history": 11,
        },
    ]

    # when
    merge = customer_merge(actor=admin, survivor=a, others=[b, c], field_choices={"phone": b})

    # then: everything is on the survivor, field by field as chosen
    merged = capture(a, b, c)
    survivor = merged[a.pk]
    assert counts(survivor) | {"history": 0} == {
        "orders": 6, "interactions": 6, "notes": 3, "tasks": 3, "contacts": 4, "consents": 3,
        "tags": 3, "history": 0,
    }  # fmt: skip
    for other in (b, c):
        assert counts(merged[other.pk]) | {"history": 0, "consents": 0, "tags": 0} == {
            "orders": 0, "interactions": 0, "notes": 0, "tasks": 0, "contacts": 0,
            "consents": 0, "tags": 0, "history": 0,
        }  # fmt: skip
        assert merged[other.pk]["deleted"]
        assert Customer.all_objects.get(pk=other.pk).deletion_batch == merge.deletion_batch
    assert survivor["tags"] == ["new", "trade show", "vip"]
    assert sorted(o for o in survivor["orders"]) == sorted(
        original[a.pk]["orders"] + original[b.pk]["orders"] + original[c.pk]["orders"]
    )
    # The trashed contact moved and is still in the trash.
    assert sum(1 for _pk, deleted in survivor["contacts"] if deleted) == 1
    consents = {row[1]: row for row in survivor["consents"]}
    assert consents["email"][2] is False  # B's refusal is the most recent email consent
    assert consents["sms"][2] is True  # B's (newer than C's refusal)
    assert consents["phone"][4] == "written"  # C's, the only one
    fields = survivor["fields"]
    before_a = original[a.pk]["fields"]
    expected = dict(before_a)
    expected.update(
        phone="021-61234567",  # chosen from B
        money="yes",  # A's was "unknown" (empty): B's is the first filled-in value
        industry="trade",  # A had none
        qualification_status="partial",
        custom_fields={"vip_level": "gold", "region_code": "SH"},
        notes=f"A notes\n\n---\n上海恒信贸易公司 (#{b.pk}):\nB notes",
    )
    assert fields == expected
    assert merge.counts == {
        "contacts": 3, "orders": 4, "interactions": 4, "customer_notes": 2, "tasks": 2,
        "consents": 3, "tags": 2,
    }  # fmt: skip

    # the change log: merge on the survivor (with before/after), each other, each moved record
    entry = ChangeRecord.objects.filter(object_id=str(a.pk), action=ChangeAction.MERGE).get(
        content_type__model="customer"
    )
    assert entry.changes["phone"] == ["", "021-61234567"]
    assert entry.changes["merge"] == [None, merge.pk]
    for other in (b, c):
        assert ChangeRecord.objects.filter(
            object_id=str(other.pk), content_type__model="customer", action=ChangeAction.MERGE
        ).exists()
    moved = ChangeRecord.objects.filter(action=ChangeAction.MERGE, content_type__model="order")
    assert moved.count() == 4
    # the survivor's history includes the merged customers' (immutable) history
    history = set(
        customer_selectors.customer_history(user=admin, customer=a).values_list("pk", flat=True)
    )
    for x in (a, b, c):
        assert original[x.pk]["history"] <= history

    # when: undo
    merge_undo(actor=admin, merge=merge)

    # then: every field and every related record is back, exactly
    restored = capture(a, b, c)
    for x in (a, b, c):
        now, was = dict(restored[x.pk]), dict(original[x.pk])
        assert now.pop("history") >= was.pop("history")
        assert now == was
    assert MergeRecord.objects.get(pk=merge.pk).undone_at is not None
    history = set(
        customer_selectors.customer_history(user=admin, customer=a).values_list("pk", flat=True)
    )
    assert not original[b.pk]["history"] & history  # B's history is B's again


def test_chosen_external_id_moves_and_comes_back(three) -> None:
    admin, a, b, _c = three
    merge = customer_merge(actor=admin, survivor=a, others=[b], field_choices={"external_id": b})
    assert Customer.objects.get(pk=a.pk).external_id == "EXT-B"
    assert Customer.all_objects.get(pk=b.pk).external_id is None
    merge_undo(actor=admin, merge=merge)
    assert Customer.objects.get(pk=a.pk).external_id == "EXT-A"
    assert Customer.objects.get(pk=b.pk).external_id == "EXT-B"


def test_undo_refused_when_a_merged_value_changed_since(three) -> None:
    # given
    admin, a, b, _c = three
    merge = customer_merge(actor=admin, survivor=a, others=[b], field_choices={"phone": b})
    survivor = Customer.objects.get(pk=a.pk)
    customer_services.customer_update(actor=admin, customer=survivor, data={"city": "杭州"})
    assert undo_problems(merge) == []  # a field the merge did not touch does not block
    customer_services.customer_update(actor=admin, customer=survivor, data={"phone": "12345678"})
    before = capture(a, b)

    # when / then
    with pytest.raises(ValidationError) as error:
        merge_undo(actor=admin, merge=merge)
    assert "phone" in str(error.value)
    after = capture(a, b)
    assert after == before


def test_undo_refused_when_a_merged_customer_was_restored(three) -> None:
    admin, a, b, _c = three
    merge = customer_merge(actor=admin, survivor=a, others=[b])
    customer_services.customer_restore(actor=admin, customer=Customer.all_objects.get(pk=b.pk))
    with pytest.raises(ValidationError, match="restored"):
        merge_undo(actor=admin, merge=merge)


def test_undo_twice_refused(three) -> None:
    admin, a, b, _c = three
    merge = customer_merge(actor=admin, survivor=a, others=[b])
    merge_undo(actor=admin, merge=merge)
    with pytest.raises(ValidationError, match="undone already"):
        merge_undo(actor=admin, merge=merge)


def test_rep_cannot_merge_a_customer_outside_its_scope(world: World) -> None:
    # given: a rep's own customer and a customer of another team
    rep = world.users[Role.SALES_REP]
    own = world.records_for(Role.SALES_REP)["own"].customer
    other = world.records_for(Role.SALES_REP)["other"].customer
    team = world.records_for(Role.SALES_REP)["team"].customer
    before = capture(own, other, team)
    entries = ChangeRecord.objects.count()

    # when / then
    for foreign in (other, team):
        with pytest.raises(PermissionDenied):
            customer_merge(actor=rep, survivor=own, others=[foreign])
        with pytest.raises(PermissionDenied):
            customer_merge(actor=rep, survivor=foreign, others=[own])
    assert capture(own, other, team) == before
    assert ChangeRecord.objects.count() == entries
    assert not MergeRecord.objects.exists()


def test_rep_merges_own_customers(world: World) -> None:
    rep = world.users[Role.SALES_REP]
    own = world.records_for(Role.SALES_REP)["own"].customer
    second = customer_services.customer_create(actor=rep, data={"name": own.name})
    merge = customer_merge(actor=rep, survivor=own, others=[second])
    assert Customer.all_objects.get(pk=second.pk).deleted_at is not None
    merge_undo(actor=rep, merge=merge)
    assert Customer.objects.filter(pk=second.pk).exists()


def test_merge_validation(three) -> None:
    admin, a, b, c = three
    with pytest.raises(ValidationError):
        customer_merge(actor=admin, survivor=a, others=[])
    with pytest.raises(ValidationError):
        customer_merge(actor=admin, survivor=a, others=[a])
    with pytest.raises(ValidationError) as error:
        customer_merge(actor=admin, survivor=a, others=[b], field_choices={"email": 999999})
    assert "email" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        customer_merge(actor=admin, survivor=a, others=[b], field_choices={"nonsense": b})
    assert "nonsense" in error.value.message_dict
    customer_services.customer_delete(actor=admin, customer=c)
    with pytest.raises(ValidationError, match="trash"):
        customer_merge(actor=admin, survivor=a, others=[Customer.all_objects.get(pk=c.pk)])
    assert not MergeRecord.objects.exists()


def test_contact_merge_moves_interactions_and_undo(world: World) -> None:
    # given
    admin = world.users[Role.ADMINISTRATOR]
    customer = world.records["team"].customer
    first = customer_services.contact_create(
        actor=admin, data={"customer": customer, "name": "王小明", "email": "wxm@example.cn"}
    )
    second = customer_services.contact_create(
        actor=admin,
        data={"customer": customer, "name": "王小明", "phone": "13800000000", "title": "经理"},
    )
    calls = [
        interaction_create(
            actor=admin,
            data={"customer": customer, "contact": second, "channel": "phone", "subject": s},
        )
        for s in ("one", "two")
    ]
    before = snapshot(Contact.objects.get(pk=first.pk))

    # when
    merge = contact_merge(actor=admin, survivor=first, others=[second])

    # then
    survivor = Contact.objects.get(pk=first.pk)
    assert (survivor.phone, survivor.title, survivor.email) == (
        "13800000000", "经理", "wxm@example.cn",
    )  # fmt: skip
    assert set(Interaction.objects.filter(contact=survivor)) == set(calls)
    assert Contact.all_objects.get(pk=second.pk).deleted_at is not None
    assert merge.counts == {"interactions": 2}

    merge_undo(actor=admin, merge=merge)
    assert snapshot(Contact.objects.get(pk=first.pk)) == before
    assert set(Interaction.objects.filter(contact_id=second.pk)) == set(calls)
    assert Contact.objects.filter(pk=second.pk).exists()


def test_contacts_of_different_organizations_are_not_merged(world: World) -> None:
    admin = world.users[Role.ADMINISTRATOR]
    one, two = world.records["team"].contact, world.records["other"].contact
    with pytest.raises(ValidationError, match="organizations"):
        contact_merge(actor=admin, survivor=one, others=[two])


def test_decimal_field_round_trip(three) -> None:
    admin, a, b, _c = three
    customer_services.customer_update(
        actor=admin, customer=b, data={"credit_limit": Decimal("1234.50")}
    )
    before = snapshot(Customer.objects.get(pk=a.pk))
    merge = customer_merge(actor=admin, survivor=a, others=[b])
    assert Customer.objects.get(pk=a.pk).credit_limit == Decimal("1234.50")
    merge_undo(actor=admin, merge=merge)
    assert snapshot(Customer.objects.get(pk=a.pk)) == before


def test_erasing_a_merged_customer_removes_the_merge_snapshots(three) -> None:
    # given a merge whose record keeps both customers' personal data for undo
    admin, a, b, _c = three
    merge = customer_merge(actor=admin, survivor=a, others=[b], field_choices={})
    assert "info@hengxin.cn" in str(MergeRecord.objects.get(pk=merge.pk).state)
    # when the merged-away customer is erased on request
    receipt = customer_erase(
        actor=admin, customer=Customer.all_objects.get(pk=b.pk), reason="privacy request 7"
    )
    # then no merge record holds its data any more, and the receipt counts it
    assert not MergeRecord.objects.filter(pk=merge.pk).exists()
    assert receipt.erased_counts["merge_records"] == 1


def test_order_figures_follow_the_orders_of_a_merge_and_of_its_undo(three) -> None:
    # given three customers whose orders keep their per-customer figures (the insights)
    admin, a, b, c = three
    api = APIClient()
    api.force_authenticate(admin)

    def orders_counted(customer: Customer) -> int:
        body = api.get(reverse("api:customer-detail", args=[customer.pk])).json()
        return body["insight"]["order_count"]

    def trashed_orders_counted(customer: Customer) -> int:
        body = api.get(reverse("api:customer-trash"), {"id": customer.pk}).json()
        return next(r for r in body["results"] if r["id"] == customer.pk)["insight"]["order_count"]

    assert [orders_counted(x) for x in (a, b, c)] == [2, 3, 1]

    # when they are merged, then the survivor counts every order and the others none
    merge = customer_merge(actor=admin, survivor=a, others=[b, c])
    assert orders_counted(a) == 6
    assert [trashed_orders_counted(x) for x in (b, c)] == [0, 0]

    # and when the merge is undone, each counts its own orders again
    merge_undo(actor=admin, merge=merge)
    assert [orders_counted(x) for x in (a, b, c)] == [2, 3, 1]
