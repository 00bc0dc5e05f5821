"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest

from guanxi.core.testing import World, make_user, make_world
from guanxi.core.permissions import Role


@pytest.fixture
def world(db: None) -> World:
    return make_world()


@pytest.fixture
def admin_user(db: None):
    return make_user("admin", Role.ADMINISTRATOR)


@pytest.fixture
def rep(db: None):
    return make_user("rep", Role.SALES_REP)
