"""Turning cell text into typed values, with errors a user can act on.

Each converter takes the stripped cell text (never blank: blank cells are skipped before,
so that a blank cell never erases a stored value) and returns the value or raises
:class:`CellError` with a message that names the value and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from .reading import BAD_BYTES


class CellError(ValueError):
    """A cell's value is not acceptable; the message says why (without row or column)."""


def excerpt(value: str, limit: int = 40) -> str:
    """A short, printable version of a cell for messages (bad bytes shown as \\xNN)."""
    text = BAD_BYTES.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text(limit: int) -> Callable[[str], str]:
    """Plain text up to ``limit`` characters."""

    def convert(value: str) -> str:
        if len(value) > limit:
            raise CellError(
                _("'%(value)s' is longer than %(limit)s characters (%(n)s).")
                % {"value": excerpt(value), "limit": limit, "n": len(value)}
            )
        return value

    return convert


_DATE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,6}))?秒?)?)?$"
)


@cache
def _local_zone() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def parse_datetime(value: str) -> dt.datetime:
    """A date or date-time as an aware UTC datetime (no offset: the site's time zone).

    Accepts ISO 8601 (``2024-03-01``, ``2024-03-01 14:30``, ``...T14:30:00+08:00``,
    ``...Z``), ``2024/3/1 14:30`` and ``2024年3月1日``.
    """
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        match = _DATE.match(value)
        if not match:
            raise CellError(
                _("'%(value)s' is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM).")
                % {"value": excerpt(value)}
            ) from None
        y, mo, d, h, mi, s, frac = match.groups()
        try:
            moment = dt.datetime(  # noqa: DTZ001 - the zone is set just below
                int(y),
                int(mo),
                int(d),
                int(h or 0),
                int(mi or 0),
                int(s or 0),
                int((frac or "0").ljust(6, "0")),
            )
        except ValueError:
            raise CellError(_("'%(value)s' is not a date.") % {"value": excerpt(value)}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_local_zone())
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # the years 1 and 9999 may leave the calendar once in UTC
        raise CellError(
            _("'%(value)s' is out of range (years 1 to 9999).") % {"value": excerpt(value)}
        ) from None


_GROUPED = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$")


def decimal(
    max_digits: int, places: int, *, minimum: Decimal | None = None
) -> Callable[[str], Decimal]:
    """A number with at most ``max_digits`` digits, ``places`` of them after the point."""
    plain = re.compile(rf"-?\d{{1,{max_digits - places}}}(?:\.\d{{0,{places}}})?").fullmatch

    def convert(value: str) -> Decimal:
        if plain(value) and (minimum is None or not value.startswith("-")):
            return Decimal(value)  # the common case, already known to fit
        cleaned = value.lstrip("¥￥$€£").strip()
        if "," in cleaned and _GROUPED.match(cleaned):
            cleaned = cleaned.replace(",", "")
        try:
            number = Decimal(cleaned)
        except (InvalidOperation, ValueError):
            raise CellError(_("'%(value)s' is not a number.") % {"value": excerpt(value)}) from None
        if not number.is_finite():
            raise CellError(_("'%(value)s' is not a number.") % {"value": excerpt(value)})
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -places:
            rounded = number.quantize(Decimal(1).scaleb(-places))
            if rounded != number:
                raise CellError(
                    _("'%(value)s' has more than %(places)s decimal places.")
                    % {"value": excerpt(value), "places": places}
                )
            number = rounded
        if number.adjusted() >= max_digits - places:
            raise CellError(_("'%(value)s' is too large.") % {"value": excerpt(value)})
        if minimum is not None and number < minimum:
            raise CellError(
                _("'%(value)s' is less than %(min)s.") % {"value": excerpt(value), "min": minimum}
            )
        return number

    return convert


def integer(minimum: int = 0, maximum: int = 2_147_483_647) -> Callable[[str], int]:
    """A whole number between ``minimum`` and ``maximum``."""

    def convert(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                as_float = float("nan")
            if not as_float.is_integer():
                raise CellError(
                    _("'%(value)s' is not a whole number.") % {"value": excerpt(value)}
                ) from None
            number = int(as_float)
        if not minimum <= number <= maximum:
            raise CellError(
                _("%(value)s is outside %(min)s..%(max)s.")
                % {"value": number, "min": minimum, "max": maximum}
            )
        return number

    return convert


_TRUE = {"true", "1", "yes", "y", "x", "是", "对", "有"}
_FALSE = {"false", "0", "no", "n", "否", "不", "无"}


def boolean(value: str) -> bool:
    """Yes/no in English, Chinese or as 1/0."""
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CellError(_("'%(value)s' is not yes or no.") % {"value": excerpt(value)})


def _choice_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.strip().lower())


def choice(choices: type[models.TextChoices]) -> Callable[[str], str]:
    """One of a choice list, by its value or its label in English or Chinese."""
    lookup: dict[str, str] = {}
    for value, label in choices.choices:
        lookup.setdefault(_choice_key(value), value)
        with translation.override("en"):
            lookup.setdefault(_choice_key(str(label)), value)
        with translation.override("zh-hans"):
            lookup.setdefault(_choice_key(str(label)), value)

    def convert(text_value: str) -> str:
        found = lookup.get(_choice_key(text_value))
        if found is None:
            allowed = ", ".join(v for v in choices.values if v)
            raise CellError(
                _("'%(value)s' is not one of: %(allowed)s.")
                % {"value": excerpt(text_value), "allowed": allowed}
            )
        return found

    return convert


_COUNTRIES = {
    "china": "CN", "中国": "CN", "prc": "CN", "mainland china": "CN", "中国大陆": "CN",
    "hong kong": "HK", "香港": "HK", "taiwan": "TW", "台湾": "TW", "macau": "MO", "澳门": "MO",
    "united states": "US", "usa": "US", "美国": "US", "united kingdom": "GB", "uk": "GB",
    "英国": "GB", "germany": "DE", "德国": "DE", "france": "FR", "法国": "FR", "japan": "JP",
    "日本": "JP", "korea": "KR", "south korea": "KR", "韩国": "KR", "singapore": "SG",
    "新加坡": "SG", "australia": "AU", "澳大利亚": "AU", "canada": "CA", "加拿大": "CA",
}  # fmt: skip


def country(value: str) -> str:
    """An ISO 3166 two-letter code, or a common country name in English or Chinese."""
    if len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    code = _COUNTRIES.get(value.strip().lower())
    if code is None:
        raise CellError(
            _("'%(value)s' is not a two-letter country code.") % {"value": excerpt(value)}
        )
    return code


def currency(value: str) -> str:
    """A three-letter ISO 4217 code (``rmb``/``人民币``/``元`` read as CNY)."""
    upper = value.strip().upper()
    if upper in {"RMB", "人民币", "元"}:
        return "CNY"
    if len(upper) == 3 and upper.isascii() and upper.isalpha():
        return upper
    raise CellError(
        _("'%(value)s' is not a three-letter currency code.") % {"value": excerpt(value)}
    )


#: Separator of the tag names in one cell (the export writes ``VIP;重点客户``).
TAG_SEPARATOR = ";"


def tag_list(value: str) -> list[str]:
    """Tag names separated by ``;`` (blanks dropped; the cell as a whole was restored)."""
    return [name.strip() for name in value.split(TAG_SEPARATOR) if name.strip()]


def identity(value: str) -> Any:
    """The text as it is."""
    return value
