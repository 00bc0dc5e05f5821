"""Template helpers of the web UI: accessible form fields and record attribute lists."""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.core.exceptions import FieldDoesNotExist
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
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
    # Selects drawn by Django's own templates (not a widget with templates of its own).
    plain_select = (
        isinstance(widget, forms.Select)
        and widget.template_name == forms.Select.template_name
        and widget.option_template_name == forms.Select.option_template_name
    )
    return {
        "field": field,
        "widget": _select_html(field, attrs) if plain_select else field.as_widget(attrs=attrs),
        "is_checkbox": isinstance(widget, forms.CheckboxInput),
        "is_hidden": field.is_hidden,
        "compact": compact,
    }


def _select_html(field: forms.BoundField, attrs: dict[str, Any]) -> SafeString:
    """A ``<select>`` rendered in Python, the same markup Django's templates give.

    Django renders each ``<option>`` through a template of its own: a filter bar of a dozen
    selects (owners, regions, tags, grades ...) spent a third of a list page's time there.
    """
    widget: Any = field.field.widget
    final = widget.build_attrs(widget.attrs, field.build_widget_attrs(attrs, widget))
    if field.auto_id and "id" not in final:
        final["id"] = field.auto_id
    multiple = widget.allow_multiple_selected
    if multiple:
        final["multiple"] = True
    values = widget.format_value(field.value())
    selected = {values} if isinstance(values, str) else set(values)  # NullBooleanSelect: one
    options = _options(_choices(field.field), selected, multiple, [False])
    return format_html('<select name="{}"{}>{}</select>', field.html_name, flatatt(final), options)


def _choices(formfield: Any) -> Any:
    """The field's choices; a model choice field's read with one plain query.

    Django reads model choices with ``.iterator()``: on PostgreSQL a server-side cursor, three
    round trips (declare, fetch, close) for the few rows a drop-down has.
    """
    choices = formfield.widget.choices
    if not isinstance(choices, ModelChoiceIterator):
        return choices
    listed: list[tuple[Any, Any]] = []
    if formfield.empty_label is not None:
        listed.append(("", formfield.empty_label))
    if getattr(formfield, "null_label", None) is not None:  # django-filter's "none" choice
        listed.append((formfield.null_value, formfield.null_label))
    listed.extend(choices.choice(obj) for obj in choices.queryset)
    return listed


def _options(choices: Any, selected: set[str], multiple: bool, found: list[bool]) -> SafeString:
    """The ``<option>`` (and ``<optgroup>``) markup of ``choices``; a single select marks
    only its first matching option, as Django does."""
    parts = []
    for value, label in choices:
        if isinstance(label, list | tuple):
            inner = _options(label, selected, multiple, found)
            parts.append(format_html('<optgroup label="{}">{}</optgroup>', value, inner))
            continue
        text = "" if value is None else str(value)
        chosen = text in selected and (multiple or not found[0])
        found[0] = found[0] or chosen
        markup = _SELECTED_OPTION if chosen else _OPTION
        parts.append(format_html(markup, text, label))
    return format_html_join("", "{}", ((part,) for part in parts))


_OPTION = '<option value="{}">{}</option>'
_SELECTED_OPTION = '<option value="{}" selected>{}</option>'


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
