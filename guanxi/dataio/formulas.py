"""Spreadsheet formula neutralisation, shared by the export (write) and the import (read).

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (CSV injection, OWASP). The export prefixes such *text* cells with a
single quote, which spreadsheets show as literal text; the import strips that quote again,
so a round trip gives back the stored text exactly.

The rule applies to text only: numbers (amounts, quantities, a reversal's ``-120.00``) are
written as numbers and never touched, so a numeric column of an import never needs
:func:`restore`. To keep the round trip exact for text that itself starts with a quote
(``'=x`` typed by a user), a quote is also added in front of text that :func:`restore` would
otherwise shorten: ``neutralise`` and ``restore`` are exact inverses on every string.
"""

from __future__ import annotations

import re

#: Leading characters a spreadsheet may interpret as the start of a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

QUOTE = "'"


def needs_quote(text: str) -> bool:
    """Whether :func:`neutralise` prefixes ``text`` (a formula trigger after any quotes)."""
    stripped = text.lstrip(QUOTE)
    return stripped.startswith(FORMULA_TRIGGERS)


_FIRST = frozenset((*FORMULA_TRIGGERS, QUOTE))


def neutralise(text: str) -> str:
    """The text as written to a CSV or XLSX cell: quoted if a spreadsheet could run it."""
    if not text or text[0] not in _FIRST:  # the common case, checked first: exports are big
        return text
    return QUOTE + text if needs_quote(text) else text


def restore(text: str) -> str:
    """Undo :func:`neutralise` for a text cell read from a file (``restore(neutralise(t)) == t``).

    Only a quote in front of a formula trigger (possibly after further quotes) is removed;
    any other text, including a lone leading quote, is returned unchanged.
    """
    if text.startswith(QUOTE) and needs_quote(text[1:]):
        return text[1:]
    return text


# --- XLSX text escaping -------------------------------------------------------------------
# XML cannot hold most control characters, and XML parsers turn a carriage return into a
# line feed. OOXML's own escape (ECMA-376, ST_Xstring) writes such a character as ``_xHHHH_``
# and a literal ``_xHHHH_`` in the text as ``_x005F_xHHHH_``; Excel and LibreOffice read it
# back, openpyxl does not, so the import calls :func:`xlsx_unescape` on XLSX text cells.

_XLSX_LITERAL = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_XLSX_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f]")
_XLSX_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def xlsx_escape(text: str) -> str:
    """Text as stored in an XLSX cell: control characters (and CR) as ``_xHHHH_``."""
    text = _XLSX_LITERAL.sub(r"_x005F_\1", text)
    return _XLSX_UNSAFE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def xlsx_unescape(text: str) -> str:
    """Undo :func:`xlsx_escape` (and Excel's own escaping) for a text cell read with openpyxl."""
    if "_x" not in text:
        return text
    return _XLSX_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
