"""The permission matrix: every web page and API operation x every role x own/team/other.

For each case the expected outcome is derived from :data:`ROLE_POLICY` alone (does the
role's scope for the action cover a record at that distance?) and the actual outcome is read
from the database or the response (was the record created, changed, deleted, listed?). The
test fails on any difference: an unexpected success (a leak or an unauthorised write) or an
unexpected refusal. A refused request for a record the user may not see must answer 404.

``world`` (guanxi.testing) gives every role user three customers, each with a contact, an
order and an interaction: ``own`` (owned by the user), ``team`` (owned by a colleague in the
same team) and ``other`` (owned by a rep of another team).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django import forms
from django.db import transaction
from django.test import Client
from django.urls import resolve, reverse
from rest_framework.test import APIClient

from guanxi.activities.models import Interaction, Note, Task
from guanxi.core.permissions import ROLE_POLICY, Action, Role, Scope
from guanxi.customers import services as customer_services
from guanxi.customers.models import Contact, Customer, CustomerConsent
from guanxi.sales.models import Order, Product
from guanxi.testing import RecordSet, World

pytestmark = pytest.mark.django_db

DISTANCES = ("own", "team", "other")


def covers(role: str, object_type: str, action: str, distance: str | None) -> bool:
    """Whether the role may do ``action`` on a record at ``distance`` (None: on any record)."""
    scope = ROLE_POLICY[role].get(object_type, {}).get(Action(action), Scope.NONE)
    if distance is None or scope is Scope.ALL:
        return scope is not Scope.NONE
    return (scope is Scope.TEAM and distance in ("own", "team")) or (
        scope is Scope.OWN and distance == "own"
    )


@dataclass
class Context:
    """What a case needs: the world, the acting user, its clients and the record set."""

    world: World
    role: str
    user: Any
    web: Client
    api: APIClient
    records: RecordSet
    distance: str

    @property
    def admin(self) -> Any:
        return self.world.users[Role.ADMINISTRATOR]


@dataclass
class Outcome:
    status: int
    success: bool


@dataclass(frozen=True)
class Case:
    """One operation: its channel and name, what the policy must allow, and how to run it."""

    channel: str
    name: str
    object_type: str
    action: str
    run: Callable[[Context], Outcome]
    #: The URL names a record: when this (object type, action) scope does not cover it, the
    #: user may not know it exists, so a refusal must be a 404.
    hidden_unless: tuple[str, str] | None = None
    per_distance: bool = True


def _status_success(response: Any, ok: tuple[int, ...] = (200,)) -> Outcome:
    return Outcome(response.status_code, response.status_code in ok)


# --- Form payloads for the web UI ---------------------------------------------------------


def form_payload(form: forms.BaseForm) -> dict[str, Any]:
    """The POST body a browser would send for an unchanged form."""
    data: dict[str, Any] = {}
    for name in form.fields:
        bound = form[name]
        value = bound.value()
        if isinstance(bound.field, forms.BooleanField):
            if value:
                data[name] = "on"
            continue
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
            continue
        formatted = bound.field.widget.format_value(value)
        data[name] = "" if formatted is None else formatted
    return data


def edit_payload(url_name: str, obj: Any, user: Any, **changes: Any) -> dict[str, Any]:
    """The form of ``url_name`` for ``obj`` as an administrator would see it, with changes."""
    view_class = resolve(reverse(url_name, args=[obj.pk])).func.view_class  # type: ignore[attr-defined]
    form = view_class.form_class(user=user, instance=obj)
    return {**form_payload(form), **changes}


# --- Helpers reading the database ---------------------------------------------------------


def _customer_alive(pk: int) -> bool:
    return Customer.all_objects.filter(pk=pk, deleted_at__isnull=True).exists()


def _contact_alive(pk: int) -> bool:
    return Contact.all_objects.filter(pk=pk, deleted_at__isnull=True).exists()


def _owner_and_team(ctx: Context) -> tuple[Any, Any]:
    customer = ctx.records.customer
    return customer.owner, customer.team


def _in_list(response: Any, text: str) -> Outcome:
    return Outcome(response.status_code, response.status_code == 200 and text in response.text)


# --- Web UI cases -------------------------------------------------------------------------


def _web_get(url_name: str, record: str | None = None) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        args = [getattr(ctx.records, record).pk] if record else []
        return _status_success(ctx.web.get(reverse(url_name, args=args)))

    return run


def _web_list(url_name: str, record: str) -> Callable[[Context], Outcome]:
    """Listed = the row's link to the record is on the page (the search box echoes the query)."""

    def run(ctx: Context) -> Outcome:
        obj = getattr(ctx.records, record)
        query = obj.external_id if record == "order" else str(obj)
        link = f'href="{reverse(f"{record}_detail", args=[obj.pk])}"'
        return _in_list(ctx.web.get(reverse(url_name), {"q": query}), link)

    return run


def web_customer_add(ctx: Context) -> Outcome:
    owner, team = _owner_and_team(ctx)
    data = edit_payload("customer_edit", ctx.records.customer, ctx.admin)
    data.update(name="Matrix new customer", external_id="", email="", owner=owner.pk, team=team.pk)
    ctx.web.post(reverse("customer_add"), data)
    created = Customer.objects.filter(name="Matrix new customer", owner=owner).exists()
    return Outcome(0, created)


def web_customer_edit(ctx: Context) -> Outcome:
    data = edit_payload("customer_edit", ctx.records.customer, ctx.admin, notes="matrix edit")
    response = ctx.web.post(reverse("customer_edit", args=[ctx.records.customer.pk]), data)
    changed = Customer.all_objects.get(pk=ctx.records.customer.pk).notes == "matrix edit"
    return Outcome(response.status_code, changed)


def web_customer_delete(ctx: Context) -> Outcome:
    pk = ctx.records.customer.pk
    response = ctx.web.post(reverse("customer_delete", args=[pk]))
    return Outcome(response.status_code, not _customer_alive(pk))


def web_customer_consent(ctx: Context) -> Outcome:
    pk = ctx.records.customer.pk
    data = {"channel": "email", "granted": "yes", "method": "verbal"}
    response = ctx.web.post(reverse("customer_consent", args=[pk]), data)
    return Outcome(response.status_code, CustomerConsent.objects.filter(customer_id=pk).exists())


def web_customer_restore(ctx: Context) -> Outcome:
    customer = ctx.records.customer
    customer_services.customer_delete(actor=ctx.admin, customer=customer)
    response = ctx.web.post(reverse("customer_restore", args=[customer.pk]))
    return Outcome(response.status_code, _customer_alive(customer.pk))


def web_trash_lists(ctx: Context) -> Outcome:
    customer = ctx.records.customer
    customer_services.customer_delete(actor=ctx.admin, customer=customer)
    link = reverse("customer_restore", args=[customer.pk])
    return _in_list(ctx.web.get(reverse("trash")), link)


def web_customer_erase(ctx: Context) -> Outcome:
    pk = ctx.records.customer.pk
    response = ctx.web.post(reverse("customer_erase", args=[pk]), {"reason": "matrix"})
    return Outcome(response.status_code, Customer.all_objects.get(pk=pk).erased_at is not None)


def web_contact_add(ctx: Context) -> Outcome:
    data = edit_payload("contact_edit", ctx.records.contact, ctx.admin)
    data.update(name="Matrix new contact", external_id="")
    ctx.web.post(reverse("contact_add"), data)
    return Outcome(0, Contact.objects.filter(name="Matrix new contact").exists())


def web_contact_edit(ctx: Context) -> Outcome:
    pk = ctx.records.contact.pk
    data = edit_payload("contact_edit", ctx.records.contact, ctx.admin, title="Matrix title")
    response = ctx.web.post(reverse("contact_edit", args=[pk]), data)
    return Outcome(response.status_code, Contact.all_objects.get(pk=pk).title == "Matrix title")


def web_contact_delete(ctx: Context) -> Outcome:
    pk = ctx.records.contact.pk
    response = ctx.web.post(reverse("contact_delete", args=[pk]))
    return Outcome(response.status_code, not _contact_alive(pk))


def web_contact_restore(ctx: Context) -> Outcome:
    contact = ctx.records.contact
    customer_services.contact_delete(actor=ctx.admin, contact=contact)
    response = ctx.web.post(reverse("contact_restore", args=[contact.pk]))
    return Outcome(response.status_code, _contact_alive(contact.pk))


def web_interaction_add(ctx: Context) -> Outcome:
    data = edit_payload("interaction_edit", ctx.records.interaction, ctx.admin)
    data.update(subject="Matrix new interaction")
    ctx.web.post(reverse("interaction_add"), data)
    return Outcome(0, Interaction.objects.filter(subject="Matrix new interaction").exists())


def web_interaction_edit(ctx: Context) -> Outcome:
    pk = ctx.records.interaction.pk
    data = edit_payload(
        "interaction_edit", ctx.records.interaction, ctx.admin, notes="matrix notes"
    )
    response = ctx.web.post(reverse("interaction_edit", args=[pk]), data)
    return Outcome(response.status_code, Interaction.objects.get(pk=pk).notes == "matrix notes")


def web_interaction_delete(ctx: Context) -> Outcome:
    pk = ctx.records.interaction.pk
    response = ctx.web.post(reverse("interaction_delete", args=[pk]))
    return Outcome(response.status_code, not Interaction.objects.filter(pk=pk).exists())


def web_product_add(ctx: Context) -> Outcome:
    data = edit_payload("product_edit", ctx.world.product, ctx.admin, sku="MATRIX-NEW")
    ctx.web.post(reverse("product_add"), data)
    return Outcome(0, Product.objects.filter(sku="MATRIX-NEW").exists())


def web_product_edit(ctx: Context) -> Outcome:
    product = ctx.world.product
    data = edit_payload("product_edit", product, ctx.admin, name="Matrix product")
    response = ctx.web.post(reverse("product_edit", args=[product.pk]), data)
    return Outcome(
        response.status_code, Product.objects.get(pk=product.pk).name == "Matrix product"
    )


def web_order_add(ctx: Context) -> Outcome:
    data = {
        "external_id": "MATRIX-ORDER",
        "customer": ctx.records.customer.pk,
        "ordered_at": "2026-01-05T10:00",
        "channel": "direct",
        "currency": "CNY",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": ctx.world.product.pk,
        "lines-0-quantity": "2",
        "lines-0-unit_price": "5.00",
    }
    ctx.web.post(reverse("order_add"), data)
    return Outcome(0, Order.objects.filter(external_id="MATRIX-ORDER").exists())


def web_order_reverse(ctx: Context) -> Outcome:
    order = ctx.records.order
    response = ctx.web.post(reverse("order_reverse", args=[order.pk]), {"reason": "matrix"})
    return Outcome(response.status_code, Order.objects.filter(reverses=order).exists())


def web_search(record: str) -> Callable[[Context], Outcome]:
    """Found by the global search = the record's link is among the hits."""

    def run(ctx: Context) -> Outcome:
        obj = getattr(ctx.records, record)
        query = obj.external_id if record == "order" else str(obj)
        link = f'href="{reverse(f"{record}_detail", args=[obj.pk])}"'
        return _in_list(ctx.web.get(reverse("search"), {"q": query}), link)

    return run


def web_customer_bulk_tag(ctx: Context) -> Outcome:
    """The list's bulk "add tag" on the selected record (HTMX), checked in the database."""
    pk = ctx.records.customer.pk
    data = {"_action": "bulk", "bulk": "add_tag", "selected": [pk], "add_tag-tag": "Matrix"}
    response = ctx.web.post(reverse("customer_list"), data, HTTP_HX_REQUEST="true")
    tagged = Customer.all_objects.filter(pk=pk, tags__name="Matrix").exists()
    return Outcome(response.status_code, tagged)


def web_customer_bulk_tag_all(ctx: Context) -> Outcome:
    """ "All matching" (filtered to the record): never reaches past the change scope."""
    customer = ctx.records.customer
    data = {"_action": "bulk", "bulk": "add_tag", "all_matching": "1", "add_tag-tag": "Matrix"}
    url = reverse("customer_list") + f"?q={customer.external_id}"
    response = ctx.web.post(url, data, HTTP_HX_REQUEST="true")
    tagged = Customer.all_objects.filter(pk=customer.pk, tags__name="Matrix").exists()
    return Outcome(response.status_code, tagged)


def web_customer_bulk_export(ctx: Context) -> Outcome:
    """Export of the selected row: the file holds the record only within export scope."""
    customer = ctx.records.customer
    data = {"_action": "bulk", "bulk": "export", "selected": [customer.pk]}
    response = ctx.web.post(reverse("customer_list"), data, HTTP_HX_REQUEST="true")
    target = response.get("HX-Redirect")
    if response.status_code != 204 or not target:
        return Outcome(response.status_code, False)
    download = ctx.web.get(target)
    if download.status_code != 200:
        return Outcome(download.status_code, False)
    chunks = download.streaming_content if download.streaming else [download.content]  # type: ignore[attr-defined]
    content = b"".join(chunks)
    return Outcome(download.status_code, str(customer.external_id) in content.decode("utf-8-sig"))


HIDDEN_CUSTOMER = ("customer", Action.VIEW)
HIDDEN_CONTACT = ("contact", Action.VIEW)
HIDDEN_INTERACTION = ("interaction", Action.VIEW)
HIDDEN_ORDER = ("order", Action.VIEW)

WEB_CASES: list[Case] = [
    Case("web", "home", "customer", Action.VIEW, _web_get("home"), per_distance=False),
    Case("web", "customer_list", "customer", Action.VIEW, _web_list("customer_list", "customer")),
    Case("web", "customer_detail", "customer", Action.VIEW, _web_get("customer_detail", "customer"), HIDDEN_CUSTOMER),
    Case("web", "customer_history", "customer", Action.VIEW, _web_get("customer_history", "customer"), HIDDEN_CUSTOMER),
    Case("web", "customer_add (page)", "customer", Action.ADD, _web_get("customer_add"), per_distance=False),
    Case("web", "customer_add", "customer", Action.ADD, web_customer_add),
    Case("web", "customer_edit (page)", "customer", Action.CHANGE, _web_get("customer_edit", "customer"), HIDDEN_CUSTOMER),
    Case("web", "customer_edit", "customer", Action.CHANGE, web_customer_edit, HIDDEN_CUSTOMER),
    Case("web", "customer_consent", "customer", Action.CHANGE, web_customer_consent, HIDDEN_CUSTOMER),
    Case("web", "customer_delete (page)", "customer", Action.DELETE, _web_get("customer_delete", "customer"), HIDDEN_CUSTOMER),
    Case("web", "customer_delete", "customer", Action.DELETE, web_customer_delete, HIDDEN_CUSTOMER),
    Case("web", "customer_restore", "customer", Action.RESTORE, web_customer_restore, ("customer", Action.RESTORE)),
    Case("web", "trash", "customer", Action.RESTORE, web_trash_lists),
    Case("web", "customer_erase (page)", "customer", Action.ERASE, _web_get("customer_erase", "customer"), HIDDEN_CUSTOMER),
    Case("web", "customer_erase", "customer", Action.ERASE, web_customer_erase, HIDDEN_CUSTOMER),
    Case("web", "contact_list", "contact", Action.VIEW, _web_list("contact_list", "contact")),
    Case("web", "contact_detail", "contact", Action.VIEW, _web_get("contact_detail", "contact"), HIDDEN_CONTACT),
    Case("web", "contact_history", "contact", Action.VIEW, _web_get("contact_history", "contact"), HIDDEN_CONTACT),
    Case("web", "contact_add", "contact", Action.ADD, web_contact_add),
    Case("web", "contact_edit (page)", "contact", Action.CHANGE, _web_get("contact_edit", "contact"), HIDDEN_CONTACT),
    Case("web", "contact_edit", "contact", Action.CHANGE, web_contact_edit, HIDDEN_CONTACT),
    Case("web", "contact_delete", "contact", Action.DELETE, web_contact_delete, HIDDEN_CONTACT),
    Case("web", "contact_restore", "contact", Action.RESTORE, web_contact_restore, ("contact", Action.RESTORE)),
    Case("web", "interaction_list", "interaction", Action.VIEW, _web_list("interaction_list", "interaction")),
    Case("web", "interaction_detail", "interaction", Action.VIEW, _web_get("interaction_detail", "interaction"), HIDDEN_INTERACTION),
    Case("web", "interaction_history", "interaction", Action.VIEW, _web_get("interaction_history", "interaction"), HIDDEN_INTERACTION),
    Case("web", "interaction_add", "interaction", Action.ADD, web_interaction_add),
    Case("web", "interaction_edit", "interaction", Action.CHANGE, web_interaction_edit, HIDDEN_INTERACTION),
    Case("web", "interaction_delete", "interaction", Action.DELETE, web_interaction_delete, HIDDEN_INTERACTION),
    Case("web", "order_list", "order", Action.VIEW, _web_list("order_list", "order")),
    Case("web", "order_detail", "order", Action.VIEW, _web_get("order_detail", "order"), HIDDEN_ORDER),
    Case("web", "order_history", "order", Action.VIEW, _web_get("order_history", "order"), HIDDEN_ORDER),
    Case("web", "order_add", "order", Action.ADD, web_order_add),
    Case("web", "order_reverse", "order", Action.REVERSE, web_order_reverse, HIDDEN_ORDER),
    Case("web", "product_list", "product", Action.VIEW, _web_get("product_list"), per_distance=False),
    Case("web", "product_add", "product", Action.ADD, web_product_add, per_distance=False),
    Case("web", "product_edit", "product", Action.CHANGE, web_product_edit, per_distance=False),
    Case("web", "search (customer)", "customer", Action.VIEW, web_search("customer")),
    Case("web", "search (contact)", "contact", Action.VIEW, web_search("contact")),
    Case("web", "search (order)", "order", Action.VIEW, web_search("order")),
    Case("web", "customer_list bulk tag", "customer", Action.CHANGE, web_customer_bulk_tag),
    Case("web", "customer_list bulk tag (all matching)", "customer", Action.CHANGE, web_customer_bulk_tag_all),
    Case("web", "customer_list bulk export", "customer", Action.EXPORT, web_customer_bulk_export),
]  # fmt: skip


# --- API cases ----------------------------------------------------------------------------


def _api_url(name: str, *args: Any) -> str:
    return reverse(f"api:{name}", args=args)


def _api_retrieve(basename: str, record: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        pk = getattr(ctx.records, record).pk
        return _status_success(ctx.api.get(_api_url(f"{basename}-detail", pk)))

    return run


def _api_get(name: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        return _status_success(ctx.api.get(_api_url(name)))

    return run


def _api_listed(basename: str, record: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        pk = getattr(ctx.records, record).pk
        response = ctx.api.get(_api_url(f"{basename}-list"), {"limit": 1000})
        ids = (
            {item["id"] for item in response.json()["results"]}
            if response.status_code == 200
            else set()
        )
        return Outcome(response.status_code, pk in ids)

    return run


def api_customer_create(ctx: Context) -> Outcome:
    owner, team = _owner_and_team(ctx)
    payload = {"name": "Matrix API customer", "owner": owner.pk, "team": team.pk}
    response = ctx.api.post(_api_url("customer-list"), payload, format="json")
    return _status_success(response, (201,))


def _api_patch(basename: str, record: str, field: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = getattr(ctx.records, record)
        url = _api_url(f"{basename}-detail", obj.pk)
        response = ctx.api.patch(url, {field: "matrix patch"}, format="json")
        changed = getattr(type(obj)._base_manager.get(pk=obj.pk), field) == "matrix patch"
        return Outcome(response.status_code, changed)

    return run


def _api_delete(basename: str, record: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = getattr(ctx.records, record)
        response = ctx.api.delete(_api_url(f"{basename}-detail", obj.pk))
        manager = type(obj)._base_manager
        gone = not manager.filter(pk=obj.pk).exists() or (
            getattr(manager.get(pk=obj.pk), "deleted_at", None) is not None
        )
        return Outcome(response.status_code, gone)

    return run


def api_customer_consent(ctx: Context) -> Outcome:
    pk = ctx.records.customer.pk
    payload = {"channel": "sms", "granted": True, "method": "written"}
    response = ctx.api.post(_api_url("customer-consent", pk), payload, format="json")
    return Outcome(response.status_code, CustomerConsent.objects.filter(customer_id=pk).exists())


def api_customer_history(ctx: Context) -> Outcome:
    return _status_success(ctx.api.get(_api_url("customer-history", ctx.records.customer.pk)))


def api_customer_restore(ctx: Context) -> Outcome:
    customer = ctx.records.customer
    customer_services.customer_delete(actor=ctx.admin, customer=customer)
    response = ctx.api.post(_api_url("customer-restore", customer.pk))
    return Outcome(response.status_code, _customer_alive(customer.pk))


def api_customer_trash(ctx: Context) -> Outcome:
    customer = ctx.records.customer
    customer_services.customer_delete(actor=ctx.admin, customer=customer)
    response = ctx.api.get(_api_url("customer-trash"), {"limit": 1000})
    ids = {i["id"] for i in response.json()["results"]} if response.status_code == 200 else set()
    return Outcome(response.status_code, customer.pk in ids)


def api_contact_restore(ctx: Context) -> Outcome:
    contact = ctx.records.contact
    customer_services.contact_delete(actor=ctx.admin, contact=contact)
    response = ctx.api.post(_api_url("contact-restore", contact.pk))
    return Outcome(response.status_code, _contact_alive(contact.pk))


def api_customer_erase(ctx: Context) -> Outcome:
    pk = ctx.records.customer.pk
    response = ctx.api.post(
        _api_url("customer-erase-erase", pk), {"reason": "matrix"}, format="json"
    )
    return Outcome(response.status_code, Customer.all_objects.get(pk=pk).erased_at is not None)


def api_contact_create(ctx: Context) -> Outcome:
    payload = {"customer": ctx.records.customer.pk, "name": "Matrix API contact"}
    return _status_success(ctx.api.post(_api_url("contact-list"), payload, format="json"), (201,))


def api_interaction_create(ctx: Context) -> Outcome:
    payload = {"customer": ctx.records.customer.pk, "channel": "phone", "subject": "Matrix call"}
    response = ctx.api.post(_api_url("interaction-list"), payload, format="json")
    return _status_success(response, (201,))


def api_order_create(ctx: Context) -> Outcome:
    payload = {
        "external_id": "MATRIX-API-ORDER",
        "customer": ctx.records.customer.pk,
        "lines": [{"product": ctx.world.product.pk, "quantity": "1", "unit_price": "3.00"}],
    }
    response = ctx.api.post(_api_url("order-list"), payload, format="json")
    return Outcome(
        response.status_code, Order.objects.filter(external_id="MATRIX-API-ORDER").exists()
    )


def api_order_reverse(ctx: Context) -> Outcome:
    order = ctx.records.order
    response = ctx.api.post(
        _api_url("order-reverse", order.pk), {"reason": "matrix"}, format="json"
    )
    return Outcome(response.status_code, Order.objects.filter(reverses=order).exists())


def api_order_update_refused(ctx: Context) -> Outcome:
    """Orders are facts: no role may edit or delete one (expected: never a success)."""
    order = ctx.records.order
    url = _api_url("order-detail", order.pk)
    patch = ctx.api.patch(url, {"channel": "online"}, format="json")
    delete = ctx.api.delete(url)
    stored = Order.objects.filter(pk=order.pk, channel=order.channel).exists()
    return Outcome(max(patch.status_code, delete.status_code), not stored)


def api_change_log(ctx: Context) -> Outcome:
    """The customer's history entries are listed iff the customer is visible."""
    customer = ctx.records.customer
    customer_services.customer_update(actor=ctx.admin, customer=customer, data={"city": "Matrix"})
    response = ctx.api.get(_api_url("changerecord-list"), {"customer": customer.pk, "limit": 1000})
    listed = response.status_code == 200 and any(
        e["object_id"] == str(customer.pk) for e in response.json()["results"]
    )
    return Outcome(response.status_code, listed)


def api_product_create(ctx: Context) -> Outcome:
    payload = {"sku": "MATRIX-API", "name": "Matrix", "list_price": "1.00"}
    return _status_success(ctx.api.post(_api_url("product-list"), payload, format="json"), (201,))


def api_product_update(ctx: Context) -> Outcome:
    product = ctx.world.product
    response = ctx.api.patch(
        _api_url("product-detail", product.pk), {"name": "Matrix API"}, format="json"
    )
    return Outcome(response.status_code, Product.objects.get(pk=product.pk).name == "Matrix API")


def api_search(record: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = getattr(ctx.records, record)
        query = obj.external_id if record == "order" else str(obj)
        response = ctx.api.get(_api_url("search"), {"q": query})
        url = reverse(f"{record}_detail", args=[obj.pk])
        found = response.status_code == 200 and any(
            hit["url"] == url for group in response.json() for hit in group["hits"]
        )
        return Outcome(response.status_code, found)

    return run


API_CASES: list[Case] = [
    Case("api", "customer list", "customer", Action.VIEW, _api_listed("customer", "customer")),
    Case("api", "customer retrieve", "customer", Action.VIEW, _api_retrieve("customer", "customer"), HIDDEN_CUSTOMER),
    Case("api", "customer create", "customer", Action.ADD, api_customer_create),
    Case("api", "customer update", "customer", Action.CHANGE, _api_patch("customer", "customer", "notes"), HIDDEN_CUSTOMER),
    Case("api", "customer destroy", "customer", Action.DELETE, _api_delete("customer", "customer"), HIDDEN_CUSTOMER),
    Case("api", "customer consent", "customer", Action.CHANGE, api_customer_consent, HIDDEN_CUSTOMER),
    Case("api", "customer history", "customer", Action.VIEW, api_customer_history, HIDDEN_CUSTOMER),
    Case("api", "customer trash", "customer", Action.RESTORE, api_customer_trash),
    Case("api", "customer restore", "customer", Action.RESTORE, api_customer_restore, ("customer", Action.RESTORE)),
    Case("api", "customer erase", "customer", Action.ERASE, api_customer_erase, HIDDEN_CUSTOMER),
    Case("api", "change-log list", "customer", Action.VIEW, api_change_log),
    Case("api", "contact list", "contact", Action.VIEW, _api_listed("contact", "contact")),
    Case("api", "contact retrieve", "contact", Action.VIEW, _api_retrieve("contact", "contact"), HIDDEN_CONTACT),
    Case("api", "contact create", "contact", Action.ADD, api_contact_create),
    Case("api", "contact update", "contact", Action.CHANGE, _api_patch("contact", "contact", "title"), HIDDEN_CONTACT),
    Case("api", "contact destroy", "contact", Action.DELETE, _api_delete("contact", "contact"), HIDDEN_CONTACT),
    Case("api", "contact restore", "contact", Action.RESTORE, api_contact_restore, ("contact", Action.RESTORE)),
    Case("api", "interaction list", "interaction", Action.VIEW, _api_listed("interaction", "interaction")),
    Case("api", "interaction retrieve", "interaction", Action.VIEW, _api_retrieve("interaction", "interaction"), HIDDEN_INTERACTION),
    Case("api", "interaction create", "interaction", Action.ADD, api_interaction_create),
    Case("api", "interaction update", "interaction", Action.CHANGE, _api_patch("interaction", "interaction", "notes"), HIDDEN_INTERACTION),
    Case("api", "interaction destroy", "interaction", Action.DELETE, _api_delete("interaction", "interaction"), HIDDEN_INTERACTION),
    Case("api", "order list", "order", Action.VIEW, _api_listed("order", "order")),
    Case("api", "order retrieve", "order", Action.VIEW, _api_retrieve("order", "order"), HIDDEN_ORDER),
    Case("api", "order create", "order", Action.ADD, api_order_create),
    Case("api", "order reverse", "order", Action.REVERSE, api_order_reverse, HIDDEN_ORDER),
    Case("api", "order update/destroy", "order", "never", api_order_update_refused, HIDDEN_ORDER),
    Case("api", "product list", "product", Action.VIEW, _api_get("product-list"), per_distance=False),
    Case("api", "product create", "product", Action.ADD, api_product_create, per_distance=False),
    Case("api", "product update", "product", Action.CHANGE, api_product_update, per_distance=False),
    Case("api", "search (customer)", "customer", Action.VIEW, api_search("customer")),
    Case("api", "search (order)", "order", Action.VIEW, api_search("order")),
]  # fmt: skip


# --- Notes, tasks and the customer 360 (the records are made here, owned like the customer) ---


def _note(ctx: Context) -> Note:
    owner = ctx.records.customer.owner
    return Note.objects.create(
        customer=ctx.records.customer, body=f"Matrix note {ctx.distance}", author=owner
    )


def _task(ctx: Context) -> Task:
    owner = ctx.records.customer.owner
    return Task.objects.create(
        customer=ctx.records.customer,
        title=f"Matrix task {ctx.distance}",
        assignee=owner,
        created_by=owner,
    )


def _make(kind: str) -> Callable[[Context], Any]:
    return _note if kind == "note" else _task


def _web_activity_get(kind: str, url_name: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = _make(kind)(ctx)
        return _status_success(ctx.web.get(reverse(url_name, args=[obj.pk])))

    return run


def _web_activity_listed(kind: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = _make(kind)(ctx)
        link = f'href="{reverse(f"{kind}_detail", args=[obj.pk])}"'
        return _in_list(ctx.web.get(reverse(f"{kind}_list"), {"q": f"Matrix {kind}"}), link)

    return run


def web_note_edit(ctx: Context) -> Outcome:
    note = _note(ctx)
    response = ctx.web.post(reverse("note_edit", args=[note.pk]), {"body": "matrix edit"})
    return Outcome(response.status_code, Note.objects.get(pk=note.pk).body == "matrix edit")


def web_task_complete(ctx: Context) -> Outcome:
    task = _task(ctx)
    response = ctx.web.post(reverse("task_complete", args=[task.pk]))
    return Outcome(response.status_code, Task.objects.get(pk=task.pk).done)


def _web_activity_delete(kind: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = _make(kind)(ctx)
        response = ctx.web.post(reverse(f"{kind}_delete", args=[obj.pk]))
        return Outcome(response.status_code, not type(obj).objects.filter(pk=obj.pk).exists())

    return run


def _web_quick(
    url_name: str, payload: dict[str, str], made: Callable[[], bool]
) -> Callable[[Context], Outcome]:
    """A quick action of the customer 360, posted as HTMX does."""

    def run(ctx: Context) -> Outcome:
        url = reverse(url_name, args=[ctx.records.customer.pk])
        response = ctx.web.post(url, payload, HTTP_HX_REQUEST="true")
        return Outcome(response.status_code, response.status_code == 200 and made())

    return run


def web_customer_owner(ctx: Context) -> Outcome:
    """Change owner (to the current owner: the form's default); success is the redirect."""
    customer = ctx.records.customer
    response = ctx.web.post(
        reverse("customer_owner", args=[customer.pk]), {"owner": customer.owner_id}
    )
    return Outcome(response.status_code, response.status_code == 302)


def _api_activity_listed(kind: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = _make(kind)(ctx)
        response = ctx.api.get(_api_url(f"{kind}-list"), {"limit": 1000})
        ids = (
            {i["id"] for i in response.json()["results"]} if response.status_code == 200 else set()
        )
        return Outcome(response.status_code, obj.pk in ids)

    return run


def _api_activity_retrieve(kind: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = _make(kind)(ctx)
        return _status_success(ctx.api.get(_api_url(f"{kind}-detail", obj.pk)))

    return run


def _api_activity_create(kind: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        field = "body" if kind == "note" else "title"
        payload = {"customer": ctx.records.customer.pk, field: f"Matrix API {kind}"}
        return _status_success(
            ctx.api.post(_api_url(f"{kind}-list"), payload, format="json"), (201,)
        )

    return run


def _api_activity_patch(kind: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = _make(kind)(ctx)
        field = "body" if kind == "note" else "notes"
        url = _api_url(f"{kind}-detail", obj.pk)
        response = ctx.api.patch(url, {field: "matrix patch"}, format="json")
        changed = getattr(type(obj).objects.get(pk=obj.pk), field) == "matrix patch"
        return Outcome(response.status_code, changed)

    return run


def _api_activity_delete(kind: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        obj = _make(kind)(ctx)
        response = ctx.api.delete(_api_url(f"{kind}-detail", obj.pk))
        return Outcome(response.status_code, not type(obj).objects.filter(pk=obj.pk).exists())

    return run


HIDDEN_NOTE = ("note", Action.VIEW)
HIDDEN_TASK = ("task", Action.VIEW)

ACTIVITY_WEB_CASES: list[Case] = [
    Case("web", "customer_timeline", "customer", Action.VIEW, _web_get("customer_timeline", "customer"), HIDDEN_CUSTOMER),
    Case("web", "customer_owner (page)", "customer", Action.CHANGE, _web_get("customer_owner", "customer"), HIDDEN_CUSTOMER),
    Case("web", "customer_owner", "customer", Action.CHANGE, web_customer_owner, HIDDEN_CUSTOMER),
    Case("web", "customer_quick_interaction", "interaction", Action.ADD, _web_quick("customer_quick_interaction", {"channel": "phone", "direction": "outbound", "subject": "Matrix quick"}, lambda: Interaction.objects.filter(subject="Matrix quick").exists()), HIDDEN_CUSTOMER),
    Case("web", "customer_quick_note", "note", Action.ADD, _web_quick("customer_quick_note", {"body": "Matrix quick"}, lambda: Note.objects.filter(body="Matrix quick").exists()), HIDDEN_CUSTOMER),
    Case("web", "customer_quick_task", "task", Action.ADD, _web_quick("customer_quick_task", {"title": "Matrix quick"}, lambda: Task.objects.filter(title="Matrix quick").exists()), HIDDEN_CUSTOMER),
    Case("web", "note_list", "note", Action.VIEW, _web_activity_listed("note")),
    Case("web", "note_detail", "note", Action.VIEW, _web_activity_get("note", "note_detail"), HIDDEN_NOTE),
    Case("web", "note_history", "note", Action.VIEW, _web_activity_get("note", "note_history"), HIDDEN_NOTE),
    Case("web", "note_edit", "note", Action.CHANGE, web_note_edit, HIDDEN_NOTE),
    Case("web", "note_delete", "note", Action.DELETE, _web_activity_delete("note"), HIDDEN_NOTE),
    Case("web", "task_list", "task", Action.VIEW, _web_activity_listed("task")),
    Case("web", "task_mine", "task", Action.VIEW, _web_get("task_mine"), per_distance=False),
    Case("web", "task_detail", "task", Action.VIEW, _web_activity_get("task", "task_detail"), HIDDEN_TASK),
    Case("web", "task_edit (page)", "task", Action.CHANGE, _web_activity_get("task", "task_edit"), HIDDEN_TASK),
    Case("web", "task_complete", "task", Action.CHANGE, web_task_complete, HIDDEN_TASK),
    Case("web", "task_delete", "task", Action.DELETE, _web_activity_delete("task"), HIDDEN_TASK),
]  # fmt: skip

ACTIVITY_API_CASES: list[Case] = [
    case
    for kind, hidden in (("note", HIDDEN_NOTE), ("task", HIDDEN_TASK))
    for case in (
        Case("api", f"{kind} list", kind, Action.VIEW, _api_activity_listed(kind)),
        Case("api", f"{kind} retrieve", kind, Action.VIEW, _api_activity_retrieve(kind), hidden),
        Case("api", f"{kind} create", kind, Action.ADD, _api_activity_create(kind)),
        Case("api", f"{kind} update", kind, Action.CHANGE, _api_activity_patch(kind), hidden),
        Case("api", f"{kind} destroy", kind, Action.DELETE, _api_activity_delete(kind), hidden),
    )
]


# --- Admin cases: the admin is one more read path -----------------------------------------


def admin_customer_changelist(ctx: Context) -> Outcome:
    response = ctx.web.get(reverse("admin:customers_customer_changelist"))
    return _in_list(response, str(ctx.records.customer))


def admin_customer_change_page(ctx: Context) -> Outcome:
    customer = ctx.records.customer
    response = ctx.web.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    return _in_list(response, str(customer))


def admin_order_changelist(ctx: Context) -> Outcome:
    response = ctx.web.get(reverse("admin:sales_order_changelist"))
    return _in_list(response, ctx.records.order.external_id)


ADMIN_CASES: list[Case] = [
    Case("admin", "customer changelist", "customer", Action.VIEW, admin_customer_changelist),
    Case("admin", "customer change page", "customer", Action.VIEW, admin_customer_change_page),
    Case("admin", "order changelist", "order", Action.VIEW, admin_order_changelist),
]

ALL_CASES = WEB_CASES + ACTIVITY_WEB_CASES + API_CASES + ACTIVITY_API_CASES + ADMIN_CASES


def _expected(case: Case, role: str, distance: str | None) -> bool:
    if case.action == "never":
        return False
    return covers(role, case.object_type, case.action, distance)


def expected_somewhere(case: Case, role: str) -> bool:
    """Whether the role may do the case's action on any record at all."""
    return case.action != "never" and covers(role, case.object_type, case.action, None)


@pytest.mark.parametrize("role", Role.values)
def test_permission_matrix(world: World, role: str, record_property: Any) -> None:
    user = world.users[role]
    user.is_staff = True  # the admin is a read path like any other: scope still applies
    user.save(update_fields=["is_staff"])
    web, api = Client(), APIClient()
    web.force_login(user)
    api.force_authenticate(user)

    surprises: list[str] = []
    count = 0
    for case in ALL_CASES:
        for distance in DISTANCES if case.per_distance else ("own",):
            ctx = Context(world, role, user, web, api, world.records_for(role)[distance], distance)
            expected = _expected(case, role, distance if case.per_distance else None)
            with transaction.atomic():
                outcome = case.run(ctx)
                transaction.set_rollback(True)
            count += 1
            label = f"{case.channel} {case.name} as {role} on {distance}"
            actual = outcome.success
            if actual != expected:
                kind = "UNEXPECTED SUCCESS" if actual else "unexpected refusal"
                surprises.append(f"{kind}: {label} (status {outcome.status})")
            elif not actual and case.hidden_unless and expected_somewhere(case, role):
                # A role without the action at all is refused the same way for every id
                # (403/405), which reveals nothing; otherwise a hidden record must be a 404.
                hidden = not covers(role, *case.hidden_unless, distance)
                if hidden and outcome.status != 404:
                    surprises.append(f"not a 404: {label} (status {outcome.status})")

    record_property("cases", count)
    assert not surprises, "\n".join(surprises)
    assert count == sum(3 if c.per_distance else 1 for c in ALL_CASES)
