"""The product catalogue and the transaction records (orders and their lines).

Orders are facts: created or imported once, corrected by a reversing order, never edited.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import ImmutableRecordError, TimestampedModel
from guanxi.core.permissions import ScopedQuerySet

from .choices import OrderKind, SalesChannel

currency_code = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 currency code."))


class Product(TimestampedModel):
    """Something the company sells, with its list price and unit cost (for margins)."""

    permission_object_type = "product"

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    list_price = models.DecimalField(
        _("list price"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    unit_cost = models.DecimalField(
        _("unit cost"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=settings.GUANXI_DEFAULT_CURRENCY,
        validators=[currency_code],
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    def changelog_customer_id(self) -> None:
        return None


class Order(models.Model):
    """One purchase by one customer: a fact, imported or created once.

    A mistake is corrected by a *reversal*: a second order of kind ``reversal`` whose lines
    carry the negated quantities and amounts and which points at the order it reverses.
    """

    permission_object_type = "order"
    scope_owner_fields = ("customer__owner",)
    scope_team_fields = ("customer__team",)

    external_id = models.CharField(_("external id"), max_length=100, unique=True)
    # Not indexed alone: order_customer_summary (customer, ordered_at, total_amount) serves
    # every lookup by customer, and a second index would cost every order written.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )
    ordered_at = models.DateTimeField(_("ordered at"), default=timezone.now)
    channel = models.CharField(
        _("channel"), max_length=12, choices=SalesChannel.choices, default=SalesChannel.DIRECT
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=settings.GUANXI_DEFAULT_CURRENCY,
        validators=[currency_code],
    )
    total_amount = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    kind = models.CharField(
        _("kind"), max_length=8, choices=OrderKind.choices, default=OrderKind.SALE
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_at", "-id"]
        indexes = [
            # Covering index for the per-customer RFM summary (GROUP BY customer).
            models.Index(
                fields=["customer", "ordered_at", "total_amount"], name="order_customer_summary"
            ),
            models.Index(fields=["ordered_at"], name="order_time"),
        ]

    def __str__(self) -> str:
        return self.external_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("orders are facts: record a reversal instead of editing")
        super().save(*args, **kwargs)

    def changelog_customer_id(self) -> int | None:
        return self.customer_id


class OrderLine(models.Model):
    """One product line of an order: quantity x unit price = amount (Decimal, order currency)."""

    # Not indexed alone: unique_order_line (order, line_number) serves lookups by order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_number = models.PositiveIntegerField(_("line"))
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="unique_order_line")
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("order lines are facts: record a reversal instead")
        super().save(*args, **kwargs)
