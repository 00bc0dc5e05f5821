"""Precomputed duplicate pairs (``guanxi find_duplicates``) read through the user's scope."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from guanxi.core.permissions import Role
from guanxi.customers import services as customer_services
from guanxi.dedup import selectors
from guanxi.dedup.models import DuplicateCandidate
from guanxi.testing import World

pytestmark = pytest.mark.django_db


def test_precomputed_pairs_are_scoped_and_match_on_demand(world: World, monkeypatch) -> None:
    # given: a duplicate of the rep's own customer, and one of another team's
    admin = world.users[Role.ADMINISTRATOR]
    rep = world.users[Role.SALES_REP]
    for distance in ("own", "other"):
        original = world.records_for(Role.SALES_REP)[distance].customer
        customer_services.customer_create(
            actor=admin,
            data={"name": original.name, "email": original.email, "owner": original.owner,
                  "team": original.team},
        )  # fmt: skip
    on_demand = {
        user.pk: [g.ids for g in selectors.duplicate_groups(user=user, kind="customer")]
        for user in (admin, rep)
    }

    # when
    out = StringIO()
    call_command("find_duplicates", stdout=out)
    monkeypatch.setattr(selectors, "ON_DEMAND_LIMIT", 0)

    # then
    assert "customer: 2 likely duplicate pairs" in out.getvalue()
    assert DuplicateCandidate.objects.filter(kind="customer").count() == 2
    for user in (admin, rep):
        groups = selectors.duplicate_groups(user=user, kind="customer")
        assert [g.ids for g in groups] == on_demand[user.pk]
    assert len(on_demand[rep.pk]) == 1 and len(on_demand[admin.pk]) == 2
    reasons = [str(r) for r in selectors.duplicate_groups(user=rep, kind="customer")[0].reasons]
    assert reasons[0].startswith("same email ")

    # a second run replaces the pairs instead of adding to them
    call_command("find_duplicates", "--kind", "customer", stdout=StringIO())
    assert DuplicateCandidate.objects.filter(kind="customer").count() == 2
