"""``guanxi analytics refresh``: score every customer now (or queue it for the worker)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guanxi.insights.choices import RunStatus, RunTrigger
from guanxi.insights.conf import refresh_settings
from guanxi.insights.services import insight_refresh_request, insight_refresh_run


class Command(BaseCommand):
    help = _(
        "Refresh the customer insights: summary of the orders, model fit, scores of every "
        "customer. Runs here with a progress bar, or with --enqueue in the background worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue", action="store_true", help=_("Queue the refresh for `guanxi worker`.")
        )
        parser.add_argument("--as-of", help=_("Last day observed (YYYY-MM-DD; default today)."))
        parser.add_argument("--period", choices=["D", "W"], help=_("Purchase occasion: D or W."))
        parser.add_argument("--margin", type=float, help=_("Margin share of spend (CLV)."))
        parser.add_argument("--discount-rate", type=float, help=_("Yearly discount rate."))
        parser.add_argument("--horizon", type=float, help=_("CLV horizon in weeks."))
        parser.add_argument("--batch-size", type=int, help=_("Customers per batch."))
        parser.add_argument("--json", action="store_true", help=_("Print the run as JSON."))
        parser.add_argument(
            "--source",
            default="database",
            help=_(
                "Where the orders are: database (default), parquet:PATH (DuckDB) or "
                "spark:MASTER_URL with --spark-table or --spark-path (docs/insights-scale-out.md)."
            ),
        )
        parser.add_argument("--spark-table", help=_("Spark table or view of the orders."))
        parser.add_argument("--spark-path", help=_("Parquet path of the orders, read by Spark."))
        parser.add_argument(
            "--spark-conf",
            action="append",
            metavar="KEY=VALUE",
            help=_("A Spark setting for the session (repeatable)."),
        )
        parser.add_argument(
            "--columns",
            help=_("Column names of the external orders, e.g. customer=cust_no,amount=total."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            params = refresh_settings(
                period=options["period"],
                margin=options["margin"],
                discount_rate=options["discount_rate"],
                horizon=options["horizon"],
                batch_size=options["batch_size"],
            )
            as_of = dt.date.fromisoformat(options["as_of"]) if options["as_of"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        source = self._source(options)
        if source is not None and options["enqueue"]:
            raise CommandError(
                _("An external source runs here, not in the worker: leave out --enqueue.")
            )
        try:
            run = insight_refresh_request(
                actor=None, trigger=RunTrigger.COMMAND, enqueue=options["enqueue"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if options["enqueue"]:
            self.stdout.write(_("Queued refresh run #%(pk)s.") % {"pk": run.pk})
            return
        interactive = sys.stderr.isatty()

        def show(stage: str, percent: int) -> None:
            if interactive:
                bar = "#" * (percent // 4)
                self.stderr.write(f"\r  {stage:<8} [{bar:<25}] {percent:3d}%", ending="")

        run = insight_refresh_run(
            run=run, params=params, as_of=as_of, on_progress=show, summary_source=source
        )
        if interactive:
            self.stderr.write("")
        if options["json"]:
            import json

            fields = ("status", "customers", "orders", "chosen_model", "timings", "holdout",
                      "model_comparison", "fit_failure", "fit_detail", "error")  # fmt: skip
            data = {"run": run.pk, **{f: getattr(run, f) for f in fields}}
            self.stdout.write(json.dumps(data, indent=2, default=str))
        timings = ", ".join(
            f"{stage} {values.get('seconds', 0):.1f} s" for stage, values in run.timings.items()
        )
        summary = _(
            "Refresh run #%(pk)s %(status)s: %(customers)s customers, %(orders)s orders, "
            "model %(model)s (%(timings)s)."
        ) % {
            "pk": run.pk,
            "status": run.get_status_display().lower(),
            "customers": f"{run.customers:,}",
            "orders": f"{run.orders:,}",
            "model": run.chosen_model or _("none"),
            "timings": timings,
        }
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"{summary} {run.error}".strip())
        self.stdout.write(summary)
        report = (run.parameters or {}).get("source") or {}
        if report.get("unknown_customers"):
            self.stdout.write(
                _(
                    "%(count)s customer keys in the source (%(orders)s orders) match no "
                    "customer's external id and were not scored, e.g. %(examples)s."
                )
                % {
                    "count": f"{report['unknown_customers']:,}",
                    "orders": f"{report.get('unknown_orders', 0):,}",
                    "examples": ", ".join(report.get("unknown_examples", [])),
                }
            )
        if run.fit_failure:
            from guanxi.insights.explain import fit_failure_message

            self.stdout.write(fit_failure_message(run))

    def _source(self, options: dict[str, Any]) -> Any:
        """The external summary source named by --source, or None for the database."""
        spark_options = (options["spark_table"], options["spark_path"], options["spark_conf"])
        if options["source"] == "database":
            if any(spark_options) or options["columns"]:
                raise CommandError(_("--spark-* and --columns go with an external --source."))
            return None
        from guanxi.insights.external import Columns, ExternalSourceError, parse_source

        try:
            return parse_source(
                options["source"],
                columns=Columns.parse(options["columns"]),
                spark_table=options["spark_table"],
                spark_path=options["spark_path"],
                spark_conf=options["spark_conf"],
            )
        except ExternalSourceError as exc:
            raise CommandError(str(exc)) from exc
