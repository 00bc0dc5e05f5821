"""Validators shared by the forms, the API and the filters of every app."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: Largest id a filter or a payload may name: the range of a 64-bit database integer.
MAX_ID = 2**63 - 1


def validate_storable_datetime(value: dt.datetime | None) -> None:
    """Refuse a date-time that cannot be stored: the database keeps UTC, and a moment near
    the years 1 or 9999 in another zone falls outside the calendar once converted."""
    if value is None or value.tzinfo is None:
        return
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationError(
            _("Enter a date and time between the years 1 and 9999."), code="overflow"
        ) from None
