"""``guanxi export <kind>``: write a list to CSV or XLSX, scoped to one user's permissions.

The same engine as the web and API exports (:mod:`guanxi.dataio.exporting`): the rows are
those the user may export, filtered like the list page (``--filter province=广东``), with the
columns ``guanxi import`` reads back. Every run is recorded in the export audit.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.core.permissions import Role
from guanxi.dataio.exporting import KINDS, Export, ExportFormat, start_export

#: Rows between two refreshes of the progress line.
PROGRESS_EVERY = 5000


def default_user() -> User | None:
    """The first administrator (lowest id): the user an export runs as without ``--user``."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(role=Role.ADMINISTRATOR) | Q(is_superuser=True))
        .order_by("pk")
        .first()
    )


def parse_filters(items: list[str]) -> dict[str, list[str]]:
    """``["tag=VIP", "tag=Key", "province=广东"]`` -> ``{"tag": ["VIP", "Key"], ...}``."""
    filters: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(
                _("--filter takes key=value (for example province=Guangdong), not %(item)r.")
                % {"item": item}
            )
        filters.setdefault(key.strip(), []).append(value)
    return filters


def describe_error(error: ValidationError) -> str:
    """A validation error as one line naming each filter: ``ordered_after: Enter a date.``"""
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


class Command(BaseCommand):
    """Export customers, contacts, products, orders (one row per line) or interactions."""

    help = _(
        "Export a list to CSV or XLSX with the columns that guanxi import reads back. Rows "
        "are limited to what --user may export (default: the first administrator)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=list(KINDS), help=_("What to export."))
        parser.add_argument(
            "--format",
            dest="file_format",
            choices=[f.value for f in ExportFormat],
            default=None,
            help=_("csv (UTF-8 with BOM) or xlsx; default: from the --output suffix, else csv."),
        )
        parser.add_argument(
            "--output",
            "-o",
            help=_(
                "File to write (default: <kind>-<date>-<time>.<format> in the current "
                "directory); '-' writes CSV to standard output."
            ),
        )
        parser.add_argument(
            "--user",
            help=_(
                "User name whose export permissions apply (default: the first administrator, "
                "by lowest id)."
            ),
        )
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=_(
                "A filter of the list page or API list (repeatable), e.g. --filter "
                "province=Guangdong --filter tag=VIP."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = self.user(options["user"])
        output = options["output"]
        file_format = options["file_format"]
        if file_format is None:
            file_format = "xlsx" if output and output.lower().endswith(".xlsx") else "csv"
        if output == "-" and file_format != ExportFormat.CSV:
            raise CommandError(_("Only CSV can be written to standard output."))
        try:
            export = start_export(
                actor=user,
                kind=options["kind"],
                format=file_format,
                params=parse_filters(options["filter"]),
                source="cli",
            )
        except PermissionDenied as error:
            raise CommandError(
                _("%(user)s may not export %(kind)s: %(reason)s")
                % {"user": user.username, "kind": options["kind"], "reason": error}
            ) from error
        except ValidationError as error:
            raise CommandError(describe_error(error)) from error

        # Progress and summary go to stderr when the file itself goes to stdout.
        report = self.stderr if output == "-" else self.stdout
        if options["verbosity"] > 0:
            export.on_row = self.progress(export)
        started = time.perf_counter()
        path = self.write(export, output)
        if options["verbosity"] > 0:
            self.stderr.write("")  # end the progress line
        elapsed = time.perf_counter() - started
        report.write(
            _("Exported %(rows)s %(kind)s rows as %(user)s to %(path)s in %(seconds).1f s.")
            % {
                "rows": f"{export.rows_written:,}",
                "kind": export.kind.name,
                "user": user.username,
                "path": path,
                "seconds": elapsed,
            }
        )

    def user(self, username: str | None) -> User:
        if username:
            try:
                return User.objects.get(username=username, is_active=True)
            except User.DoesNotExist:
                raise CommandError(
                    _("There is no active user %(name)s.") % {"name": username}
                ) from None
        user = default_user()
        if user is None:
            raise CommandError(_("There is no administrator yet; name a user with --user."))
        return user

    def write(self, export: Export, output: str | None) -> str:
        """Write the file; return where it went."""
        if output == "-":
            stream = sys.stdout.buffer
            for chunk in export.iter_csv():
                stream.write(chunk)
            stream.flush()
            return _("standard output")
        path = output or export.filename
        with open(path, "wb") as target:
            if export.format is ExportFormat.CSV:
                for chunk in export.iter_csv():
                    target.write(chunk)
            else:
                export.write_xlsx(target)
        return path

    def progress(self, export: Export) -> Any:
        """A callback refreshing one progress line on stderr every few thousand rows."""
        started = time.perf_counter()
        stderr = self.stderr

        def report(rows: int) -> None:
            if rows % PROGRESS_EVERY:
                return
            rate = rows / max(time.perf_counter() - started, 1e-9)
            line = _("%(rows)s rows, %(rate)s rows/s") % {
                "rows": f"{rows:,}",
                "rate": f"{rate:,.0f}",
            }
            stderr.write("\r  " + line, ending="")
            stderr.flush()

        return report
