"""``guanxi demo``: create the database, load a demo company, print the logins, serve.

``make run`` calls ``guanxi demo --size small --serve``. Re-running keeps the data that is
there (``--reset`` wipes it and loads again); the demo logins stay the same across runs.
"""

from __future__ import annotations

from typing import Any, TextIO, cast

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from guanxi.core.permissions import Role
from guanxi.demo.generator import SIZES, DemoSpec
from guanxi.demo.loader import Progress, demo_data_present, load_demo, wipe_crm_data
from guanxi.demo.locales import LOCALES
from guanxi.demo.users import DemoLogin, ensure_demo_users, logins_path

#: Order lines per customer when only ``--customers`` is given.
LINES_PER_CUSTOMER = 10


class Command(BaseCommand):
    """Set up the database with a realistic demo company and optionally serve the CRM."""

    help = _(
        "Create the database, load demo data (once), print the demo logins and, with "
        "--serve, serve guanxi."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--size",
            choices=list(SIZES),
            default="small",
            help=_(
                "tiny, small (default, ~1,000 customers), medium, large, or 1m "
                "(1,000,000 customers and about 10,000,000 order lines)."
            ),
        )
        parser.add_argument(
            "--customers", type=int, help=_("Number of customers (overrides --size).")
        )
        parser.add_argument(
            "--order-lines",
            type=int,
            help=_("Expected number of order lines (overrides --size)."),
        )
        parser.add_argument(
            "--locale",
            choices=list(LOCALES),
            default="en",
            help=_("Language of the demo data: en or zh-hans (Chinese names)."),
        )
        parser.add_argument(
            "--seed", type=int, default=42, help=_("Random seed (same seed, same data).")
        )
        parser.add_argument("--years", type=float, default=3.0, help=_("Years of order history."))
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=50_000,
            help=_("Customers generated and written per transaction."),
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=_("Delete all CRM data (users stay) and load the demo again."),
        )
        parser.add_argument(
            "--no-migrate",
            action="store_true",
            help=_("Do not apply database migrations first."),
        )
        parser.add_argument(
            "--no-insights",
            action="store_true",
            help=_("Do not score the customers after loading (run `guanxi analytics refresh`)."),
        )
        parser.add_argument("--serve", action="store_true", help=_("Serve guanxi when ready."))
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to serve on."))
        parser.add_argument("--port", type=int, default=8000, help=_("Port to serve on."))
        parser.add_argument("--threads", type=int, default=8, help=_("Server worker threads."))
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help=_("Database alias to load.")
        )

    def spec(self, options: dict[str, Any]) -> DemoSpec:
        """The sizes asked for: a preset, or explicit counts overriding it."""
        customers, lines = SIZES[options["size"]]
        if options["customers"] is not None:
            customers = options["customers"]
            if options["order_lines"] is None:
                lines = customers * LINES_PER_CUSTOMER
        if options["order_lines"] is not None:
            lines = options["order_lines"]
        if customers < 1:
            raise CommandError(_("--customers must be at least 1."))
        if lines < 0:
            raise CommandError(_("--order-lines cannot be negative."))
        if options["chunk_size"] < 1:
            raise CommandError(_("--chunk-size must be at least 1."))
        return DemoSpec(
            customers=customers,
            order_lines=lines,
            seed=options["seed"],
            locale=options["locale"],
            years=options["years"],
        )

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        spec = self.spec(options)
        verbosity = options["verbosity"]
        if not options["no_migrate"]:
            self.stdout.write(_("Preparing the database ..."))
            call_command(
                "migrate", database=using, interactive=False, verbosity=max(0, verbosity - 1)
            )
        logins, staff = ensure_demo_users(locale=spec.locale)

        if options["reset"]:
            self.stdout.write(_("Deleting the existing CRM data (users are kept) ..."))
            wipe_crm_data(using)
        if demo_data_present(using):
            self.stdout.write(
                _("The database already holds CRM data; nothing loaded (use --reset to reload).")
            )
        else:
            vendor = connections[using].vendor
            self.stdout.write(
                _(
                    "Loading a demo company into %(vendor)s: %(customers)s customers, about "
                    "%(lines)s order lines (%(locale)s, seed %(seed)s) ..."
                )
                % {
                    "vendor": vendor,
                    "customers": f"{spec.customers:,}",
                    "lines": f"{spec.order_lines:,}",
                    "locale": spec.locale,
                    "seed": spec.seed,
                }
            )
            stream = cast(TextIO, self.stderr._out)
            progress = Progress(spec.customers, stream) if verbosity > 0 else None
            stats = load_demo(
                spec,
                staff=staff,
                using=using,
                chunk_size=options["chunk_size"],
                progress=progress,
            )
            self.stdout.write(self.style.SUCCESS(stats.summary()))
            if not options["no_insights"]:
                # A demo company should open with its customers already scored.
                call_command("analytics_refresh", stdout=self.stdout, stderr=self.stderr)

        self.print_logins(logins, options)
        if options["serve"]:
            call_command(
                "serve", host=options["host"], port=options["port"], threads=options["threads"]
            )

    def print_logins(self, logins: list[DemoLogin], options: dict[str, Any]) -> None:
        """Show the administrator login first and clearly, then everyone else's."""
        roles = dict(Role.choices)
        admin = next(login for login in logins if login.role == Role.ADMINISTRATOR)
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("guanxi demo logins (%(url)s):") % {"url": url}))
        self.stdout.write(
            self.style.SUCCESS(
                _("  Administrator:  username %(username)s  password %(password)s")
                % {"username": admin.username, "password": admin.password}
            )
        )
        self.stdout.write(_("  Other demo users (username / password, role, team):"))
        for login in logins:
            if login is admin:
                continue
            self.stdout.write(
                f"    {login.username:<15} {login.password:<18} "
                f"{roles.get(login.role, login.role)}, {login.team or '-'}"
            )
        self.stdout.write(
            _("  These logins are kept in %(path)s (readable only by you).")
            % {"path": logins_path()}
        )
