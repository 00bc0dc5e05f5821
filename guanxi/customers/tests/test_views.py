"""Customer and contact pages: scope (404/403), forms through services, HTMX lists, trash."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.core.models import ChangeRecord
from guanxi.customers.models import Contact, Customer, CustomerConsent, CustomFieldDefinition

pytestmark = pytest.mark.django_db


def _form_data(customer: Customer, **changes: object) -> dict[str, object]:
    """The customer's current values as the edit form would post them."""
    data: dict[str, object] = {
        "name": customer.name,
        "kind": customer.kind,
        "market": customer.market,
        "email": customer.email,
        "country": customer.country,
        "money": customer.money,
        "authority": customer.authority,
        "need": customer.need,
        "owner": customer.owner_id or "",
        "team": customer.team_id or "",
        "external_id": customer.external_id or "",
    }
    data.update(changes)
    return data


@pytest.fixture
def rep_client(client, world):
    client.force_login(world.users["sales_rep"])
    return client


def test_every_customer_page_shows_an_own_customer(rep_client, world):
    # given
    customer = world.records_for("sales_rep")["own"].customer
    # when / then
    for name in ("customer_detail", "customer_edit", "customer_delete", "customer_history"):
        response = rep_client.get(reverse(name, args=[customer.pk]))
        assert response.status_code == 200, name
        assert customer.name in response.content.decode(), name
    listing = rep_client.get(reverse("customer_list"))
    assert customer.name in listing.content.decode()
    assert world.records["other"].customer.name not in listing.content.decode()


def test_customer_360_shows_contacts_orders_interactions_and_consent(rep_client, world):
    records = world.records_for("sales_rep")["own"]
    CustomerConsent.objects.create(
        customer=records.customer, channel="email", granted=True, method="written"
    )
    page = rep_client.get(reverse("customer_detail", args=[records.customer.pk])).content.decode()
    assert records.contact.name in page
    assert records.order.external_id in page
    assert records.interaction.subject in page
    assert "Granted" in page
    assert reverse("interaction_add") + f"?customer={records.customer.pk}" in page


@pytest.mark.parametrize(
    "name",
    ["customer_detail", "customer_edit", "customer_delete", "customer_history", "customer_consent"],
)
def test_a_customer_out_of_scope_answers_404(rep_client, world, name):
    other = world.records["other"].customer
    assert rep_client.get(reverse(name, args=[other.pk])).status_code == 404
    if name not in ("customer_detail", "customer_history"):
        assert rep_client.post(reverse(name, args=[other.pk]), {}).status_code == 404


def test_a_visible_customer_the_role_may_not_change_answers_403(client, world):
    # given: service agents see every customer but change none
    client.force_login(world.users["service_agent"])
    customer = world.records["other"].customer
    # when
    response = client.get(reverse("customer_edit", args=[customer.pk]))
    # then
    assert response.status_code == 403
    assert "may not change" in response.content.decode()


def test_editing_through_the_form_calls_the_service_and_logs_before_and_after(rep_client, world):
    customer = world.records_for("sales_rep")["own"].customer
    old_name = customer.name
    response = rep_client.post(
        reverse("customer_edit", args=[customer.pk]),
        _form_data(customer, name="新名字 Ltd", credit_limit="2500.00", tags="VIP, 展会"),
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "新名字 Ltd"
    assert customer.credit_limit == Decimal("2500.00")
    entry = ChangeRecord.objects.for_object(customer).get(action="update")
    assert entry.changes["name"] == [old_name, "新名字 Ltd"]
    assert entry.changes["credit_limit"] == [None, "2500.00"]
    assert entry.changes["tags"] == [[], ["VIP", "展会"]]
    assert entry.actor == world.users["sales_rep"] and entry.source == "web"
    # and the history page shows it
    history = rep_client.get(reverse("customer_history", args=[customer.pk])).content.decode()
    assert "新名字 Ltd" in history and old_name in history and "sales_rep" in history


def test_an_unchanged_form_leaves_no_history_entry(rep_client, world):
    customer = world.records_for("sales_rep")["own"].customer
    rep_client.post(reverse("customer_edit", args=[customer.pk]), _form_data(customer))
    assert not ChangeRecord.objects.for_object(customer).filter(action="update").exists()


def test_creating_a_customer_with_custom_fields(rep_client, world):
    CustomFieldDefinition.objects.create(name="employees", label="Employees", field_type="integer")
    rep = world.users["sales_rep"]
    form = rep_client.get(reverse("customer_add")).content.decode()
    assert 'name="cf_employees"' in form
    data = {
        "name": "New Co",
        "kind": "organization",
        "market": "industrial",
        "country": "CN",
        "money": "yes",
        "authority": "yes",
        "need": "yes",
        "owner": rep.pk,
        "team": rep.team_id,
        "cf_employees": "42",
    }
    response = rep_client.post(reverse("customer_add"), data)
    customer = Customer.objects.get(name="New Co")
    assert response.url == reverse("customer_detail", args=[customer.pk])
    assert customer.custom_fields == {"employees": 42}
    assert customer.qualification_status == "qualified"
    assert ChangeRecord.objects.for_object(customer).get().action == "create"


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("credit_limit", "-5"), ("notes", "x" * 20_001)],
)
def test_invalid_input_shows_the_field_error_and_changes_nothing(rep_client, world, field, value):
    customer = world.records_for("sales_rep")["own"].customer
    response = rep_client.post(
        reverse("customer_edit", args=[customer.pk]), _form_data(customer, **{field: value})
    )
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert f'id="id_{field}_error"' in response.content.decode()
    customer.refresh_from_db()
    assert getattr(customer, field) in ("", None, customer.email)
    assert not ChangeRecord.objects.for_object(customer).exists()


def test_a_ten_megabyte_note_is_refused_with_a_clear_message(rep_client, world):
    customer = world.records_for("sales_rep")["own"].customer
    response = rep_client.post(
        reverse("customer_edit", args=[customer.pk]),
        _form_data(customer, notes="x" * (10 * 1024 * 1024)),
    )
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    customer.refresh_from_db()
    assert customer.notes == ""


def test_a_rep_cannot_hand_a_customer_to_another_owner(rep_client, world):
    customer = world.records_for("sales_rep")["own"].customer
    response = rep_client.post(
        reverse("customer_edit", args=[customer.pk]),
        _form_data(customer, owner=world.south_rep.pk),
    )
    assert response.status_code in (200, 403)
    assert response.context["form"].errors
    customer.refresh_from_db()
    assert customer.owner == world.users["sales_rep"]
    assert not ChangeRecord.objects.for_object(customer).exists()


def test_the_service_refusal_is_shown_on_the_form_with_403(client, world):
    # given: a manager may give a team customer to a colleague, but not leave the team
    manager = world.users["sales_manager"]
    client.force_login(manager)
    customer = world.records["team"].customer
    # when: the team is changed to one the manager does not manage (choices allow the
    # customer's current team only, so post the other team and expect the form to refuse)
    response = client.post(
        reverse("customer_edit", args=[customer.pk]), _form_data(customer, team=world.south.pk)
    )
    # then
    assert response.status_code == 200
    assert "team" in response.context["form"].errors
    customer.refresh_from_db()
    assert customer.team == world.north


def test_an_htmx_request_to_a_list_returns_only_the_table(rep_client, world):
    own = world.records_for("sales_rep")["own"].customer
    response = rep_client.get(
        reverse("customer_list"), {"q": own.name, "sort": "-name"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="object-table"' in body
    assert own.name in body
    assert "HX-Request" in response["Vary"]


def test_list_sorting_is_whitelisted_and_filters_apply(rep_client, world):
    own = world.records_for("sales_rep")["own"].customer
    ok = rep_client.get(reverse("customer_list"), {"sort": "-created_at", "kind": "organization"})
    assert own.name in ok.content.decode()
    bogus = rep_client.get(reverse("customer_list"), {"sort": "password"})
    assert bogus.status_code == 200
    none = rep_client.get(reverse("customer_list"), {"kind": "person"})
    assert own.name not in none.content.decode()


def test_recording_consent_from_the_customer_page(rep_client, world):
    customer = world.records_for("sales_rep")["own"].customer
    response = rep_client.post(
        reverse("customer_consent", args=[customer.pk]),
        {"channel": "sms", "granted": "no", "method": "verbal", "note": "asked by phone"},
    )
    assert response.status_code == 302
    consent = CustomerConsent.objects.get(customer=customer, channel="sms")
    assert consent.granted is False and consent.method == "verbal"
    entry = ChangeRecord.objects.for_object(customer).get(action="update")
    assert entry.changes["consent_sms"][0] is None


def test_delete_moves_to_the_trash_and_restore_brings_it_back(rep_client, world):
    records = world.records_for("sales_rep")["own"]
    customer = records.customer
    response = rep_client.post(reverse("customer_delete", args=[customer.pk]))
    assert response.url == reverse("customer_list")
    assert Customer.all_objects.get(pk=customer.pk).deleted_at is not None
    assert rep_client.get(reverse("customer_detail", args=[customer.pk])).status_code == 404
    trash = rep_client.get(reverse("trash")).content.decode()
    assert customer.name in trash and records.contact.name in trash
    assert world.records["other"].customer.name not in trash
    rep_client.post(reverse("customer_restore", args=[customer.pk]))
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert Contact.objects.filter(pk=records.contact.pk).exists()


def test_restoring_a_record_of_someone_else_answers_404(rep_client, world):
    other = world.records["other"].customer
    Customer.all_objects.filter(pk=other.pk).update(deleted_at="2026-01-01T00:00:00Z")
    assert rep_client.post(reverse("customer_restore", args=[other.pk])).status_code == 404


def test_contact_pages(rep_client, world):
    records = world.records_for("sales_rep")["own"]
    contact = records.contact
    for name in ("contact_detail", "contact_edit", "contact_delete", "contact_history"):
        response = rep_client.get(reverse(name, args=[contact.pk]))
        assert response.status_code == 200 and contact.name in response.content.decode(), name
    assert contact.name in rep_client.get(reverse("contact_list")).content.decode()
    other = world.records["other"].contact
    for name in ("contact_detail", "contact_edit", "contact_delete", "contact_history"):
        assert rep_client.get(reverse(name, args=[other.pk])).status_code == 404, name


def test_adding_a_contact_from_the_customer_page(rep_client, world):
    customer = world.records_for("sales_rep")["own"].customer
    form = rep_client.get(reverse("contact_add"), {"customer": customer.pk})
    assert form.context["form"].initial["customer"] == str(customer.pk)
    # a customer out of scope is not among the choices
    other = world.records["other"].customer
    assert other.name not in form.content.decode()
    response = rep_client.post(
        reverse("contact_add"),
        {"customer": customer.pk, "name": "李雷", "buying_role": "decision_maker",
         "stance": "supporter", "email": "li@example.com"},
    )  # fmt: skip
    contact = Contact.objects.get(name="李雷")
    assert response.url == reverse("contact_detail", args=[contact.pk])
    assert ChangeRecord.objects.for_object(contact).get().changes["buying_role"] == [
        None,
        "decision_maker",
    ]
    bad = rep_client.post(
        reverse("contact_add"), {"customer": other.pk, "name": "X", "buying_role": "user",
                                 "stance": "neutral"}
    )  # fmt: skip
    assert "customer" in bad.context["form"].errors
