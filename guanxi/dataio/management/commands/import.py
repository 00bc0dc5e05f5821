"""``guanxi import <kind> FILE``: import customers, contacts, products, orders or interactions.

Prints a progress bar on stderr and one summary line of counts at the end. Exit status:
0 when every row was imported or unchanged, 2 when some rows were rejected (the others are
imported; the errors are printed and stored on the run), 1 when the file could not be
imported at all. Killed or interrupted, the same command run again resumes the run.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.core.permissions import Role
from guanxi.dataio.importing import IMPORTERS, ImportRefused, Progress, run_import
from guanxi.dataio.importing.mapping import parse_map_options
from guanxi.dataio.models import ImportRun

#: Errors printed at the end (all of them are stored on the run).
SHOWN_ERRORS = 20


class Command(BaseCommand):
    """Import a CSV or XLSX file (see the module docstring for the exit status)."""

    help = _(
        "Import customers, contacts, products, orders (one row per order line) or "
        "interactions from a CSV or XLSX file. Re-running the same command changes nothing "
        "and resumes an interrupted import. Exit status 0: all rows imported or unchanged; "
        "2: some rows rejected (the others imported); 1: nothing imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(IMPORTERS), help=_("What the file holds."))
        parser.add_argument("file", help=_("A .csv or .xlsx file."))
        parser.add_argument(
            "--encoding",
            help=_("Encoding of a CSV (e.g. utf-8, gb18030, utf-16); detected by default."),
        )
        parser.add_argument("--mapping", help=_("Name of a saved column mapping."))
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help=_("Map a column to a field (FIELD empty: ignore the column); repeatable."),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help=_("Validate and count; write nothing.")
        )
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help=_("Import nothing if any row is rejected (one transaction)."),
        )
        parser.add_argument(
            "--user",
            help=_(
                "Username of the user the import acts as (permissions, owner of new "
                "records, change log). Default: the first administrator."
            ),
        )
        parser.add_argument(
            "--chunk-size", type=int, help=_("Rows written per transaction (advanced).")
        )

    def actor(self, username: str | None) -> User:
        """The named user, or the first active administrator."""
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(_("There is no active user %(u)s.") % {"u": username})
            return user
        user = (
            User.objects.filter(is_active=True, is_superuser=True).order_by("pk").first()
            or User.objects.filter(is_active=True, role=Role.ADMINISTRATOR).order_by("pk").first()
        )
        if user is None:
            raise CommandError(_("There is no administrator; name a user with --user."))
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options["user"])
        try:
            overrides = parse_map_options(options["map"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        show = (options["verbosity"] > 0 and sys.stderr.isatty()) or options["verbosity"] > 1
        started = time.perf_counter()

        def progress(p: Progress) -> None:
            if not show:
                return
            share = p.bytes_read / p.total_bytes if p.total_bytes else 0.0
            elapsed = time.perf_counter() - started
            filled = int(30 * min(1.0, share))
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * share:3.0f}% "
                f"{p.rows:,} rows, {p.rows / elapsed if elapsed else 0:,.0f} rows/s"
            )
            sys.stderr.flush()

        try:
            run = run_import(
                options["file"],
                options["kind"],
                actor=actor,
                encoding=options["encoding"],
                mapping_name=options["mapping"],
                overrides=overrides,
                dry_run=options["dry_run"],
                all_or_nothing=options["all_or_nothing"],
                chunk_size=options["chunk_size"],
                progress=progress,
            )
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        if show:
            sys.stderr.write("\n")
        elapsed = time.perf_counter() - started
        self.report(run, elapsed)
        if run.rejected:
            sys.exit(2)

    def report(self, run: ImportRun, elapsed: float) -> None:
        """The notes, the first errors and the summary line."""
        if run.message:
            self.stderr.write(run.message)
        for error in run.errors.all()[:SHOWN_ERRORS]:
            where = _("row %(row)s") % {"row": f"{error.row:,}"}
            if error.column:
                where += ", " + _("column %(c)s") % {"c": error.column}
            value = f": '{error.value}'" if error.value else ""
            self.stderr.write(f"{where}{value}: {error.message}")
        if run.rejected > SHOWN_ERRORS:
            self.stderr.write(
                _("... see all errors on run #%(id)s (/data/import/runs/%(id)s/).") % {"id": run.pk}
            )
        label = _("Dry run (nothing written)") if run.dry_run else _("Imported")
        rate = run.rows_read / elapsed if elapsed else 0.0
        self.stdout.write(
            _(
                "%(label)s %(kind)s from %(file)s [%(encoding)s]: %(read)s rows read = "
                "%(created)s created + %(updated)s updated + %(unchanged)s unchanged + "
                "%(rejected)s rejected, in %(seconds).1f s (%(rate)s rows/s); run #%(id)s"
            )
            % {
                "label": label,
                "kind": run.kind,
                "file": run.file_name,
                "encoding": run.encoding,
                "read": f"{run.rows_read:,}",
                "created": f"{run.created:,}",
                "updated": f"{run.updated:,}",
                "unchanged": f"{run.unchanged:,}",
                "rejected": f"{run.rejected:,}",
                "seconds": elapsed,
                "rate": f"{rate:,.0f}",
                "id": run.pk,
            }
        )
