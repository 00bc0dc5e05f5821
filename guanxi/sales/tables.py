"""List tables of products and orders."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guanxi.core.tables import Column, Table


class ProductTable(Table):
    columns = (
        Column("sku", _("SKU"), order_by="sku", link="product_detail"),
        Column("name", _("Name"), order_by="name"),
        Column("category", _("Category"), order_by="category"),
        Column("list_price", _("List price"), order_by="list_price", numeric=True),
        Column("unit_cost", _("Unit cost"), order_by="unit_cost", numeric=True),
        Column("currency", _("Currency"), order_by="currency"),
        Column("is_active", _("Active"), order_by="is_active"),
    )
    default_sort = "sku"


class OrderTable(Table):
    columns = (
        Column("external_id", _("Order"), order_by="external_id", link="order_detail"),
        Column(
            "customer",
            _("Customer"),
            order_by="customer__name",
            link="customer_detail",
            link_pk="customer_id",
        ),
        Column("ordered_at", _("Ordered at"), order_by="ordered_at"),
        Column("kind", _("Kind"), order_by="kind"),
        Column("channel", _("Channel"), order_by="channel"),
        Column("total_amount", _("Total"), order_by="total_amount", numeric=True),
        Column("currency", _("Currency"), order_by="currency"),
    )
    default_sort = "-ordered_at"
