"""Every user-facing string marked for translation has a Simplified Chinese translation.

The strings are found the way ``makemessages`` finds them (gettext calls in Python, the
``translate``/``blocktranslate`` tags in templates, through Django's own ``templatize``) but
without GNU gettext, so the check runs wherever the test suite runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.utils.translation.template import templatize

PACKAGE = Path(__file__).resolve().parents[1]
PO_FILE = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")
#: Code whose strings are not shown to CRM users (the analytics CLI speaks to analysts in
#: English; tests and migrations are not user-facing).
SKIPPED_PARTS = {"tests", "migrations", "analytics"}
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "gettext_noop"}
CONTEXT_NAMES = {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}


def _source_files(suffix: str) -> list[Path]:
    return [
        p
        for p in PACKAGE.rglob(f"*{suffix}")
        if not SKIPPED_PARTS & set(p.relative_to(PACKAGE).parts)
    ]


def python_msgids(path: Path) -> set[str]:
    """Literal first arguments of gettext-style calls (the message of pgettext)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        index = 0 if name in GETTEXT_NAMES else 1 if name in CONTEXT_NAMES else None
        if index is None or len(node.args) <= index:
            continue
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value)
    return found


_LITERAL = r"u?(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
_TEMPLATE_CALL = re.compile(
    rf"\b(?:(?:n)?gettext\(({_LITERAL})|(?:n)?pgettext\({_LITERAL},\s*({_LITERAL}))"
)


def template_msgids(path: Path) -> set[str]:
    """Messages of ``{% translate %}`` and ``{% blocktranslate %}`` via Django's templatize."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    found: set[str] = set()
    for match in _TEMPLATE_CALL.finditer(code):
        literal = match.group(1) or match.group(2)
        found.add(ast.literal_eval(literal.removeprefix("u")))
    return found


def _unquote(text: str) -> str:
    return ast.literal_eval(text)


def po_entries() -> dict[str, tuple[str, bool]]:
    """``{msgid: (msgstr, fuzzy)}`` of the catalogue (plural forms: the first msgstr)."""
    entries: dict[str, tuple[str, bool]] = {}
    for block in PO_FILE.read_text(encoding="utf-8").split("\n\n"):
        lines = block.strip().splitlines()
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        parts: dict[str, str] = {}
        current = None
        for line in lines:
            match = re.match(r"^(msgid|msgid_plural|msgstr(?:\[0\])?|msgctxt) (\".*\")$", line)
            if match:
                current = match.group(1).replace("[0]", "")
                parts[current] = _unquote(match.group(2))
            elif line.startswith('"') and current:
                parts[current] += _unquote(line)
            elif line.startswith("msgstr["):
                current = None
        if parts.get("msgid"):
            entries[parts["msgid"]] = (parts.get("msgstr", ""), fuzzy)
    return entries


def test_every_marked_string_has_a_chinese_translation() -> None:
    marked: set[str] = set()
    for path in _source_files(".py"):
        marked |= python_msgids(path)
    for path in _source_files(".html"):
        marked |= template_msgids(path)
    entries = po_entries()

    missing = sorted(m for m in marked if m not in entries)
    untranslated = sorted(m for m, (text, fuzzy) in entries.items() if not text or fuzzy)

    assert len(marked) > 300  # the extraction itself works
    assert not missing, (
        f"{len(missing)} strings not in django.po (run `make messages`): {missing[:20]}"
    )
    assert not untranslated, f"{len(untranslated)} untranslated or fuzzy: {untranslated[:20]}"


def test_the_compiled_catalogue_is_current() -> None:
    assert MO_FILE.exists()
    assert MO_FILE.stat().st_mtime >= PO_FILE.stat().st_mtime - 1, "run `make messages`"
