"""Test helpers: users for every role and a small world of records per visibility scope.

``make_world()`` builds two teams. Team *North* holds one user per role plus a colleague
(``north_peer``); team *South* holds ``south_rep``. For every role user it creates:

* ``own``: a customer owned by that user,
* ``team``: a customer owned by ``north_peer`` in team North,
* ``other``: a customer owned by ``south_rep`` in team South,

each with a contact, an order and an interaction, so tests can ask every role about every
kind of record at every distance.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from guanxi.accounts.models import Team, User
from guanxi.core.permissions import Role

_counter = itertools.count(1)


def make_user(username: str, role: str, team: Team | None = None, **extra: Any) -> User:
    """A user with a role and team (password ``pw-<username>``)."""
    user = User.objects.create_user(
        username=username, password=f"pw-{username}", role=role, team=team, **extra
    )
    return user


@dataclass
class RecordSet:
    """The customer, contact, order and interaction that sit at one distance from a user."""

    customer: Any
    contact: Any
    order: Any
    interaction: Any


@dataclass
class World:
    north: Team
    south: Team
    users: dict[str, User] = field(default_factory=dict)
    north_peer: User | None = None
    south_rep: User | None = None
    records: dict[str, RecordSet] = field(default_factory=dict)
    product: Any = None

    def records_for(self, role: str) -> dict[str, RecordSet]:
        """``{"own": ..., "team": ..., "other": ...}`` as seen by the user of ``role``."""
        return {
            "own": self.records[f"own:{role}"],
            "team": self.records["team"],
            "other": self.records["other"],
        }


def make_records(owner: User, team: Team | None, product: Any, label: str) -> RecordSet:
    """Insert one customer with a contact, an order and an interaction (no change log)."""
    from guanxi.activities.models import Interaction
    from guanxi.customers.models import Contact, Customer
    from guanxi.sales.models import Order, OrderLine

    n = next(_counter)
    customer = Customer.objects.create(
        name=f"{label} customer {n}",
        kind="organization",
        market="industrial",
        email=f"c{n}@example.com",
        owner=owner,
        team=team,
        external_id=f"C-{n}",
    )
    contact = Contact.objects.create(customer=customer, name=f"{label} contact {n}")
    order = Order.objects.create(
        external_id=f"O-{n}",
        customer=customer,
        total_amount=Decimal("100.00"),
        # Within the last 200 days however many worlds a test run makes: tests that count
        # recent orders (the share of customer's year, recency) must not depend on the order
        # in which the tests ran.
        ordered_at=timezone.now() - dt.timedelta(days=(n - 1) % 200 + 1),
    )
    OrderLine.objects.create(
        order=order,
        line_number=1,
        product=product,
        quantity=Decimal("1"),
        unit_price=Decimal("100.00"),
        amount=Decimal("100.00"),
    )
    interaction = Interaction.objects.create(
        customer=customer, channel="phone", subject=f"{label} call {n}", user=owner
    )
    return RecordSet(customer, contact, order, interaction)


def make_world() -> World:
    """Teams, one user per role, and records at own / team / other distance (see module doc)."""
    from guanxi.sales.models import Product

    north = Team.objects.create(name="North")
    south = Team.objects.create(name="South")
    world = World(north=north, south=south)
    for role in Role.values:
        world.users[role] = make_user(role, role, north)
    world.north_peer = make_user("north_peer", Role.SALES_REP, north)
    world.south_rep = make_user("south_rep", Role.SALES_REP, south)
    world.product = Product.objects.create(sku="SKU-1", name="Widget", list_price=Decimal("100"))
    for role, user in world.users.items():
        world.records[f"own:{role}"] = make_records(user, north, world.product, role)
    world.records["team"] = make_records(world.north_peer, north, world.product, "team")
    world.records["other"] = make_records(world.south_rep, south, world.product, "other")
    return world
