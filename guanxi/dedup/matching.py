"""Finding likely duplicates: normalisers, similarity, blocking and scoring (pure Python).

Nothing here touches the database, so the rules are unit-tested on plain values and the same
functions score a page of customers or a million-row base.

* **Email**: trimmed, NFKC-folded and lower-cased. For Gmail addresses the dots and a
  ``+tag`` in the local part are dropped too (``j.o.e+crm@gmail.com`` is
  ``joe@gmail.com``), because Gmail itself ignores them; other providers treat dots as
  significant, so their addresses keep them.
* **Phone**: E.164 (``+8613800000000``) by a small normaliser written for the numbers a
  Chinese CRM meets: spaces, dashes, dots and parentheses stripped, ``00`` as ``+``, a
  trunk ``(0)`` after a country code dropped, Chinese mobiles ``1[3-9]xxxxxxxxx`` and
  landlines ``0xx-xxxxxxxx`` given ``+86``, ten-digit numbers of US/Canadian customers
  ``+1``. The ``phonenumbers`` library (9.0.43) would validate every numbering plan, but
  it installs 48 MB and parses about ten times slower (65 us against 4-7 us per number,
  ``benchmarks/dedup_candidates.py``); duplicate detection needs only a canonical form that
  makes equal numbers equal, so a number we cannot place gets no phone key rather than a
  wrong one (see docs/adr/0008-duplicates-and-merge.md).
* **Names**: NFKC (full-width to half-width), case-folded, punctuation and spaces removed,
  legal-form suffixes stripped (有限公司, 股份有限公司, 集团, Co., Ltd., Inc., LLC ...);
  similarity is the Dice coefficient of character bigrams, which works for Chinese names
  (no word boundaries) and Latin ones alike.
* **Candidates** come from blocks (same email, same phone, same name key = the first two
  characters of the normalised name plus the city), never from all pairs; a block too big to
  compare in full (a shared switchboard number, a very common name) is compared by a
  sliding window over its members sorted by name.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.translation import gettext as _

# --- Email ----------------------------------------------------------------------------------

_GMAIL_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def normalize_email(value: str | None, *, fold_gmail: bool = True) -> str:
    """The comparable form of an email address, or ``""`` when there is none.

    >>> normalize_email("  J.O.E+crm@GoogleMail.com ")
    'joe@gmail.com'
    """
    text = unicodedata.normalize("NFKC", value or "").strip().lower()
    if "@" not in text:
        return ""
    local, _sep, domain = text.rpartition("@")
    if not local or not domain:
        return ""
    if fold_gmail and domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = _GMAIL_DOMAINS[domain]
    return f"{local}@{domain}"


# --- Phone ----------------------------------------------------------------------------------

_EXTENSION = re.compile(r"(?:ext\.?|extension|x|转|分机|#).*$", re.IGNORECASE)
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_NANP_COUNTRIES = {"US", "CA"}


def normalize_phone(value: str | None, country: str | None = "CN") -> str:
    """The E.164 form of a phone number (``+8613800000000``), or ``""`` if it cannot be placed.

    ``country`` is the customer's ISO country code; it decides how a number written without
    a country code is read (Chinese mobile and landline rules for CN, NANP for US/CA).
    """
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        return ""
    text = _EXTENSION.sub("", _TRUNK_ZERO.sub("", text))
    international = text.startswith("+")
    digits = re.sub(r"\D", "", text)
    if not digits:
        return ""
    country = (country or "").upper()
    if international:
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif country == "CN" or not country:
        number = _chinese_national(digits)
    elif country in _NANP_COUNTRIES:
        if len(digits) == 10 and digits[0] in "23456789":
            number = "1" + digits
        elif len(digits) == 11 and digits[0] == "1":
            number = digits
        else:
            number = ""
    else:
        number = ""
    # A trunk zero written after the country code (+86 021 ...) is not dialled.
    if number.startswith("860"):
        number = "86" + number[3:]
    if not 8 <= len(number) <= 15:
        return ""
    return "+" + number


def _chinese_national(digits: str) -> str:
    """A Chinese number written without ``+``: mobile, landline with area code, or ``86...``."""
    if _CN_MOBILE.fullmatch(digits):
        return "86" + digits
    if digits.startswith("0") and 10 <= len(digits) <= 12:
        return "86" + digits[1:]  # 0 + area code (2-3 digits) + 7-8 digit subscriber number
    if digits.startswith("86") and _CN_MOBILE.fullmatch(digits[2:]):
        return digits
    return ""  # a local number without area code cannot be placed


# --- Names ----------------------------------------------------------------------------------

#: Legal-form and group suffixes stripped from organization names, longest first.
_CJK_SUFFIXES = tuple(
    sorted(
        (
            "股份有限公司",
            "有限责任公司",
            "集团有限公司",
            "集团股份有限公司",
            "有限公司",
            "股份公司",
            "集团公司",
            "总公司",
            "分公司",
            "公司",
            "集团",
            "商行",
            "工作室",
        ),
        key=len,
        reverse=True,
    )
)
#: One or more legal-form suffixes at the end (longest alternatives first).
_CJK_SUFFIX_RE = re.compile("(?:" + "|".join(map(re.escape, _CJK_SUFFIXES)) + ")+$")
_LATIN_SUFFIXES = {
    "co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc",
    "plc", "gmbh", "ag", "sa", "srl", "bv", "pte", "pty", "group", "holdings", "the",
}  # fmt: skip
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_name(value: str | None) -> str:
    """The comparable form of a person or organization name (no spaces, no legal form).

    >>> normalize_name("上海恒信贸易有限公司"), normalize_name("ACME Trading Co., Ltd.")
    ('上海恒信贸易', 'acmetrading')
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFKC", value).casefold()
    words = [w for w in _NON_WORD.split(text) if w]
    # Latin legal forms are whole words at the end (or "the" in front).
    while len(words) > 1 and words[-1] in _LATIN_SUFFIXES:
        words.pop()
    while len(words) > 1 and words[0] == "the":
        words.pop(0)
    compact = "".join(words)
    match = _CJK_SUFFIX_RE.search(compact)
    if match and match.start() > 0:
        compact = compact[: match.start()]
    return compact


def _bigrams(text: str) -> set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}


def name_similarity(a: str, b: str, *, normalized: bool = False) -> float:
    """Dice coefficient of character bigrams of the normalised names (0..1)."""
    if not normalized:
        a, b = normalize_name(a), normalize_name(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    grams_a, grams_b = _bigrams(a), _bigrams(b)
    return 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b))


_REGION_SUFFIXES = ("特别行政区", "自治区", "省", "市", "区", "县")


@lru_cache(maxsize=8192)
def normalize_region(value: str | None) -> str:
    """A province or city without its administrative suffix (上海市 -> 上海), case-folded."""
    text = normalize_name(value)
    for suffix in _REGION_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def name_keys(name: str, city: str = "", province: str = "") -> set[str]:
    """Blocking keys: the first two characters of the name, with the city.

    Chinese organization names often begin with their city (上海恒信贸易); a second key with
    that prefix removed lets 恒信贸易 in 上海 meet 上海恒信贸易 with no city recorded.
    """
    if not name:
        return set()
    region = normalize_region(city)
    keys = {f"{name[:2]}|{region}"}
    for prefix in (normalize_region(city), normalize_region(province)):
        if prefix and name.startswith(prefix) and len(name) - len(prefix) >= 2:
            rest = name[len(prefix) :]
            keys.add(f"{rest[:2]}|{region}")
            keys.add(f"{rest[:2]}|")
    return keys


# --- Records, pairs and groups --------------------------------------------------------------


@dataclass(frozen=True)
class MatchRecord:
    """What matching needs of a customer or contact (raw values, as stored).

    For contacts, ``org_id`` is the customer the contact belongs to and ``org_name`` its name.
    """

    id: int
    name: str
    email: str = ""
    phone: str = ""
    city: str = ""
    province: str = ""
    country: str = "CN"
    kind: str = ""
    org_id: int | None = None
    org_name: str = ""


@dataclass(frozen=True)
class _Prepared:
    record: MatchRecord
    name: str
    email: str
    phone: str
    city: str
    org_name: str
    grams: frozenset[str]


def _prepare(record: MatchRecord) -> _Prepared:
    name = normalize_name(record.name)
    return _Prepared(
        record=record,
        name=name,
        email=normalize_email(record.email),
        phone=normalize_phone(record.phone, record.country),
        city=normalize_region(record.city),
        org_name=normalize_name(record.org_name),
        grams=frozenset(_bigrams(name)),
    )


def _similarity(a: _Prepared, b: _Prepared) -> float:
    """:func:`name_similarity` on prepared records (bigrams computed once per record)."""
    if not a.name or not b.name:
        return 0.0
    if a.name == b.name:
        return 1.0
    return 2 * len(a.grams & b.grams) / (len(a.grams) + len(b.grams))


@dataclass(frozen=True)
class Reason:
    """One piece of evidence, with the words shown to users (``code`` is stable for code)."""

    code: str
    value: str = ""
    percent: int = 0

    def __str__(self) -> str:
        texts = {
            "email": _("same email %(value)s"),
            "phone": _("same phone %(value)s"),
            "name": _("names %(percent)s%% similar"),
            "city": _("same city %(value)s"),
            "organization": _("same organization"),
            "org_name": _("organizations %(percent)s%% similar"),
        }
        return texts[self.code] % {"value": self.value, "percent": self.percent}


@dataclass(frozen=True)
class Pair:
    """Two records that may be the same, with a score in 0..1 and the reasons."""

    a: int
    b: int
    score: float
    reasons: tuple[Reason, ...]


@dataclass
class Group:
    """Records linked by pairs (transitively): one merge candidate, best pair score first."""

    ids: list[int]
    score: float
    pairs: list[Pair] = field(default_factory=list)

    @property
    def reasons(self) -> list[Reason]:
        """The distinct reasons of the group's pairs, strongest pair first."""
        seen: dict[tuple[str, str, int], Reason] = {}
        for pair in sorted(self.pairs, key=lambda p: -p.score):
            for reason in pair.reasons:
                seen.setdefault((reason.code, reason.value, reason.percent), reason)
        return list(seen.values())


#: Minimum pair score reported as a likely duplicate.
DEFAULT_THRESHOLD = 0.6
#: Name similarity from which names count as evidence.
NAME_THRESHOLD = 0.75
#: Blocks bigger than this are compared with a sliding window instead of all pairs.
BLOCK_LIMIT = 200
WINDOW = 10


def score_pair(a: MatchRecord, b: MatchRecord, *, contacts: bool = False) -> Pair:
    """Score two records; see :func:`_score` for the weights."""
    return _score(_prepare(a), _prepare(b), contacts=contacts)


def _score(a: _Prepared, b: _Prepared, *, contacts: bool) -> Pair:
    """Combine independent evidence as 1 - prod(1 - e), then apply penalties.

    Evidence: same email 0.9, same phone 0.85, similar names x similarity: 0.7 for
    organizations (a company name is registered, unique in its jurisdiction), 0.5 for people
    (namesakes are common: 张伟), +0.15 in the same city; for contacts 0.75 x similarity at
    the same or a similar organization, else 0.45. Penalties: names that do not look alike
    (< 40%) x0.7, since shared inboxes and switchboards are common; different emails x0.75
    and different phones x0.75, since a namesake with other addresses is likely someone
    else; a person against an organization x0.8.
    """
    reasons: list[Reason] = []
    evidence: list[float] = []
    if a.email and a.email == b.email:
        evidence.append(0.9)
        reasons.append(Reason("email", a.email))
    if a.phone and a.phone == b.phone:
        evidence.append(0.85)
        reasons.append(Reason("phone", a.phone))
    similarity = _similarity(a, b)
    same_org = False
    if contacts:
        ra, rb = a.record, b.record
        if ra.org_id is not None and ra.org_id == rb.org_id:
            same_org = True
            reasons.append(Reason("organization"))
        elif a.org_name and b.org_name:
            org_similarity = name_similarity(a.org_name, b.org_name, normalized=True)
            if org_similarity >= NAME_THRESHOLD:
                same_org = True
                reasons.append(Reason("org_name", percent=round(org_similarity * 100)))
    if similarity >= NAME_THRESHOLD:
        reasons.append(Reason("name", percent=round(similarity * 100)))
        if contacts:
            evidence.append((0.75 if same_org else 0.45) * similarity)
        else:
            organization = "organization" in (a.record.kind, b.record.kind)
            weight = (0.7 if organization else 0.5) * similarity
            if a.city and a.city == b.city:
                weight += 0.15
                reasons.append(Reason("city", a.record.city))
            evidence.append(weight)
    if not evidence:
        return Pair(a.record.id, b.record.id, 0.0, ())
    remaining = 1.0
    for value in evidence:
        remaining *= 1 - value
    score = 1 - remaining
    if similarity < 0.4:
        score *= 0.7
    if a.email and b.email and a.email != b.email:
        score *= 0.75
    if a.phone and b.phone and a.phone != b.phone:
        score *= 0.75
    if a.record.kind and b.record.kind and a.record.kind != b.record.kind:
        score *= 0.8
    low, high = sorted((a.record.id, b.record.id))
    return Pair(low, high, round(score, 4), tuple(reasons))


def _candidate_pairs(prepared: Sequence[_Prepared], contacts: bool) -> set[tuple[int, int]]:
    """Index pairs sharing a block (email, phone or name key); big blocks by sliding window."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(prepared):
        if item.email:
            blocks["e:" + item.email].append(index)
        if item.phone:
            blocks["p:" + item.phone].append(index)
        if contacts:
            # People are found by name within (similar) organizations.
            for key in name_keys(item.org_name or item.name):
                blocks[f"n:{item.name[:2]}|{key}"].append(index)
            blocks[f"n:{item.name[:2]}|#{item.record.org_id}"].append(index)
        else:
            for key in name_keys(item.name, item.record.city, item.record.province):
                blocks["n:" + key].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        if len(members) <= BLOCK_LIMIT:
            for i, left in enumerate(members):
                for right in members[i + 1 :]:
                    pairs.add((left, right))
        else:
            ordered = sorted(members, key=lambda m: prepared[m].name)
            for i, left in enumerate(ordered):
                for right in ordered[i + 1 : i + 1 + WINDOW]:
                    pairs.add((min(left, right), max(left, right)))
    return pairs


def find_pairs(
    records: Iterable[MatchRecord],
    *,
    contacts: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Pair]:
    """Likely duplicate pairs among ``records`` with a score of at least ``threshold``."""
    prepared = [_prepare(r) for r in records]
    found = []
    for left, right in _candidate_pairs(prepared, contacts):
        a, b = prepared[left], prepared[right]
        if a.record.id == b.record.id:
            continue
        if (
            not (a.email and a.email == b.email)
            and not (a.phone and a.phone == b.phone)
            and _similarity(a, b) < NAME_THRESHOLD
        ):
            continue  # no evidence at all: most pairs of a name block end here, cheaply
        pair = _score(a, b, contacts=contacts)
        if pair.score >= threshold:
            found.append(pair)
    found.sort(key=lambda p: (-p.score, p.a, p.b))
    return found


def group_pairs(pairs: Iterable[Pair]) -> list[Group]:
    """Join pairs into groups (union-find); best score first, then lowest id."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pair_list = list(pairs)
    for pair in pair_list:
        ra, rb = root(pair.a), root(pair.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, Group] = {}
    for pair in pair_list:
        key = root(pair.a)
        group = groups.setdefault(key, Group(ids=[], score=0.0))
        group.pairs.append(pair)
        group.score = max(group.score, pair.score)
    for member in list(parent):
        groups[root(member)].ids.append(member)
    for group in groups.values():
        group.ids.sort()
    return sorted(groups.values(), key=lambda g: (-g.score, g.ids[0]))


def find_groups(
    records: Iterable[MatchRecord],
    *,
    contacts: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Group]:
    """Likely duplicate groups among ``records`` (see :func:`find_pairs`)."""
    return group_pairs(find_pairs(records, contacts=contacts, threshold=threshold))
