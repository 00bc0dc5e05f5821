"""Template helpers of the web UI: accessible form fields and record attribute lists."""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst

from guanxi.core.tables import EMPTY, display_value, format_value

register = template.Library()


def _widget_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select | forms.SelectMultiple):
        return "form-select"
    return "form-control"


@register.inclusion_tag("includes/field.html")
def render_field(field: forms.BoundField, compact: bool = False) -> dict[str, Any]:
    """One labelled input with its help text and errors, linked for screen readers."""
    widget = field.field.widget
    css = _widget_class(widget)
    if compact and css != "form-check-input":
        css += " form-select-sm" if css == "form-select" else " form-control-sm"
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_help")
    if field.errors:
        css += " is-invalid"
        described.append(f"{field.auto_id}_error")
    attrs: dict[str, Any] = {"class": css}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return {
        "field": field,
        "widget": field.as_widget(attrs=attrs),
        "is_checkbox": isinstance(widget, forms.CheckboxInput),
        "is_hidden": field.is_hidden,
        "compact": compact,
    }


@register.filter
def display(obj: Any, accessor: str) -> Any:
    """``{{ customer|display:"market" }}``: the human value of a field (choice label ...)."""
    return display_value(obj, accessor)


@register.filter
def plain(value: Any) -> Any:
    """Format a plain value (dates, decimals, booleans, empty)."""
    return format_value(value)


@register.filter
def field_label(obj: Any, name: str) -> str:
    """``{{ customer|field_label:"market" }}``: the field's verbose name, capitalised."""
    try:
        return capfirst(str(getattr(obj._meta.get_field(name), "verbose_name", name)))
    except (FieldDoesNotExist, AttributeError):
        return capfirst(name.replace("_", " "))


@register.inclusion_tag("includes/attr_list.html")
def attr_list(obj: Any, fields: Any) -> dict[str, Any]:
    """A definition list of ``fields`` (a sequence or a space-separated string) of ``obj``."""
    names = fields.split() if isinstance(fields, str) else list(fields)
    return {"rows": [(field_label(obj, name), display(obj, name)) for name in names]}


@register.filter
def change_value(value: Any) -> str:
    """A before/after value of the change log as short text."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or EMPTY
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or EMPTY
    if isinstance(value, bool):
        return str(format_value(value))
    return str(value)
