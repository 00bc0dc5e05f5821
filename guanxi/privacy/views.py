"""Privacy pages: the administrator's "erase personal data" action on a customer.

It lives here, above the domain apps, because the erase reaches into all of them.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.permissions import Action
from guanxi.core.views import ObjectActionView, ReasonForm
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.models import Customer

from .services import customer_erase


class CustomerEraseForm(ReasonForm):
    """The reason is required and kept in the erasure receipt (e.g. the request's id)."""


class CustomerEraseView(ObjectActionView):
    """Confirm with a reason, then remove the customer's personal data everywhere."""

    model = Customer
    selector = customer_selectors.customer_list
    action = Action.ERASE
    form_class = CustomerEraseForm
    template_name = "privacy/customer_erase.html"
    title = gettext_lazy("Erase personal data")
    button_label = gettext_lazy("Erase personal data")
    button_class = "btn-danger"

    def perform(self, obj: Customer, form: CustomerEraseForm) -> Any:
        return customer_erase(
            actor=self.request.user, customer=obj, reason=form.cleaned_data["reason"]
        )

    def success_message(self, obj: Customer, result: Any) -> str:
        return _("The personal data of customer #%(id)s was erased.") % {"id": obj.pk}
