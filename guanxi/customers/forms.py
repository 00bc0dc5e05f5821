"""Forms of the customer pages. They check input types; the services validate and save."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Team, User
from guanxi.accounts.selectors import assignable_users
from guanxi.core.forms import DateInput, ServiceModelForm, limit_choices
from guanxi.core.permissions import Action, Scope, scope_for

from . import selectors
from .choices import ConsentChannel, ConsentMethod, CustomFieldType
from .models import Contact, Customer, CustomFieldDefinition

# Latin and full-width commas and semicolons (users type either).
_TAG_SEPARATORS = re.compile("[,;\uff0c\uff1b]")
_NOTES_WIDGET = forms.Textarea(attrs={"rows": 4, "maxlength": settings.GUANXI_MAX_TEXT_LENGTH})

#: The groups of the customer form, in order (custom fields are added after "Relationship").
CUSTOMER_SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (_("Profile"), ("name", "kind", "market", "buyer_motive", "source", "external_id",
                    "email", "phone", "language")),
    (_("Region and industry"), ("country", "province", "city", "address", "industry")),
    (_("Person"), ("age_band", "gender", "income_band", "education", "occupation")),
    (_("Organization"), ("org_size", "ownership", "financial_strength")),
    (_("Qualification (MAN)"), ("money", "money_note", "authority", "authority_note", "need",
                                "need_note")),
    (_("Credit"), ("credit_rating", "credit_limit", "credit_overdue")),
    (_("Share of customer"), ("category_need",)),
    (_("Relationship"), ("owner", "team", "tags")),
    (_("Notes"), ("notes",)),
)  # fmt: skip

CUSTOMER_FORM_FIELDS = tuple(
    name for _label, names in CUSTOMER_SECTIONS for name in names if name != "tags"
)


def assignable_owners(user: Any, action: str, current: Any = None) -> QuerySet[User]:
    """Users the actor may make owner of a customer without leaving their own scope."""
    return assignable_users(user, "customer", action, current)


def assignable_teams(user: Any, action: str, current: Any = None) -> QuerySet[Team]:
    """Teams a customer may be put in by the actor (any team for ALL scope)."""
    if scope_for(user, "customer", action) is Scope.ALL:
        return Team.objects.all()
    ids = {getattr(user, "team_id", None), getattr(current, "pk", None)} - {None}
    return Team.objects.filter(pk__in=ids)


def _custom_form_field(definition: CustomFieldDefinition) -> forms.Field:
    common: dict[str, Any] = {"label": definition.label, "required": definition.required}
    kind = definition.field_type
    if kind == CustomFieldType.INTEGER:
        return forms.IntegerField(**common)
    if kind == CustomFieldType.DECIMAL:
        return forms.DecimalField(**common)
    if kind == CustomFieldType.DATE:
        return forms.DateField(widget=DateInput(), **common)
    if kind == CustomFieldType.BOOLEAN:
        return forms.TypedChoiceField(
            choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))],
            coerce=lambda v: v == "true",
            empty_value=None,
            **common,
        )
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(
            choices=[("", "—"), *[(c, c) for c in definition.choices]], **common
        )
    return forms.CharField(max_length=definition.max_length, **common)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class CustomerForm(ServiceModelForm):
    """Every editable customer field, tags as text and the administrator's custom fields."""

    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas, e.g. VIP, trade show 2026."),
    )

    class Meta:
        model = Customer
        fields = CUSTOMER_FORM_FIELDS
        widgets = {
            "notes": _NOTES_WIDGET,
            "address": forms.TextInput(),
        }

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        instance = self.instance if self.instance.pk else None
        action = Action.CHANGE if instance else Action.ADD
        owner = instance.owner if instance else None
        limit_choices(self, "owner", assignable_owners(user, action, owner))
        limit_choices(
            self, "team", assignable_teams(user, action, instance.team if instance else None)
        )
        if instance is not None:
            self.initial["tags"] = ", ".join(t.name for t in instance.tags.all())
        self.custom_definitions = list(CustomFieldDefinition.objects.all())
        values = instance.custom_fields if instance else {}
        for definition in self.custom_definitions:
            name = f"cf_{definition.name}"
            self.fields[name] = _custom_form_field(definition)
            if definition.name in (values or {}):
                self.initial[name] = _initial_custom(definition, values[definition.name])

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """The form's fields grouped for display (see :data:`CUSTOMER_SECTIONS`)."""
        groups = [(label, [self[n] for n in names]) for label, names in CUSTOMER_SECTIONS]
        if self.custom_definitions:
            custom = [self[f"cf_{d.name}"] for d in self.custom_definitions]
            groups.insert(-1, (_("Custom fields"), custom))
        return groups

    def tag_names(self) -> list[str]:
        text = self.cleaned_data.get("tags") or ""
        return [t.strip() for t in _TAG_SEPARATORS.split(text) if t.strip()]

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        custom: dict[str, Any] = {}
        for definition in self.custom_definitions:
            value = self.cleaned_data.get(f"cf_{definition.name}")
            if value not in (None, ""):
                custom[definition.name] = _json_value(value)
        data["custom_fields"] = custom
        return data


def _initial_custom(definition: CustomFieldDefinition, value: Any) -> Any:
    if definition.field_type == CustomFieldType.BOOLEAN:
        return "true" if value else "false"
    return value


class ContactForm(ServiceModelForm):
    """A contact person; the organization is chosen among customers the user may see."""

    class Meta:
        model = Contact
        fields = (
            "customer", "name", "title", "email", "phone", "buying_role", "stance",
            "is_primary", "external_id", "notes",
        )  # fmt: skip
        widgets = {"notes": _NOTES_WIDGET}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        limit_choices(
            self,
            "customer",
            selectors.customer_list(user=user).select_related(None).only("pk", "name"),
        )


class ConsentForm(forms.Form):
    """Record a customer's answer on one channel, and how it was given."""

    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    granted = forms.TypedChoiceField(
        label=_("Answer"),
        choices=[("yes", _("Granted")), ("no", _("Refused"))],
        coerce=lambda v: v == "yes",
    )
    method = forms.ChoiceField(label=_("How"), choices=ConsentMethod.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class CustomerOwnerForm(forms.Form):
    """Hand a customer to another relationship manager (a quick action of the customer 360).

    Only users the actor may make owner without leaving their own scope are offered.
    """

    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none())

    def __init__(self, *args: Any, user: Any = None, customer: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = customer.owner if customer is not None else None
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = assignable_owners(user, Action.CHANGE, current)
        if current is not None:
            self.initial.setdefault("owner", current.pk)
