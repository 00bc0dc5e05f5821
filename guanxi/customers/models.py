"""The customer database: customers, their contacts, tags, custom fields and consent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import SoftDeleteModel, TimestampedModel
from guanxi.core.permissions import ScopedQuerySet
from guanxi.core.search import phone_digits

from . import choices

_text_limit = MaxLengthValidator(settings.GUANXI_MAX_TEXT_LENGTH)
_phone = RegexValidator(
    r"^\+?[0-9 ()\-.]{5,32}$", _("Enter a phone number of digits, spaces, + ( ) - or .")
)


class Tag(models.Model):
    """A free label on customers (e.g. "VIP", "trade show 2026")."""

    permission_object_type = "configuration"

    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#206bc4")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(models.Model):
    """A typed field an administrator adds to customers; values live in ``custom_fields``."""

    permission_object_type = "configuration"

    name = models.SlugField(
        _("key"), max_length=50, unique=True, help_text=_("Lower-case key used in the API.")
    )
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=choices.CustomFieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("Allowed values of a choice field.")
    )
    max_length = models.PositiveIntegerField(_("maximum length"), default=200)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if self.field_type == choices.CustomFieldType.CHOICE and not self.choices:
            raise ValidationError({"choices": _("A choice field needs at least one choice.")})

    def to_python(self, value: Any) -> Any:
        """Validate one value and return its canonical JSON form (raises ValidationError)."""
        if value in (None, ""):
            if self.required:
                raise ValidationError(_("%(label)s is required.") % {"label": self.label})
            return None
        kind = self.field_type
        T = choices.CustomFieldType
        try:
            if kind == T.TEXT:
                text = str(value)
                if len(text) > self.max_length:
                    raise ValueError
                return text
            if kind == T.INTEGER:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                return int(str(value).strip())
            if kind == T.DECIMAL:
                number = Decimal(str(value).strip())
                if not number.is_finite():
                    raise ValueError
                return str(number)
            if kind == T.DATE:
                return dt.date.fromisoformat(str(value)).isoformat()
            if kind == T.BOOLEAN:
                if isinstance(value, bool):
                    return value
                lowered = str(value).strip().lower()
                if lowered in {"true", "1", "yes", "是"}:
                    return True
                if lowered in {"false", "0", "no", "否"}:
                    return False
                raise ValueError
            if kind == T.CHOICE:
                if value not in self.choices:
                    raise ValueError
                return value
        except (ValueError, TypeError, InvalidOperation):
            pass
        raise ValidationError(
            _("%(label)s: %(value)r is not a valid %(type)s.")
            % {"label": self.label, "value": str(value)[:50], "type": self.get_field_type_display()}
        )


class Customer(SoftDeleteModel, TimestampedModel):
    """A person or an organization the company sells to: the centre of the customer 360.

    Ownership (``owner``, the relationship manager, and ``team``) decides who may see and
    change the customer and everything attached to it.
    """

    permission_object_type = "customer"
    scope_owner_fields = ("owner",)
    scope_team_fields = ("team",)

    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    kind = models.CharField(
        _("kind"),
        max_length=12,
        choices=choices.CustomerKind.choices,
        default=choices.CustomerKind.PERSON,
    )
    name = models.CharField(_("name"), max_length=200, db_index=True)
    market = models.CharField(
        _("market"),
        max_length=16,
        choices=choices.Market.choices,
        default=choices.Market.CONSUMER,
    )
    buyer_motive = models.CharField(
        _("buyer motive"), max_length=16, choices=choices.BuyerMotive.choices, blank=True
    )
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[_phone])
    # Region
    country = models.CharField(_("country"), max_length=2, default="CN")
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    industry = models.CharField(_("industry"), max_length=80, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    # Persons
    age_band = models.CharField(
        _("age band"), max_length=10, choices=choices.AgeBand.choices, blank=True
    )
    gender = models.CharField(
        _("gender"), max_length=10, choices=choices.Gender.choices, blank=True
    )
    income_band = models.CharField(
        _("income band"), max_length=14, choices=choices.IncomeBand.choices, blank=True
    )
    education = models.CharField(
        _("education"), max_length=12, choices=choices.Education.choices, blank=True
    )
    occupation = models.CharField(_("occupation"), max_length=80, blank=True)
    # Organizations
    org_size = models.CharField(
        _("size"), max_length=10, choices=choices.OrgSize.choices, blank=True
    )
    ownership = models.CharField(
        _("ownership"), max_length=14, choices=choices.Ownership.choices, blank=True
    )
    financial_strength = models.CharField(
        _("financial strength"),
        max_length=10,
        choices=choices.FinancialStrength.choices,
        blank=True,
    )
    # MAN qualification
    money = models.CharField(
        _("money (ability to pay)"),
        max_length=8,
        choices=choices.Assessment.choices,
        default=choices.Assessment.UNKNOWN,
    )
    money_note = models.CharField(_("money note"), max_length=300, blank=True)
    authority = models.CharField(
        _("authority (decides)"),
        max_length=8,
        choices=choices.Assessment.choices,
        default=choices.Assessment.UNKNOWN,
    )
    authority_note = models.CharField(_("authority note"), max_length=300, blank=True)
    need = models.CharField(
        _("need"),
        max_length=8,
        choices=choices.Assessment.choices,
        default=choices.Assessment.UNKNOWN,
    )
    need_note = models.CharField(_("need note"), max_length=300, blank=True)
    qualification_status = models.CharField(
        _("qualification"),
        max_length=14,
        choices=choices.QualificationStatus.choices,
        default=choices.QualificationStatus.UNASSESSED,
        editable=False,
        db_index=True,
    )
    # Credit
    credit_rating = models.CharField(
        _("credit rating"), max_length=3, choices=choices.CreditRating.choices, blank=True
    )
    credit_limit = models.DecimalField(
        _("credit limit"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    credit_overdue = models.BooleanField(_("overdue payments"), default=False)
    # Share of customer (客户占有率): what the customer buys of this kind in a year, from every
    # supplier (an estimate); the insights divide the last 12 months' orders by it.
    category_need = models.DecimalField(
        _("annual category need"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "What the customer spends in a year on the kind of products you sell, with every "
            "supplier (an estimate). With it, the insights show your share of customer."
        ),
    )
    source = models.CharField(
        _("source"), max_length=12, choices=choices.Source.choices, blank=True
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="+")
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True, validators=[_text_limit])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        base_manager_name = "all_objects"
        indexes = [
            models.Index(fields=["owner", "name"]),
            models.Index(fields=["team", "name"]),
            models.Index(fields=["province", "city"]),
            # Global search compares phone numbers digits only (guanxi.core.search).
            models.Index(phone_digits("phone"), name="customer_phone_digits"),
        ]

    def __str__(self) -> str:
        return self.name

    def changelog_customer_id(self) -> int | None:
        return self.pk

    def derive_qualification(self) -> str:
        """MAN: qualified when money, authority and need are all yes; disqualified on any no."""
        answers = {self.money, self.authority, self.need}
        A, Q = choices.Assessment, choices.QualificationStatus
        if A.NO in answers:
            return Q.DISQUALIFIED
        if answers == {A.YES}:
            return Q.QUALIFIED
        if A.YES in answers:
            return Q.PARTIAL
        return Q.UNASSESSED

    def clean(self) -> None:
        self.qualification_status = self.derive_qualification()
        self.custom_fields = validate_custom_fields(self.custom_fields or {})


def validate_custom_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Check custom field values against their definitions; return the canonical values."""
    if not isinstance(values, dict):
        raise ValidationError({"custom_fields": _("Custom fields must be an object.")})
    definitions = {d.name: d for d in CustomFieldDefinition.objects.all()}
    errors: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    for key in sorted(set(values) - set(definitions)):
        errors[key] = _("There is no custom field %(key)s.") % {"key": key}
    for key, definition in definitions.items():
        try:
            value = definition.to_python(values.get(key))
        except ValidationError as exc:
            errors[key] = exc.messages
            continue
        if value is not None:
            cleaned[key] = value
    if errors:
        raise ValidationError({"custom_fields": [f"{k}: {v}" for k, v in errors.items()]})
    return cleaned


class CustomerConsent(models.Model):
    """Whether a customer agreed to be contacted on one channel, and when and how."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=8, choices=choices.ConsentChannel.choices)
    granted = models.BooleanField(_("granted"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    method = models.CharField(_("how"), max_length=12, choices=choices.ConsentMethod.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("contact consent")
        verbose_name_plural = _("contact consents")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="one_consent_per_channel")
        ]

    def __str__(self) -> str:
        state = _("granted") if self.granted else _("refused")
        return f"{self.get_channel_display()}: {state}"

    def as_history_value(self) -> str:
        state = "granted" if self.granted else "refused"
        return f"{state} ({self.method}, {self.recorded_at.isoformat()})"


class Contact(SoftDeleteModel, TimestampedModel):
    """A person at an organization customer, with their part in the buying decision."""

    permission_object_type = "contact"
    scope_owner_fields = ("customer__owner",)
    scope_team_fields = ("customer__team",)

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    # Indexed for the list's sort by name and the search's name prefix (on PostgreSQL
    # Django adds a varchar_pattern_ops twin for LIKE 'x%').
    name = models.CharField(_("name"), max_length=200, db_index=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[_phone])
    buying_role = models.CharField(
        _("buying role"),
        max_length=16,
        choices=choices.BuyingRole.choices,
        default=choices.BuyingRole.UNKNOWN,
    )
    stance = models.CharField(
        _("stance"),
        max_length=10,
        choices=choices.Stance.choices,
        default=choices.Stance.UNKNOWN,
    )
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.TextField(_("notes"), blank=True, validators=[_text_limit])

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["name", "id"]
        base_manager_name = "all_objects"
        indexes = [
            # Global search compares phone numbers digits only (guanxi.core.search).
            models.Index(phone_digits("phone"), name="contact_phone_digits"),
        ]

    def __str__(self) -> str:
        return self.name

    def changelog_customer_id(self) -> int | None:
        return self.customer_id
