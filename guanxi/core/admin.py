"""Admin integration: every admin read is permission-scoped, every admin write a service call.

:class:`AuditedModelAdmin` is the base of every guanxi admin class. Subclasses name the
service functions that create, update and delete their model; the default ones use the
generic audited writes of :mod:`guanxi.core.services`. The change log itself is read-only
here as everywhere else.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from guanxi.core.models import ChangeRecord, ErasureRecord, SavedView
from guanxi.core.permissions import Action, has_permission
from guanxi.core.services import audited_create, audited_delete, audited_update


class AuditedModelAdmin(admin.ModelAdmin):
    """Scoped reads, role-checked actions and audited writes for a guanxi model."""

    #: Name of the manager to scope (``all_objects`` lets the admin see the trash).
    scoped_manager = "objects"

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        # The trash is entered and left through delete/restore services, never by a field.
        excluded = list(super().get_exclude(request, obj) or ())
        return [*excluded, *(f for f in ("deleted_at",) if _has_field(self.model, f))]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        manager = getattr(self.model, self.scoped_manager)
        return manager.restrict(request.user, Action.VIEW)

    def _may(self, request: HttpRequest, action: str) -> bool:
        return has_permission(request.user, self.model, action)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, Action.VIEW)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._may(request, Action.ADD)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, Action.CHANGE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, Action.DELETE)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request, Action.VIEW)

    # Writes -----------------------------------------------------------------------------
    def service_create(self, *, actor: Any, data: dict[str, Any]) -> Any:
        return audited_create(actor=actor, model=self.model, data=data, editable=data.keys())

    def service_update(self, *, actor: Any, obj: Any, data: dict[str, Any]) -> Any:
        return audited_update(actor=actor, obj=obj, data=data, editable=data.keys())

    def service_delete(self, *, actor: Any, obj: Any) -> None:
        audited_delete(actor=actor, obj=obj)

    def _form_data(self, form: ModelForm[Any], *, changed_only: bool) -> dict[str, Any]:
        names = form.changed_data if changed_only else list(form.cleaned_data)
        return {n: form.cleaned_data[n] for n in names if n in form.cleaned_data}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            if change:
                saved = self.service_update(
                    actor=request.user, obj=obj, data=self._form_data(form, changed_only=True)
                )
            else:
                saved = self.service_create(
                    actor=request.user, data=self._form_data(form, changed_only=False)
                )
        except ValidationError as error:
            raise _ServiceRefused(error) from error
        obj.pk = saved.pk
        obj._state.adding = False

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Show a service's refusal as an error message instead of a server error."""
        try:
            return super().changeform_view(request, *args, **kwargs)
        except _ServiceRefused as refused:
            self.message_user(request, _describe(refused.error), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Related data is written by the service in :meth:`save_model`, with its history."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.service_delete(actor=request.user, obj=obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for obj in queryset:
            self.service_delete(actor=request.user, obj=obj)


def _has_field(model: type[models.Model], name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def _describe(error: ValidationError) -> str:
    """The error's messages, each prefixed with the field it is about."""
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return "; ".join(error.messages)


class _ServiceRefused(Exception):
    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.error = error


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and proof records: viewable by administrators, never editable."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_permission(request.user, "configuration", Action.VIEW)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = ("time", "action", "object_repr", "actor_name", "source", "request_id")
    list_filter = ("action", "source", "content_type")
    search_fields = ("object_repr", "request_id", "actor_name")
    date_hierarchy = "time"


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdmin):
    list_display = ("time", "subject_type", "subject_id", "actor_name", "reason")


@admin.register(SavedView)
class SavedViewAdmin(ReadOnlyAdmin):
    """Users' saved list views, for administrators to see what is shared (users edit them)."""

    list_display = ("name", "list_key", "user", "shared", "updated_at")
    list_filter = ("list_key", "shared")
    search_fields = ("name", "user__username")
    list_select_related = ("user",)
