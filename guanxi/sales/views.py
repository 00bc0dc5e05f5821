"""Product and order pages. Orders are never edited: a mistake is corrected by a reversal."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.permissions import Action, has_permission
from guanxi.core.search import SearchProvider, register_search_provider
from guanxi.core.views import (
    DetailPanel,
    HomeCard,
    ObjectActionView,
    ObjectDetailView,
    ObjectEditView,
    ObjectHistoryView,
    ObjectListView,
    register_detail_panel,
    register_home_card,
)

from . import search, selectors, services
from .choices import OrderKind
from .filtersets import OrderFilterSet, ProductFilterSet
from .forms import OrderForm, OrderReverseForm, ProductForm
from .models import Order, Product
from .tables import OrderTable, ProductTable

# --- Products -----------------------------------------------------------------------------


class ProductListView(ObjectListView):
    model = Product
    selector = selectors.product_list
    filterset_class = ProductFilterSet
    table_class = ProductTable
    filter_fields = ("q", "category", "is_active", "currency")


class ProductDetailView(ObjectDetailView):
    model = Product
    selector = selectors.product_list
    object_actions = (Action.CHANGE,)
    detail_fields = (
        "sku", "name", "category", "list_price", "unit_cost", "currency", "is_active",
        "created_at", "updated_at",
    )  # fmt: skip

    def extra_context(self, obj: Product) -> dict[str, Any]:
        return {"history_url": reverse("product_history", args=[obj.pk])}


class ProductEditView(ObjectEditView):
    model = Product
    selector = selectors.product_list
    form_class = ProductForm

    def create(self, form: ProductForm) -> Product:
        return services.product_create(actor=self.request.user, data=form.service_data())

    def update(self, obj: Product, form: ProductForm) -> Product:
        return services.product_update(
            actor=self.request.user, product=obj, data=form.service_data()
        )


class ProductHistoryView(ObjectHistoryView):
    model = Product
    selector = selectors.product_list


# --- Orders -------------------------------------------------------------------------------


class OrderListView(ObjectListView):
    model = Order
    selector = selectors.order_list
    filterset_class = OrderFilterSet
    table_class = OrderTable
    filter_fields = ("q", "channel", "kind", "ordered_after", "ordered_before", "currency")


class OrderDetailView(ObjectDetailView):
    model = Order
    selector = selectors.order_list
    template_name = "sales/order_detail.html"
    object_actions = (Action.REVERSE,)
    detail_fields = (
        "customer", "ordered_at", "kind", "channel", "currency", "total_amount", "reverses",
        "created_at", "created_by",
    )  # fmt: skip

    def extra_context(self, obj: Order) -> dict[str, Any]:
        reversal = selectors.order_list(user=self.request.user).filter(reverses=obj).first()
        return {
            "lines": obj.lines.select_related("product"),
            "reversal": reversal,
            "may_reverse": obj.kind == OrderKind.SALE and reversal is None,
            "history_url": reverse("order_history", args=[obj.pk]),
        }


class OrderCreateView(ObjectEditView):
    """Record an order with its lines (a formset); there is no edit view by design."""

    model = Order
    selector = selectors.order_list
    form_class = OrderForm
    template_name = "sales/order_form.html"

    def get_initial(self) -> dict[str, Any]:
        return {"customer": self.request.GET.get("customer")}

    def create(self, form: OrderForm) -> Order:
        return services.order_create(
            actor=self.request.user, data=form.service_data(), lines=form.service_lines()
        )


class OrderReverseView(ObjectActionView):
    model = Order
    selector = selectors.order_list
    action = Action.REVERSE
    form_class = OrderReverseForm
    title = gettext_lazy("Reverse order")
    message = gettext_lazy(
        "A reversal records the same lines with negated quantities and amounts. "
        "The original order stays as it was."
    )
    button_label = gettext_lazy("Reverse order")
    button_class = "btn-danger"

    def perform(self, obj: Order, form: OrderReverseForm) -> Order:
        return services.order_reverse(
            actor=self.request.user, order=obj, reason=form.cleaned_data["reason"]
        )

    def success_message(self, obj: Order, result: Order) -> str:
        return _("Order %(order)s was reversed by %(reversal)s.") % {
            "order": obj,
            "reversal": result,
        }

    def get_success_url(self, obj: Order, result: Order) -> str:
        return reverse("order_detail", args=[result.pk])


class OrderHistoryView(ObjectHistoryView):
    model = Order
    selector = selectors.order_list


# --- What this app adds to the shell ------------------------------------------------------


def _customer_orders(request: HttpRequest, customer: Any) -> dict[str, Any] | None:
    user = request.user
    if not has_permission(user, "order", Action.VIEW):
        return None
    orders = selectors.order_list(user=user).filter(customer=customer)
    return {
        "orders": orders[:10],
        "order_count": orders.count(),
        "may_add_order": has_permission(user, "order", Action.ADD),
    }


register_detail_panel(
    "customers.customer",
    DetailPanel("orders", "sales/customer_orders_panel.html", _customer_orders, order=20),
)
register_home_card(
    HomeCard(
        "product",
        gettext_lazy("Products"),
        "product_list",
        lambda user: selectors.product_list(user=user).count(),
        order=30,
    )
)
register_home_card(
    HomeCard(
        "order",
        gettext_lazy("Orders"),
        "order_list",
        lambda user: selectors.order_list(user=user).count(),
        order=40,
    )
)
register_search_provider(
    SearchProvider(
        "orders", gettext_lazy("Orders"), "order", search.search_orders, "order_list", order=30
    )
)
