"""Customers, contacts, products and interactions: matched, then written by bulk services.

Matching (documented in ``docs/import.md``):

* customers: the external id; else, among customers without an external id, the email
  (case-insensitive), else the phone, else the exact name *and* city (only when the row
  has a city). Several live matches: the row is rejected as ambiguous.
* contacts: the external id; else the organization (by its external id or exact name) plus
  the email, else plus the name.
* products: the SKU.
* interactions: the customer plus the exact time plus the subject.

A match in the trash rejects the row ("matches customer #12 in the trash"), it is never
duplicated. Blank cells are left out, so they never erase a stored value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from guanxi.accounts.models import Team, User
from guanxi.activities import choices as activity_choices
from guanxi.activities.models import Interaction
from guanxi.activities.services import interaction_import_batch
from guanxi.core.services import BulkRow
from guanxi.customers import choices as customer_choices
from guanxi.customers.models import Contact, Customer
from guanxi.customers.services import contact_import_batch, customer_import_batch
from guanxi.sales.models import Product
from guanxi.sales.services import product_import_batch

from ..formulas import restore
from . import convert
from .base import Batch, BatchOutcome, Importer, Row
from .mapping import CUSTOM_PREFIX

_CJK = re.compile(r"[\u3400-\u9fff]")


def _full_name(first: str, last: str) -> str:
    """Chinese names are family name first without a space; others "First Last"."""
    if _CJK.search(first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


class RecordImporter(Importer):
    """Rows -> values -> match -> the app's bulk service; subclasses fill in the kind."""

    converters: dict[str, Callable[[str], Any]] = {}
    service: Callable[..., Any]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.users: dict[str, int | None] = {}
        self.teams: dict[str, int | None] = {}

    # -- values
    def values(self, number: int, cells: list[str], outcome: BatchOutcome) -> dict[str, Any] | None:
        """The row's non-blank cells converted per field; None (and errors) if any is bad."""
        data: dict[str, Any] = {}
        ok = True
        for name, index in self.mapping.columns.items():
            if index >= len(cells):
                continue
            # Stripped first, then un-neutralised: an exported "'\tnote" keeps its tab.
            raw = restore(cells[index].strip())
            if not raw:
                continue
            try:
                if convert.BAD_BYTES.search(raw):
                    raise convert.CellError(
                        _("invalid bytes for the encoding %(e)s") % {"e": self.encoding}
                    )
                if name.startswith(CUSTOM_PREFIX):
                    data.setdefault("custom_fields", {})[name[len(CUSTOM_PREFIX) :]] = raw
                    continue
                converter = self.converters.get(name, convert.identity)
                data[name] = converter(raw)
            except convert.CellError as exc:
                outcome.reject(number, self.header(index), convert.excerpt(raw), str(exc))
                ok = False
        for name, model, cache, field in (
            ("owner", User, self.users, "username"),
            ("user", User, self.users, "username"),
            ("team", Team, self.teams, "name"),
        ):
            if name in data and name in self.fk_fields:
                key = data[name]
                if key not in cache:
                    cache[key] = (
                        model._default_manager.filter(**{field: key})
                        .values_list("pk", flat=True)
                        .first()
                    )
                if cache[key] is None:
                    outcome.reject(
                        number,
                        self.mapping.column_name(name),
                        key,
                        _("no %(what)s is called '%(key)s'")
                        % {"what": model._meta.verbose_name, "key": key},
                    )
                    ok = False
                else:
                    data[name] = cache[key]
        return data if ok else None

    fk_fields: tuple[str, ...] = ()

    def key(self, data: dict[str, Any]) -> Any:
        """What makes two rows of one batch the same record (written in separate passes)."""
        return None

    def match(self, items: list[tuple[Row, dict[str, Any]]], outcome: BatchOutcome) -> list[Any]:
        """For each item: the pk of the record it updates, None to create, or False (rejected)."""
        raise NotImplementedError

    def process(self, batch: Batch) -> BatchOutcome:
        outcome = BatchOutcome()
        items: list[tuple[Row, dict[str, Any]]] = []
        for row in batch:
            number, cells, _bad = row
            data = self.values(number, cells, outcome)
            if data is not None:
                items.append((row, data))
        # Rows of one record in one batch go in separate passes, like rows read one by one.
        while items:
            seen: set[Any] = set()
            this_pass, later = [], []
            for item in items:
                key = self.key(item[1])
                if key is not None and key in seen:
                    later.append(item)
                else:
                    seen.add(key)
                    this_pass.append(item)
            self._write(this_pass, outcome)
            items = later
        return outcome

    def _write(self, items: list[tuple[Row, dict[str, Any]]], outcome: BatchOutcome) -> None:
        pks = self.match(items, outcome)
        to_write = [
            (row, data, pk) for (row, data), pk in zip(items, pks, strict=True) if pk is not False
        ]
        if not to_write:
            return
        results = type(self).service(
            actor=self.actor,
            rows=[BulkRow(data=self.prepare(data), pk=pk) for _r, data, pk in to_write],
        )
        for (row, _data, _pk), result in zip(to_write, results, strict=True):
            if result.status != "rejected":
                outcome.count(result.status)
                continue
            for field, messages in result.errors.items():
                column = self.mapping.column_name(field) if field else ""
                index = self.mapping.columns.get(field)
                value = row[1][index] if index is not None and index < len(row[1]) else ""
                for message in messages:
                    outcome.reject(row[0], column, convert.excerpt(value), message)

    def prepare(self, data: dict[str, Any]) -> dict[str, Any]:
        """The row's values as the service takes them (drop importer-only fields)."""
        return data

    # -- helpers for matching
    @staticmethod
    def _pick(
        candidates: list[Any], number: int, outcome: BatchOutcome, label: str, what: str
    ) -> Any:
        """One live candidate's pk; reject on several or on a match in the trash only."""
        alive = [c for c in candidates if getattr(c, "deleted_at", None) is None]
        if len(alive) == 1:
            return alive[0].pk
        if len(alive) > 1:
            ids = ", ".join(f"#{c.pk}" for c in alive[:5])
            outcome.reject(
                number,
                "",
                "",
                _("matches several %(what)s (%(ids)s) by %(key)s; add an external id column")
                % {"what": what, "ids": ids, "key": label},
            )
            return False
        if candidates:
            outcome.reject(
                number,
                "",
                "",
                _("matches %(what)s #%(pk)s in the trash; restore it first")
                % {"what": what, "pk": candidates[0].pk},
            )
            return False
        return None


def _index(queryset: Any, key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    found: dict[Any, list[Any]] = {}
    for obj in queryset:
        found.setdefault(key(obj), []).append(obj)
    return found


class CustomerImporter(RecordImporter):
    """Customers, matched by external id, email, phone or name + city."""

    kind = "customers"
    service = staticmethod(customer_import_batch)
    fk_fields = ("owner", "team")
    C = customer_choices
    converters = {
        "kind": convert.choice(C.CustomerKind),
        "market": convert.choice(C.Market),
        "buyer_motive": convert.choice(C.BuyerMotive),
        "age_band": convert.choice(C.AgeBand),
        "gender": convert.choice(C.Gender),
        "income_band": convert.choice(C.IncomeBand),
        "education": convert.choice(C.Education),
        "org_size": convert.choice(C.OrgSize),
        "ownership": convert.choice(C.Ownership),
        "financial_strength": convert.choice(C.FinancialStrength),
        "credit_rating": convert.choice(C.CreditRating),
        "credit_limit": convert.decimal(14, 2),
        "credit_overdue": convert.boolean,
        "category_need": convert.decimal(14, 2),
        "money": convert.choice(C.Assessment),
        "authority": convert.choice(C.Assessment),
        "need": convert.choice(C.Assessment),
        "tags": convert.tag_list,
        "source": convert.choice(C.Source),
        "country": convert.country,
    }

    def key(self, data: dict[str, Any]) -> Any:
        return (
            data.get("external_id")
            or (data.get("email") or "").lower()
            or data.get("phone")
            or (data.get("name"), data.get("city"))
        )

    def match(self, items: list[tuple[Row, dict[str, Any]]], outcome: BatchOutcome) -> list[Any]:
        manager = Customer.all_objects.only(
            "pk", "external_id", "email", "phone", "name", "city", "deleted_at"
        )
        ext = {d["external_id"] for _r, d in items if d.get("external_id")}
        emails = {d["email"] for _r, d in items if d.get("email")}
        emails |= {e.lower() for e in emails}
        phones = {d["phone"] for _r, d in items if d.get("phone")}
        names = {d["name"] for _r, d in items if d.get("name") and d.get("city")}
        by_ext = _index(manager.filter(external_id__in=ext), lambda c: c.external_id)
        plain = manager.filter(external_id__isnull=True) | manager.filter(external_id="")
        by_email = _index(plain.filter(email__in=emails), lambda c: c.email.lower())
        by_phone = _index(plain.filter(phone__in=phones), lambda c: c.phone)
        by_name = _index(plain.filter(name__in=names), lambda c: (c.name, c.city))
        answers: list[Any] = []
        for (number, _cells, _bad), data in items:
            what = _("customers")
            if data.get("external_id") in by_ext:
                answers.append(
                    self._pick(by_ext[data["external_id"]], number, outcome, "external id", what)
                )
                continue
            for label, table, key in (
                (_("email"), by_email, (data.get("email") or "").lower()),
                (_("phone"), by_phone, data.get("phone")),
                (_("name and city"), by_name, (data.get("name"), data.get("city"))),
            ):
                if key and key in table:
                    answers.append(self._pick(table[key], number, outcome, label, what))
                    break
            else:
                if "name" not in data:
                    outcome.reject(
                        number,
                        self.mapping.column_name("name"),
                        "",
                        _("A new customer needs a name."),
                    )
                    answers.append(False)
                else:
                    answers.append(None)
        return answers


class ContactImporter(RecordImporter):
    """Contacts of organizations, matched by external id, or organization + email / name."""

    kind = "contacts"
    service = staticmethod(contact_import_batch)
    C = customer_choices
    converters = {
        "buying_role": convert.choice(C.BuyingRole),
        "stance": convert.choice(C.Stance),
        "is_primary": convert.boolean,
    }

    def key(self, data: dict[str, Any]) -> Any:
        return data.get("external_id") or (
            data.get("customer_external_id") or data.get("customer_name"),
            (data.get("email") or "").lower() or data.get("name"),
        )

    def match(self, items: list[tuple[Row, dict[str, Any]]], outcome: BatchOutcome) -> list[Any]:
        for _row, data in items:
            if "name" not in data and ("first_name" in data or "last_name" in data):
                data["name"] = _full_name(data.get("first_name", ""), data.get("last_name", ""))
        ext_customers = {
            d["customer_external_id"] for _r, d in items if d.get("customer_external_id")
        }
        named = {d["customer_name"] for _r, d in items if d.get("customer_name")}
        customers = {
            c.external_id: c for c in Customer.all_objects.filter(external_id__in=ext_customers)
        }
        by_name = _index(Customer.objects.filter(name__in=named), lambda c: c.name)
        ext = {d["external_id"] for _r, d in items if d.get("external_id")}
        by_ext = _index(Contact.all_objects.filter(external_id__in=ext), lambda c: c.external_id)
        answers: list[Any] = []
        resolved: list[Customer | None] = []
        for (number, _cells, _bad), data in items:
            customer: Customer | None = None
            if data.get("customer_external_id"):
                customer = customers.get(data["customer_external_id"])
                if customer is None:
                    outcome.reject(
                        number,
                        self.mapping.column_name("customer_external_id"),
                        data["customer_external_id"],
                        _("no customer has this external id"),
                    )
                    answers.append(False)
                    resolved.append(None)
                    continue
            elif data.get("customer_name"):
                found = by_name.get(data["customer_name"], [])
                if len(found) != 1:
                    outcome.reject(
                        number,
                        self.mapping.column_name("customer_name"),
                        data["customer_name"],
                        _("no customer has this name")
                        if not found
                        else _("several customers have this name; use the customer's external id"),
                    )
                    answers.append(False)
                    resolved.append(None)
                    continue
                customer = found[0]
            resolved.append(customer)
            if customer is not None:
                data["customer"] = customer
            if data.get("external_id") in by_ext:
                answers.append(
                    self._pick(
                        by_ext[data["external_id"]], number, outcome, "external id", _("contacts")
                    )
                )
                continue
            if customer is None:
                if data.get("external_id"):
                    outcome.reject(number, "", "", _("A new contact needs its organization."))
                    answers.append(False)
                else:
                    answers.append(None)
                continue
            answers.append(None)
        # Natural keys within each organization, one query for the batch.
        customer_ids = {c.pk for c in resolved if c is not None}
        contacts = _index(
            Contact.all_objects.filter(customer_id__in=customer_ids, external_id__isnull=True),
            lambda c: c.customer_id,
        )
        for position, ((number, _cells, _bad), data) in enumerate(items):
            customer = resolved[position]
            if answers[position] is not None or customer is None:
                continue
            existing = contacts.get(customer.pk, [])
            email = (data.get("email") or "").lower()
            candidates = [c for c in existing if email and c.email.lower() == email]
            if not candidates and data.get("name"):
                candidates = [c for c in existing if c.name == data["name"]]
            answers[position] = self._pick(
                candidates, number, outcome, _("name or email"), _("contacts")
            )
            if answers[position] is None and not data.get("name"):
                outcome.reject(
                    number, self.mapping.column_name("name"), "", _("A new contact needs a name.")
                )
                answers[position] = False
        return answers

    def prepare(self, data: dict[str, Any]) -> dict[str, Any]:
        skip = {"customer_external_id", "customer_name", "first_name", "last_name"}
        return {k: v for k, v in data.items() if k not in skip}


class ProductImporter(RecordImporter):
    """The catalogue, matched by SKU."""

    kind = "products"
    service = staticmethod(product_import_batch)
    converters = {
        "list_price": convert.decimal(14, 2),
        "unit_cost": convert.decimal(14, 2),
        "currency": convert.currency,
        "is_active": convert.boolean,
    }

    def key(self, data: dict[str, Any]) -> Any:
        return data.get("sku")

    def match(self, items: list[tuple[Row, dict[str, Any]]], outcome: BatchOutcome) -> list[Any]:
        skus = {d["sku"] for _r, d in items if d.get("sku")}
        found = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk"))
        answers: list[Any] = []
        for (number, _cells, _bad), data in items:
            if not data.get("sku"):
                outcome.reject(
                    number, self.mapping.column_name("sku"), "", _("The SKU is missing.")
                )
                answers.append(False)
            else:
                answers.append(found.get(data["sku"]))
        return answers


class InteractionImporter(RecordImporter):
    """Interactions, matched by customer + time + subject."""

    kind = "interactions"
    service = staticmethod(interaction_import_batch)
    fk_fields = ("user",)
    A = activity_choices
    converters = {
        "channel": convert.choice(A.InteractionChannel),
        "direction": convert.choice(A.Direction),
        "outcome": convert.choice(A.Outcome),
        "occurred_at": convert.parse_datetime,
    }

    def key(self, data: dict[str, Any]) -> Any:
        return (
            data.get("customer_external_id") or data.get("customer_name"),
            data.get("occurred_at"),
            data.get("subject"),
        )

    def match(self, items: list[tuple[Row, dict[str, Any]]], outcome: BatchOutcome) -> list[Any]:
        ext = {d["customer_external_id"] for _r, d in items if d.get("customer_external_id")}
        named = {d["customer_name"] for _r, d in items if d.get("customer_name")}
        customers = {c.external_id: c for c in Customer.all_objects.filter(external_id__in=ext)}
        by_name = _index(Customer.objects.filter(name__in=named), lambda c: c.name)
        contact_ext = {d["contact_external_id"] for _r, d in items if d.get("contact_external_id")}
        contacts = {c.external_id: c for c in Contact.objects.filter(external_id__in=contact_ext)}
        answers: list[Any] = []
        wanted: list[tuple[int, Customer]] = []
        for position, ((number, _cells, _bad), data) in enumerate(items):
            customer = None
            if data.get("customer_external_id"):
                customer = customers.get(data["customer_external_id"])
            elif data.get("customer_name"):
                found = by_name.get(data["customer_name"], [])
                customer = found[0] if len(found) == 1 else None
            if customer is None:
                column = (
                    "customer_external_id" if data.get("customer_external_id") else "customer_name"
                )
                outcome.reject(
                    number, self.mapping.column_name(column), "", _("no such customer (or several)")
                )
                answers.append(False)
                continue
            if customer.deleted_at is not None:
                outcome.reject(
                    number, "", "", _("its customer #%(pk)s is in the trash") % {"pk": customer.pk}
                )
                answers.append(False)
                continue
            data["customer"] = customer
            if data.get("contact_external_id"):
                contact = contacts.get(data["contact_external_id"])
                if contact is None or contact.customer_id != customer.pk:
                    outcome.reject(
                        number,
                        self.mapping.column_name("contact_external_id"),
                        data["contact_external_id"],
                        _("no contact of the customer has this external id"),
                    )
                    answers.append(False)
                    continue
                data["contact"] = contact
            elif data.get("contact_name"):
                contact = Contact.objects.filter(
                    customer=customer, name=data["contact_name"]
                ).first()
                if contact is None:
                    outcome.reject(
                        number,
                        self.mapping.column_name("contact_name"),
                        data["contact_name"],
                        _("no contact of this name at the customer"),
                    )
                    answers.append(False)
                    continue
                data["contact"] = contact
            answers.append(None)
            wanted.append((position, customer))
        existing = _index(
            Interaction.objects.filter(
                customer_id__in={c.pk for _p, c in wanted},
                subject__in={items[p][1].get("subject") for p, _c in wanted},
            ),
            lambda i: (i.customer_id, i.occurred_at, i.subject),
        )
        for position, customer in wanted:
            data = items[position][1]
            same = existing.get((customer.pk, data.get("occurred_at"), data.get("subject")))
            if same:
                answers[position] = same[0].pk
        return answers

    def prepare(self, data: dict[str, Any]) -> dict[str, Any]:
        skip = {"customer_external_id", "customer_name", "contact_external_id", "contact_name"}
        return {k: v for k, v in data.items() if k not in skip}


IMPORTERS: dict[str, type[Importer]] = {
    "customers": CustomerImporter,
    "contacts": ContactImporter,
    "products": ProductImporter,
    "interactions": InteractionImporter,
}
