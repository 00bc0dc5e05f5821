"""Demo users: an administrator and one user per role, in three teams, with stable logins.

Passwords are generated randomly the first time and kept in ``$GUANXI_HOME/demo_logins.txt``
(owner-only, mode 0600), so every run of ``guanxi demo`` prints the same logins and nothing
is hard-coded. The file is the source of truth: a user missing from it gets a new password,
which is then set on the user.
"""

from __future__ import annotations

import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from guanxi.accounts.models import Team, User
from guanxi.core.permissions import Role
from guanxi.demo.generator import StaffMember
from guanxi.demo.locales import get_locale

LOGINS_FILE = "demo_logins.txt"


@dataclass(frozen=True)
class DemoLogin:
    """One demo user's login, as printed for the person trying guanxi out."""

    username: str
    password: str
    role: str
    team: str


# (username, role, team index or None, index into the locale's staff names)
DEMO_USERS: tuple[tuple[str, str, int | None, int], ...] = (
    ("admin", Role.ADMINISTRATOR, None, 0),
    ("sales_manager", Role.SALES_MANAGER, 0, 1),
    ("sales_rep", Role.SALES_REP, 0, 2),
    ("sales_rep_2", Role.SALES_REP, 0, 3),
    ("read_only", Role.READ_ONLY, 0, 4),
    ("south_manager", Role.SALES_MANAGER, 1, 5),
    ("south_rep", Role.SALES_REP, 1, 6),
    ("service_agent", Role.SERVICE_AGENT, 1, 7),
    ("marketer", Role.MARKETER, 2, 8),
    ("analyst", Role.ANALYST, 2, 9),
)


def logins_path() -> Path:
    """Where the demo passwords are kept (``$GUANXI_HOME/demo_logins.txt``)."""
    return Path(settings.GUANXI_HOME) / LOGINS_FILE


def read_passwords(path: Path) -> dict[str, str]:
    """``{username: password}`` from the logins file (empty when there is none)."""
    if not path.exists():
        return {}
    passwords: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        username, password = line.split("\t")[:2]
        passwords[username] = password
    return passwords


def write_passwords(path: Path, logins: list[DemoLogin]) -> None:
    """Write the logins file with owner-only permissions (it holds passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# guanxi demo logins: username<TAB>password<TAB>role<TAB>team\n")
        for login in logins:
            handle.write(f"{login.username}\t{login.password}\t{login.role}\t{login.team}\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def ensure_demo_users(
    *, locale: str = "en", path: Path | None = None
) -> tuple[list[DemoLogin], list[StaffMember]]:
    """Create the demo teams and users that are missing; return their logins and staff.

    Existing users keep their team and role; a user whose password is not in the logins
    file gets a fresh random one. Users are not customer records, so creating them here
    directly (not through a service) leaves the customer change log untouched.
    """
    path = path or logins_path()
    words = get_locale(locale)
    passwords = read_passwords(path)
    new_passwords = {
        username: secrets.token_urlsafe(12)
        for username, *_ in DEMO_USERS
        if username not in passwords
    }
    passwords.update(new_passwords)
    existing = {u.username: u for u in User.objects.filter(username__in=passwords)}
    to_hash = [u for u, *_ in DEMO_USERS if u not in existing or u in new_passwords]
    # PBKDF2 releases the GIL: hash the handful of passwords on both cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes = dict(
            zip(to_hash, pool.map(lambda u: make_password(passwords[u]), to_hash), strict=True)
        )

    logins: list[DemoLogin] = []
    staff: list[StaffMember] = []
    with transaction.atomic():
        teams = [Team.objects.get_or_create(name=name)[0] for name in words.team_names]
        for username, role, team_index, name_index in DEMO_USERS:
            user = existing.get(username)
            if user is None:
                first_name, last_name = words.staff_names[name_index]
                user = User(
                    username=username,
                    role=role,
                    team=teams[team_index] if team_index is not None else None,
                    first_name=first_name,
                    last_name=last_name,
                    email=f"{username}@{words.email_domain}",
                    language=words.code,
                    is_staff=role == Role.ADMINISTRATOR,
                    is_superuser=role == Role.ADMINISTRATOR,
                    password=hashes[username],
                )
                user.save()
            elif username in hashes:
                user.password = hashes[username]
                user.save(update_fields=["password"])
            team = user.team
            logins.append(
                DemoLogin(username, passwords[username], user.role, team.name if team else "")
            )
            staff.append(StaffMember(user.pk, user.team_id, user.role))
        for team in teams:
            if team.manager_id is None:
                manager = next(
                    (u for u in User.objects.filter(team=team, role=Role.SALES_MANAGER)), None
                )
                if manager is not None:
                    team.manager = manager
                    team.save(update_fields=["manager"])
    if new_passwords or not path.exists():
        write_passwords(path, logins)
    else:
        os.chmod(path, 0o600)
    return logins, staff
