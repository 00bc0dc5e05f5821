"""Form bases of the web UI: forms check input types, services validate and write.

A :class:`ServiceModelForm` takes labels, widgets and choices from the model but never
saves: the view passes :meth:`ServiceModelForm.service_data` to the app's service, which
runs the model validation inside its transaction, and maps the service's
``ValidationError`` back onto the form's fields with :func:`add_service_errors`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models

from guanxi.core.validators import validate_storable_datetime

#: Browser input types for model date/time fields (HTML5 pickers, ISO values).
DATETIME_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    """A ``datetime-local`` picker that round-trips the ISO value the browser sends."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_INPUT_FORMAT)


class DateInput(forms.DateInput):
    """A ``date`` picker."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ServiceModelForm(forms.ModelForm):
    """A model form whose model validation and saving are left to the service.

    Model-level checks (``full_clean``, uniqueness) run once, inside the service's
    transaction, so the form does not repeat them; their errors come back through
    :func:`add_service_errors`.
    """

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.DateTimeField):
                field.widget = DateTimeLocalInput()
                field.input_formats = [DATETIME_INPUT_FORMAT, *field.input_formats]
                field.validators.append(validate_storable_datetime)
            elif isinstance(field, forms.DateField):
                field.widget = DateInput()

    def _post_clean(self) -> None:
        # Deliberately empty: see the class docstring.
        pass

    def service_data(self) -> dict[str, Any]:
        """The cleaned values of the model fields, ready for a ``data=`` service argument."""
        data: dict[str, Any] = {}
        for name in self._meta.fields or ():
            if name not in self.cleaned_data:
                continue
            data[name] = _canonical(self._meta.model, name, self.cleaned_data[name])
        return data


def limit_choices(form: forms.BaseForm, name: str, queryset: models.QuerySet[Any]) -> None:
    """Offer only ``queryset`` in a model choice field (a selector's scoped records)."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


def _canonical(model: type[models.Model], name: str, value: Any) -> Any:
    """Quantize decimals to the column's places so an unchanged value diffs as unchanged."""
    field = model._meta.get_field(name)
    if isinstance(value, Decimal) and isinstance(field, models.DecimalField):
        return value.quantize(Decimal(1).scaleb(-(field.decimal_places or 0)))
    return value


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ``ValidationError`` on the named form fields.

    Errors about fields the form does not show become non-field errors prefixed with the
    field's name, so nothing the service said is lost.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, errors in error.error_dict.items():
        messages = ValidationError(errors).messages
        if name in form.fields:
            form.add_error(name, messages)
        elif name == NON_FIELD_ERRORS:
            form.add_error(None, messages)
        else:
            label = _field_label(form, name)
            form.add_error(None, [f"{label}: {m}" for m in messages])


def _field_label(form: forms.BaseForm, name: str) -> str:
    model = getattr(getattr(form, "_meta", None), "model", None)
    if model is not None:
        try:
            return str(getattr(model._meta.get_field(name), "verbose_name", name))
        except FieldDoesNotExist:
            return name
    return name
