"""Admin for the catalogue and orders. Orders are facts: viewable here, never edited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from guanxi.core.admin import AuditedModelAdmin

from . import services
from .models import Order, OrderLine, Product


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = ("sku", "name", "category", "list_price", "unit_cost", "is_active")
    list_filter = ("category", "is_active")
    search_fields = ("sku", "name")

    def service_create(self, *, actor: Any, data: dict[str, Any]) -> Product:
        return services.product_create(actor=actor, data=data)

    def service_update(self, *, actor: Any, obj: Product, data: dict[str, Any]) -> Product:
        return services.product_update(actor=actor, product=obj, data=data)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # products referenced by orders stay; deactivate instead


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ("line_number", "product", "description", "quantity", "unit_price", "amount")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(AuditedModelAdmin):
    list_display = ("external_id", "customer", "ordered_at", "kind", "total_amount", "currency")
    list_filter = ("kind", "channel", "currency")
    search_fields = ("external_id", "customer__name")
    date_hierarchy = "ordered_at"
    inlines = [OrderLineInline]
    list_select_related = ("customer",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Order._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # orders are created with their lines in the app, the API or an import

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
