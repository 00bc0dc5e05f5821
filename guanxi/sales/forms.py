"""Forms of the catalogue and order pages. They check input types; services validate."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.core.forms import ServiceModelForm, limit_choices
from guanxi.customers import selectors as customer_selectors

from . import selectors
from .models import Order, Product
from .services import ORDER_FIELDS, PRODUCT_EDITABLE


class ProductForm(ServiceModelForm):
    """A catalogue entry."""

    class Meta:
        model = Product
        fields = PRODUCT_EDITABLE


class OrderLineForm(forms.Form):
    """One line: a product (or a description), a quantity and a unit price."""

    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=12, decimal_places=3, initial=1)
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("Empty: the product's list price."),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_choices(self, "product", selectors.product_list(user=user).filter(is_active=True))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        product = data.get("product")
        if product is None and not data.get("description"):
            raise forms.ValidationError(_("Choose a product or describe the line."))
        if data.get("unit_price") is None:
            if product is None:
                self.add_error("unit_price", _("Give a unit price for a line without product."))
            else:
                data["unit_price"] = product.list_price
        return data

    def service_line(self) -> dict[str, Any]:
        data = self.cleaned_data
        line = {"quantity": data["quantity"], "unit_price": data["unit_price"]}
        if data.get("product") is not None:
            line["product"] = data["product"]
        if data.get("description"):
            line["description"] = data["description"]
        return line


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, extra=3, min_num=1, validate_min=True, max_num=200, validate_max=True
)


class OrderForm(ServiceModelForm):
    """The order header; :attr:`lines` is the formset of its lines, validated with it."""

    class Meta:
        model = Order
        fields = ORDER_FIELDS

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        limit_choices(
            self,
            "customer",
            customer_selectors.customer_list(user=user).select_related(None).only("pk", "name"),
        )
        if not self.is_bound:
            self.initial.setdefault("external_id", f"WEB-{uuid.uuid4().hex[:10].upper()}")
        self.lines = OrderLineFormSet(
            self.data if self.is_bound else None, prefix="lines", form_kwargs={"user": user}
        )

    def is_valid(self) -> bool:
        header_ok = super().is_valid()
        return self.lines.is_valid() and header_ok

    def service_lines(self) -> list[dict[str, Any]]:
        return [
            form.service_line()
            for form in self.lines.forms
            if form.has_changed() and form.cleaned_data
        ]


class OrderReverseForm(forms.Form):
    """Why the order is reversed (kept in the change log)."""

    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
