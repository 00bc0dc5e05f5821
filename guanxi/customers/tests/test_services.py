from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.core.models import ChangeRecord
from guanxi.customers import services
from guanxi.customers.models import Contact, Customer, CustomFieldDefinition

pytestmark = pytest.mark.django_db


def test_create_defaults_owner_and_logs_every_field(rep):
    # when
    customer = services.customer_create(
        actor=rep, data={"name": "王芳", "email": "wang@example.com"}, tags=["VIP"]
    )
    # then
    assert customer.owner == rep
    (entry,) = ChangeRecord.objects.for_object(customer)
    assert entry.action == "create"
    assert entry.changes["name"] == [None, "王芳"]
    assert entry.changes["tags"] == [None, ["VIP"]]
    assert entry.actor == rep and entry.request_id


def test_update_records_before_and_after_only_for_changed_fields(rep):
    customer = services.customer_create(actor=rep, data={"name": "A", "money": "yes"})
    services.customer_update(
        actor=rep, customer=customer, data={"name": "B", "authority": "yes", "need": "yes"}
    )
    entry = ChangeRecord.objects.for_object(customer).filter(action="update").get()
    assert entry.changes == {
        "authority": ["unknown", "yes"],
        "name": ["A", "B"],
        "need": ["unknown", "yes"],
        "qualification_status": ["partial", "qualified"],
    }


def test_an_update_that_changes_nothing_leaves_no_entry(rep):
    customer = services.customer_create(actor=rep, data={"name": "A"})
    services.customer_update(actor=rep, customer=customer, data={"name": "A"})
    assert ChangeRecord.objects.for_object(customer).count() == 1


def test_rep_cannot_hand_a_customer_out_of_own_scope(world):
    rep = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=rep, customer=customer, data={"owner": world.south_rep})
    customer.refresh_from_db()
    assert customer.owner == rep
    assert not ChangeRecord.objects.for_object(customer).exists()


def test_custom_fields_are_typed_and_validated(rep):
    CustomFieldDefinition.objects.create(name="employees", label="Employees", field_type="integer")
    with pytest.raises(ValidationError) as error:
        services.customer_create(actor=rep, data={"name": "A", "custom_fields": {"employees": "x"}})
    assert "employees" in str(error.value)
    customer = services.customer_create(
        actor=rep, data={"name": "A", "custom_fields": {"employees": "120"}}
    )
    assert customer.custom_fields == {"employees": 120}


def test_soft_delete_and_restore_bring_back_contacts_deleted_with_the_customer(rep):
    customer = services.customer_create(actor=rep, data={"name": "Org", "kind": "organization"})
    kept = services.contact_create(actor=rep, data={"customer": customer, "name": "Kept"})
    earlier = services.contact_create(actor=rep, data={"customer": customer, "name": "Earlier"})
    services.contact_delete(actor=rep, contact=earlier)

    services.customer_delete(actor=rep, customer=customer)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Contact.objects.filter(pk=kept.pk).exists()

    services.customer_restore(actor=rep, customer=Customer.all_objects.get(pk=customer.pk))
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert Contact.objects.filter(pk=kept.pk).exists()
    assert not Contact.objects.filter(pk=earlier.pk).exists()  # deleted separately, stays


def test_text_limit_names_the_field(rep):
    with pytest.raises(ValidationError) as error:
        services.customer_create(actor=rep, data={"name": "A", "notes": "x" * 10_000_000})
    assert "notes" in error.value.message_dict


def test_credit_limit_must_not_be_negative(rep):
    with pytest.raises(ValidationError) as error:
        services.customer_create(actor=rep, data={"name": "A", "credit_limit": Decimal("-1")})
    assert "credit_limit" in error.value.message_dict
