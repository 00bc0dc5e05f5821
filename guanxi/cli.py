"""The ``guanxi`` command: a thin wrapper around the project's management commands.

``guanxi analytics fit|score`` run without Django; everything else sets up Django
and dispatches to ``manage.py``-style commands (``demo``, ``serve``, ``migrate`` ...).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``guanxi`` console script."""
    args = list(sys.argv if argv is None else ["guanxi", *argv])
    if len(args) > 1 and args[1] == "analytics":
        if len(args) > 2 and args[2] == "refresh":
            # The CRM's own refresh needs the database: a Django management command.
            args = [args[0], "analytics_refresh", *args[3:]]
        else:
            # Analysts run fit/score on a CSV without a database: no Django, fast start.
            from guanxi.analytics.cli import main as analytics_main

            raise SystemExit(analytics_main(args[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    from django.core.management import execute_from_command_line

    from guanxi.core.context import change_context

    # Changes made by a command share one request id and are marked as coming from the CLI.
    with change_context(source="cli"):
        execute_from_command_line(args)


if __name__ == "__main__":  # pragma: no cover
    main()
