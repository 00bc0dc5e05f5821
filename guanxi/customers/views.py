"""Customer and contact pages: lists, the customer 360, forms, delete, restore, history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.models import ChangeRecord
from guanxi.core.permissions import Action
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

from . import selectors, services
from .choices import ConsentChannel
from .filtersets import ContactFilterSet, CustomerFilterSet
from .forms import ConsentForm, ContactForm, CustomerForm
from .models import Contact, Customer, CustomFieldDefinition
from .tables import ContactTable, CustomerTable

# --- Customers ----------------------------------------------------------------------------


class CustomerListView(ObjectListView):
    model = Customer
    selector = selectors.customer_list
    filterset_class = CustomerFilterSet
    table_class = CustomerTable
    filter_fields = (
        "q", "kind", "market", "qualification_status", "province", "city", "owner", "team",
        "tag", "credit_rating",
    )  # fmt: skip


class CustomerDetailView(ObjectDetailView):
    """The customer 360: profile, qualification, credit, consent, contacts, and app panels."""

    model = Customer
    selector = selectors.customer_list
    template_name = "customers/customer_detail.html"
    object_actions = (Action.CHANGE, Action.DELETE, Action.ERASE)

    def extra_context(self, obj: Customer) -> dict[str, Any]:
        user = self.request.user
        consents = {c.channel: c for c in obj.consents.all()}
        definitions = {d.name: d for d in CustomFieldDefinition.objects.all()}
        return {
            "contacts": selectors.contact_list(user=user).filter(customer=obj),
            "consents": [(label, consents.get(value)) for value, label in ConsentChannel.choices],
            "consent_form": ConsentForm(user=user),
            "tags": list(obj.tags.all()),
            "custom_values": [
                (definitions[k].label if k in definitions else k, v)
                for k, v in sorted((obj.custom_fields or {}).items())
            ],
            "history_url": reverse("customer_history", args=[obj.pk]),
        }


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
