"""Admin for the customer database; writes go through :mod:`guanxi.customers.services`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from guanxi.core.admin import AuditedModelAdmin

from . import services
from .models import Contact, Customer, CustomFieldDefinition, Tag


@admin.register(Customer)
class CustomerAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "province", "city", "qualification_status", "owner", "team")
    list_filter = ("kind", "market", "qualification_status", "credit_rating", "team")
    search_fields = ("name", "email", "phone", "external_id")
    autocomplete_fields = ("owner",)
    readonly_fields = ("qualification_status", "created_at", "updated_at")
    list_select_related = ("owner", "team")

    def _split_tags(self, data: dict[str, Any]) -> list[str] | None:
        tags = data.pop("tags", None)
        return None if tags is None else [t.name for t in tags]

    def service_create(self, *, actor: Any, data: dict[str, Any]) -> Customer:
        tags = self._split_tags(data)
        return services.customer_create(actor=actor, data=data, tags=tags)

    def service_update(self, *, actor: Any, obj: Customer, data: dict[str, Any]) -> Customer:
        tags = self._split_tags(data)
        return services.customer_update(actor=actor, customer=obj, data=data, tags=tags)

    def service_delete(self, *, actor: Any, obj: Customer) -> None:
        services.customer_delete(actor=actor, customer=obj)


@admin.register(Contact)
class ContactAdmin(AuditedModelAdmin):
    list_display = ("name", "customer", "buying_role", "stance", "email")
    list_filter = ("buying_role", "stance")
    search_fields = ("name", "email", "phone")
    raw_id_fields = ("customer",)

    def service_create(self, *, actor: Any, data: dict[str, Any]) -> Contact:
        return services.contact_create(actor=actor, data=data)

    def service_update(self, *, actor: Any, obj: Contact, data: dict[str, Any]) -> Contact:
        return services.contact_update(actor=actor, contact=obj, data=data)

    def service_delete(self, *, actor: Any, obj: Contact) -> None:
        services.contact_delete(actor=actor, contact=obj)


@admin.register(Tag)
class TagAdmin(AuditedModelAdmin):
    list_display = ("name", "color")
    search_fields = ("name",)


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(AuditedModelAdmin):
    list_display = ("name", "label", "field_type", "required")
