"""List table of interactions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guanxi.core.tables import Column, Table


class InteractionTable(Table):
    columns = (
        Column("occurred_at", _("When"), order_by="occurred_at"),
        Column("subject", _("Subject"), order_by="subject", link="interaction_detail"),
        Column(
            "customer",
            _("Customer"),
            order_by="customer__name",
            link="customer_detail",
            link_pk="customer_id",
        ),
        Column("contact", _("Contact"), order_by="contact__name"),
        Column("channel", _("Channel"), order_by="channel"),
        Column("direction", _("Direction"), order_by="direction"),
        Column("outcome", _("Outcome"), order_by="outcome"),
        Column("user", _("By"), order_by="user__username"),
    )
    default_sort = "-occurred_at"
