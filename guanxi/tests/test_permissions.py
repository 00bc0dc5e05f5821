from pathlib import Path

import pytest

from guanxi.core.permissions import Role, Scope, policy_markdown, scope_for
from guanxi.testing import make_user

DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_docs_show_the_policy_the_code_applies():
    text = DOCS.read_text(encoding="utf-8")
    documented = text.split("<!-- policy:start -->")[1].split("<!-- policy:end -->")[0]
    assert documented.strip() == policy_markdown().strip()


@pytest.mark.django_db
def test_superuser_is_an_administrator_and_inactive_users_have_no_scope():
    boss = make_user("boss", Role.READ_ONLY, is_superuser=True)
    gone = make_user("gone", Role.ADMINISTRATOR, is_active=False)
    assert scope_for(boss, "customer", "erase") is Scope.ALL
    assert scope_for(gone, "customer", "view") is Scope.NONE


@pytest.mark.django_db
def test_restrict_gives_each_role_its_own_team_or_all_customers(world):
    from guanxi.customers.models import Customer

    expected = {
        Role.ADMINISTRATOR: {"own", "team", "other"},
        Role.SALES_MANAGER: {"own", "team"},
        Role.SALES_REP: {"own"},
        Role.SERVICE_AGENT: {"own", "team", "other"},
        Role.MARKETER: {"own", "team", "other"},
        Role.ANALYST: {"own", "team", "other"},
        Role.READ_ONLY: {"own", "team"},
    }
    for role, distances in expected.items():
        records = world.records_for(role)
        visible = set(Customer.objects.restrict(world.users[role]).values_list("pk", flat=True))
        seen = {d for d, r in records.items() if r.customer.pk in visible}
        assert seen == distances, role
