"""Customer and contact pages: lists, the customer 360, forms, delete, restore, history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from guanxi.core.models import ChangeRecord
from guanxi.core.permissions import Action, allows
from guanxi.core.timeline import (
    TIMELINE_TEMPLATE,
    Cursor,
    QuickAction,
    QuickActionView,
    customer_timeline,
    quick_actions_for,
    register_quick_action,
    timeline_context,
    timeline_kinds,
)
from guanxi.core.views import (
    HomeCard,
    ObjectActionView,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectHistoryView,
    ObjectListView,
    ObjectRestoreView,
    TrashSection,
    register_home_card,
    register_trash_section,
)

from . import bulk, selectors, services
from .choices import ConsentChannel
from .filtersets import ContactFilterSet, CustomerFilterSet
from .forms import ConsentForm, ContactForm, CustomerForm, CustomerOwnerForm
from .models import Contact, Customer, CustomFieldDefinition
from .tables import ContactTable, CustomerTable

# --- Customers ----------------------------------------------------------------------------


class CustomerListView(ObjectListView):
    model = Customer
    selector = selectors.customer_list
    filterset_class = CustomerFilterSet
    table_class = CustomerTable
    bulk_actions = bulk.CUSTOMER_BULK_ACTIONS
    filter_fields = (
        "q", "kind", "market", "qualification_status", "province", "city", "owner", "team",
        "tag", "credit_rating",
    )  # fmt: skip


class CustomerDetailView(ObjectDetailView):
    """The customer 360: profile, qualification, credit, contacts, the value panel, the
    timeline of everything that happened, and quick actions.

    The number of queries is constant: every list on the page is a bounded, indexed read
    (the timeline one page of one query per source; see :mod:`guanxi.core.timeline`).
    """

    model = Customer
    selector = selectors.customer_list
    template_name = "customers/customer_detail.html"
    object_actions = (Action.CHANGE, Action.DELETE, Action.ERASE)

    def extra_context(self, obj: Customer) -> dict[str, Any]:
        user = self.request.user
        consents = {c.channel: c for c in obj.consents.all()}
        definitions = {d.name: d for d in CustomFieldDefinition.objects.all()}
        try:
            after = _timeline_cursor(self.request)
        except ValueError:
            after = None
        kind = _timeline_kind(self.request)
        page = customer_timeline(user=user, customer=obj, after=after, kind=kind)
        return {
            "contacts": selectors.contact_list(user=user)
            .filter(customer=obj)
            .select_related(None)
            .order_by("-is_primary", "name", "id")[:CONTACTS_SHOWN],
            "consents": [(label, consents.get(value)) for value, label in ConsentChannel.choices],
            "consent_form": ConsentForm(user=user),
            "tags": list(obj.tags.all()),
            "custom_values": [
                (definitions[k].label if k in definitions else k, v)
                for k, v in sorted((obj.custom_fields or {}).items())
            ],
            "history_url": reverse("customer_history", args=[obj.pk]),
            "quick_actions": quick_actions_for(user, obj),
            **timeline_context(self.request, obj, page),
        }


#: Contacts listed on the customer 360 (the contact list has them all).
CONTACTS_SHOWN = 20


def _timeline_cursor(request: HttpRequest) -> Cursor | None:
    token = request.GET.get("after", "")
    return Cursor.parse(token) if token else None


def _timeline_kind(request: HttpRequest) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in {k for k, _label in timeline_kinds()} else ""


class CustomerTimelineView(LoginRequiredMixin, View):
    """One page of the customer's timeline (HTMX "load more" and the kind filter).

    With ``after`` (a cursor) it answers the next entries only; without, the whole block.
    """

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(selectors.customer_list(user=request.user), pk=pk)
        try:
            after = _timeline_cursor(request)
        except ValueError as error:
            return HttpResponseBadRequest(
                _("The timeline position is not valid: %(error)s.") % {"error": error}
            )
        page = customer_timeline(
            user=request.user, customer=customer, after=after, kind=_timeline_kind(request)
        )
        context = timeline_context(request, customer, page)
        if after is not None:
            context["more_page"] = True
            return TemplateResponse(request, "includes/timeline_items.html", context)
        return TemplateResponse(request, TIMELINE_TEMPLATE, context)


class CustomerOwnerView(QuickActionView):
    """Change the customer's owner (the relationship manager), a quick action of the 360.

    Offered to users who may change this customer, with the owners they may choose.
    """

    name = "owner"
    title = gettext_lazy("Change owner")

    def get_customer(self, pk: int) -> Customer:
        return get_object_or_404(selectors.customer_list(user=self.request.user), pk=pk)

    def get_form(self, customer: Customer, data: Any = None) -> CustomerOwnerForm | None:
        return _owner_form(self.request.user, customer, data)

    def perform(self, customer: Customer, form: CustomerOwnerForm) -> Customer:
        owner = form.cleaned_data["owner"]
        changed = services.customer_assign_owner(
            actor=self.request.user, customer=customer, owner=owner
        )
        return changed or customer

    def extra_oob(self, customer: Customer) -> str:
        return render_to_string(
            "customers/customer_relationship.html",
            {"object": customer, "tags": list(customer.tags.all()), "oob": True},
            request=self.request,
        )

    def success_message(self, customer: Customer, result: Customer) -> str:
        return _("%(customer)s is now owned by %(owner)s.") % {
            "customer": result,
            "owner": result.owner,
        }


def _owner_form(user: Any, customer: Customer, data: Any = None) -> CustomerOwnerForm | None:
    # In memory (no query): the customer's owner and team decide; the service checks again.
    if customer.erased_at is not None or not allows(user, customer, Action.CHANGE):
        return None
    return CustomerOwnerForm(data, user=user, customer=customer)


register_quick_action(
    QuickAction(
        "owner",
        gettext_lazy("Change owner"),
        "customer_owner",
        lambda user, customer: _owner_form(user, customer),
        order=90,
    )
)


class CustomerEditView(ObjectEditView):
    model = Customer
    selector = selectors.customer_list
    form_class = CustomerForm
    template_name = "customers/customer_form.html"

    def get_initial(self) -> dict[str, Any]:
        user: Any = self.request.user
        return {"owner": user.pk, "team": user.team_id}

    def create(self, form: CustomerForm) -> Customer:
        return services.customer_create(
            actor=self.request.user, data=form.service_data(), tags=form.tag_names()
        )

    def update(self, obj: Customer, form: CustomerForm) -> Customer:
        return services.customer_update(
            actor=self.request.user, customer=obj, data=form.service_data(), tags=form.tag_names()
        )


class CustomerDeleteView(ObjectDeleteView):
    model = Customer
    selector = selectors.customer_list

    def perform(self, obj: Customer, form: Any) -> None:
        services.customer_delete(actor=self.request.user, customer=obj)


class CustomerConsentView(ObjectActionView):
    """Record consent on one channel (the form also sits on the customer page)."""

    model = Customer
    selector = selectors.customer_list
    action = Action.CHANGE
    form_class = ConsentForm
    title = gettext_lazy("Record consent")
    button_label = gettext_lazy("Record consent")

    def perform(self, obj: Customer, form: ConsentForm) -> Any:
        data = form.cleaned_data
        return services.customer_set_consent(
            actor=self.request.user,
            customer=obj,
            channel=data["channel"],
            granted=data["granted"],
            method=data["method"],
            note=data["note"],
        )

    def success_message(self, obj: Customer, result: Any) -> str:
        return _("Consent recorded: %(consent)s.") % {"consent": result}


class CustomerHistoryView(ObjectHistoryView):
    model = Customer
    selector = selectors.customer_list

    def get_history(self, obj: Customer) -> QuerySet[ChangeRecord]:
        # The customer's history spans its contacts, orders and interactions.
        return selectors.customer_history(user=self.request.user, customer=obj)


class CustomerRestoreView(ObjectRestoreView):
    trash_selector = selectors.customer_trash

    def restore(self, obj: Customer) -> Any:
        return services.customer_restore(actor=self.request.user, customer=obj)


# --- Contacts -----------------------------------------------------------------------------


class ContactListView(ObjectListView):
    model = Contact
    selector = selectors.contact_list
    filterset_class = ContactFilterSet
    table_class = ContactTable
    filter_fields = ("q", "buying_role", "stance", "is_primary")


class ContactDetailView(ObjectDetailView):
    model = Contact
    selector = selectors.contact_list
    detail_fields = (
        "customer", "title", "email", "phone", "buying_role", "stance", "is_primary",
        "external_id", "notes", "created_at", "updated_at",
    )  # fmt: skip

    def extra_context(self, obj: Contact) -> dict[str, Any]:
        return {"history_url": reverse("contact_history", args=[obj.pk])}


class ContactEditView(ObjectEditView):
    model = Contact
    selector = selectors.contact_list
    form_class = ContactForm

    def get_initial(self) -> dict[str, Any]:
        return {"customer": self.request.GET.get("customer")}

    def create(self, form: ContactForm) -> Contact:
        return services.contact_create(actor=self.request.user, data=form.service_data())

    def update(self, obj: Contact, form: ContactForm) -> Contact:
        return services.contact_update(
            actor=self.request.user, contact=obj, data=form.service_data()
        )


class ContactDeleteView(ObjectDeleteView):
    model = Contact
    selector = selectors.contact_list

    def perform(self, obj: Contact, form: Any) -> None:
        services.contact_delete(actor=self.request.user, contact=obj)


class ContactHistoryView(ObjectHistoryView):
    model = Contact
    selector = selectors.contact_list


class ContactRestoreView(ObjectRestoreView):
    trash_selector = selectors.contact_trash

    def restore(self, obj: Contact) -> Any:
        return services.contact_restore(actor=self.request.user, contact=obj)


# --- What this app adds to the shell ------------------------------------------------------

register_home_card(
    HomeCard(
        "customer",
        gettext_lazy("Customers"),
        "customer_list",
        lambda user: selectors.customer_list(user=user).count(),
        order=10,
    )
)
register_home_card(
    HomeCard(
        "contact",
        gettext_lazy("Contacts"),
        "contact_list",
        lambda user: selectors.contact_list(user=user).count(),
        order=20,
    )
)
register_trash_section(
    TrashSection(
        "customer",
        gettext_lazy("Customers"),
        lambda user: selectors.customer_trash(user=user),
        "customer_restore",
        order=10,
    )
)
register_trash_section(
    TrashSection(
        "contact",
        gettext_lazy("Contacts"),
        lambda user: selectors.contact_trash(user=user).select_related("customer"),
        "contact_restore",
        describe=lambda c: f"{c.name} ({c.customer.name})",
        order=20,
    )
)
