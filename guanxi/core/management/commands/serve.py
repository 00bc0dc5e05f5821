"""``guanxi serve``: run the CRM over HTTP with waitress (static files through WhiteNoise)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    """Serve ``guanxi.wsgi`` with waitress, a production-grade pure-Python WSGI server."""

    help = _("Serve guanxi over HTTP with waitress.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to listen on."))
        parser.add_argument("--port", type=int, default=8000, help=_("Port to listen on."))
        parser.add_argument("--threads", type=int, default=8, help=_("Worker threads (default 8)."))

    def handle(self, *args: Any, host: str, port: int, threads: int, **options: Any) -> None:
        from waitress import serve  # type: ignore[import-untyped]

        from guanxi.wsgi import application

        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(_("Serving guanxi at %(url)s") % {"url": url}))
        if host not in settings.ALLOWED_HOSTS:
            # Django answers 400 to host names it was not told about.
            self.stdout.write(
                _(
                    "Note: %(host)s is not in ALLOWED_HOSTS; set ALLOWED_HOSTS to the names "
                    "clients use to reach this server."
                )
                % {"host": host}
            )
        self.stdout.write(_("Press Ctrl+C to stop."))
        serve(application, host=host, port=port, threads=threads, ident="guanxi")
