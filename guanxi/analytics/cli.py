"""``guanxi analytics``: fit and score customer-value models on a CSV summary file.

Runs without Django (``guanxi.cli`` dispatches here before setting Django up) and imports
scipy only once there is something to fit, so ``--help`` and input errors answer at once.

    guanxi analytics fit MODEL --input FILE.csv [--frequency COL] [--recency COL] [--T COL]
                               [--monetary COL] [--weights COL] [--standard-errors] [--json]
    guanxi analytics score --input FILE.csv --horizon H [--model MODEL] [--margin M]
                           [--discount-rate D] [columns as for fit] --output scores.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

MODEL_NAMES = ("bgnbd", "paretonbd", "mbgnbd", "bgbb", "gammagamma")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guanxi analytics",
        description="Fit customer-value models (BG/NBD, Pareto/NBD, MBG/NBD, BG/BB, "
        "Gamma-Gamma) on a per-customer summary CSV and score customers.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def columns(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--input", required=True, help="CSV file with one row per customer")
        sub.add_argument("--frequency", default="frequency", help="repeat purchases x column")
        sub.add_argument("--recency", default="recency", help="age at last purchase t_x column")
        sub.add_argument("--T", dest="T", default="T", help="customer age T column (n for bgbb)")
        sub.add_argument("--monetary", default="monetary_value", help="mean repeat spend column")
        sub.add_argument("--weights", default=None, help="optional column: customers per row")

    fit = commands.add_parser("fit", help="estimate a model's parameters")
    fit.add_argument("model", choices=MODEL_NAMES)
    columns(fit)
    fit.add_argument("--standard-errors", action="store_true", help="also report standard errors")
    fit.add_argument("--json", action="store_true", help="print the result as JSON")

    score = commands.add_parser("score", help="write per-customer predictions")
    columns(score)
    score.add_argument("--model", choices=MODEL_NAMES[:4], default="bgnbd")
    score.add_argument("--horizon", type=float, required=True, help="future periods to predict")
    score.add_argument("--margin", type=float, default=1.0, help="margin share of spend (CLV)")
    score.add_argument("--discount-rate", type=float, default=0.0, help="per period (CLV)")
    score.add_argument("--output", required=True, help="CSV file to write")
    return parser


def _read(path: str) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{path} is empty")
            rows = [row for row in reader if row]
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
    return [h.strip() for h in header], rows


def _column(header: list[str], rows: list[list[str]], name: str, path: str) -> Any:
    import numpy as np

    if name not in header:
        raise ValueError(
            f"{path} has no column {name!r} (columns: {', '.join(header)}); "
            f"name it with --{'T' if name == 'T' else 'frequency/--recency/--monetary'}"
        )
    index = header.index(name)
    try:
        return np.array([float(row[index]) for row in rows], dtype=np.float64)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"column {name!r} of {path} must contain numbers on every row") from exc


def _fit(
    args: argparse.Namespace, header: list[str], rows: list[list[str]], model_name: str
) -> Any:
    from guanxi.analytics.btyd import MODELS

    weights = _column(header, rows, args.weights, args.input) if args.weights else None
    frequency = _column(header, rows, args.frequency, args.input)
    model = MODELS[model_name](standard_errors=getattr(args, "standard_errors", False))
    if model_name == "gammagamma":
        return model.fit(frequency, _column(header, rows, args.monetary, args.input), weights)
    recency = _column(header, rows, args.recency, args.input)
    age = _column(header, rows, args.T, args.input)
    return model.fit(frequency, recency, age, weights)


def _command_fit(args: argparse.Namespace) -> int:
    header, rows = _read(args.input)
    model = _fit(args, header, rows, args.model)
    summary = model.summary()
    if args.json:
        out = {
            "model": summary.model,
            "params": summary.params,
            "log_likelihood": summary.log_likelihood,
            "n": int(summary.n) if float(summary.n).is_integer() else summary.n,
            "bic": summary.bic,
            "converged": summary.converged,
        }
        if summary.standard_errors is not None:
            out["standard_errors"] = summary.standard_errors
        print(json.dumps(out))
        return 0
    print(f"model          {summary.model}")
    print(f"customers      {summary.n:g} ({summary.n_unique} distinct rows)")
    for name, value in summary.params.items():
        se = summary.standard_errors.get(name) if summary.standard_errors else None
        print(f"{name:<14} {value:.6g}" + (f"  (se {se:.3g})" if se is not None else ""))
    print(f"log-likelihood {summary.log_likelihood:.4f}")
    print(f"BIC            {summary.bic:.4f}")
    return 0


def _command_score(args: argparse.Namespace) -> int:

    header, rows = _read(args.input)
    model = _fit(args, header, rows, args.model)
    frequency = _column(header, rows, args.frequency, args.input)
    recency = _column(header, rows, args.recency, args.input)
    age = _column(header, rows, args.T, args.input)
    expected = model.conditional_expected_purchases(args.horizon, frequency, recency, age)
    alive = model.probability_alive(frequency, recency, age)
    if args.monetary not in header:
        raise SystemExit(
            f"guanxi analytics: error: {args.input} has no spend column {args.monetary!r}, "
            "which CLV needs (columns: " + ", ".join(header) + "); name it with --monetary"
        )
    monetary = _column(header, rows, args.monetary, args.input)
    weights = _column(header, rows, args.weights, args.input) if args.weights else None
    from guanxi.analytics.btyd import GammaGammaModel

    # Gamma-Gamma keeps the repeat customers itself; weights count customers per row.
    spend_model = GammaGammaModel().fit(frequency, monetary, weights)
    spend = spend_model.conditional_expected_average_spend(frequency, monetary)
    clv = model.customer_lifetime_value(
        frequency,
        recency,
        age,
        expected_spend=spend,
        horizon=args.horizon,
        margin=args.margin,
        discount_rate=args.discount_rate,
    )
    with open(args.output, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, "expected_purchases", "p_alive", "expected_spend", "clv"])
        for row, e, a, s, c in zip(rows, expected, alive, spend, clv, strict=True):
            writer.writerow([*row, f"{e:.6g}", f"{a:.6g}", f"{s:.6g}", f"{c:.6g}"])
    represented = f" (standing for {weights.sum():,.0f} customers)" if weights is not None else ""
    print(
        f"scored {len(rows):,} rows{represented} with {args.model} over {args.horizon:g} "
        f"periods -> {args.output}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``guanxi analytics`` with ``argv`` (without the leading ``analytics``)."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        if args.command == "fit":
            return _command_fit(args)
        return _command_score(args)
    except ValueError as exc:
        print(f"guanxi analytics: error: {exc}", file=sys.stderr)
        return 2
