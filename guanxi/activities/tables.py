"""List tables of interactions, notes and tasks."""

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


class NoteTable(Table):
    columns = (
        Column("created_at", _("Written"), order_by="created_at"),
        Column("note", _("Note"), accessor="headline", link="note_detail"),
        Column(
            "customer",
            _("Customer"),
            order_by="customer__name",
            link="customer_detail",
            link_pk="customer_id",
        ),
        Column("author", _("Author"), order_by="author__username"),
    )
    default_sort = "-created_at"


class TaskTable(Table):
    columns = (
        Column("title", _("Task"), order_by="title", link="task_detail"),
        Column("due_date", _("Due"), order_by="due_date"),
        Column(
            "customer",
            _("Customer"),
            order_by="customer__name",
            link="customer_detail",
            link_pk="customer_id",
        ),
        Column("assignee", _("Assigned to"), order_by="assignee__username"),
        Column("done", _("Done"), order_by="done"),
        Column("created_at", _("Created"), order_by="created_at"),
    )
    default_sort = "due_date"
