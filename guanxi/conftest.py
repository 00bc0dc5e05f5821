"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest

from guanxi.core.permissions import Role
from guanxi.testing import World, make_user, make_world


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.3 s per user; tests create many users and test no hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_caches():
    """Every test starts with empty caches: a test database reuses the ids of the tests
    before it (SQLite), so an entry keyed by ids could outlive the data it was made from."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture
def world(db: None) -> World:
    return make_world()


@pytest.fixture
def admin_user(db: None):
    return make_user("admin", Role.ADMINISTRATOR)


@pytest.fixture
def rep(db: None):
    return make_user("rep", Role.SALES_REP)
