"""Every guanxi command answers ``--help`` (argparse needs real strings, not lazy ones)."""

from __future__ import annotations

import pytest
from django.core.management import get_commands, load_command_class

GUANXI_COMMANDS = sorted(
    (name, app) for name, app in get_commands().items() if app.startswith("guanxi.")
)


def test_the_project_has_its_commands() -> None:
    names = {name for name, _app in GUANXI_COMMANDS}
    assert {"demo", "serve", "import", "export", "purge_trash", "worker"} <= names


@pytest.mark.parametrize(("name", "app"), GUANXI_COMMANDS, ids=[n for n, _a in GUANXI_COMMANDS])
def test_help_renders(name: str, app: str) -> None:
    command = load_command_class(app, name)
    text = command.create_parser("guanxi", name).format_help()
    assert f"guanxi {name}" in text
    assert str(command.help).split()[0] in text
