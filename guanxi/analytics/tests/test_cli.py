"""``guanxi analytics fit|score`` on CSV files, without Django."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from guanxi.analytics.cli import main
from guanxi.analytics.datasets import HERE


@pytest.fixture
def summary_csv(tmp_path: Path) -> Path:
    # the CDNOW summary with the default column names
    rows = list(csv.reader((HERE / "cdnow_summary.csv").open()))
    path = tmp_path / "customers.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer", "frequency", "recency", "T", "monetary_value"])
        writer.writerows(rows[1:])
    return path


def test_fit_prints_json_with_published_parameter_names(summary_csv, capsys):
    assert main(["fit", "bgnbd", "--input", str(summary_csv), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "bgnbd" and out["n"] == 2357
    assert set(out["params"]) == {"r", "alpha", "a", "b"}
    assert out["params"]["r"] == pytest.approx(0.243, abs=1e-3)
    assert out["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)

    assert main(["fit", "paretonbd", "--input", str(summary_csv), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["params"]) == {"r", "alpha", "s", "beta"}
    assert main(["fit", "gammagamma", "--input", str(summary_csv), "--json"]) == 0
    gg = json.loads(capsys.readouterr().out)
    assert set(gg["params"]) == {"p", "q", "v"} and gg["n"] == 946


def test_fit_bgbb_with_custom_columns_and_weights(capsys):
    args = ["fit", "bgbb", "--input", str(HERE / "donations.csv"), "--T", "periods"]
    assert main([*args, "--weights", "weights", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["params"]) == {"alpha", "beta", "gamma", "delta"} and out["n"] == 11104
    assert main([*args, "--weights", "weights", "--standard-errors"]) == 0
    assert "log-likelihood -33225.58" in capsys.readouterr().out


def test_score_writes_predictions(summary_csv, tmp_path):
    output = tmp_path / "scores.csv"
    code = main(
        [
            "score",
            "--input",
            str(summary_csv),
            "--horizon",
            "52",
            "--margin",
            "0.3",
            "--discount-rate",
            "0.002",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    rows = list(csv.DictReader(output.open()))
    assert len(rows) == 2357
    first = rows[0]
    assert {"expected_purchases", "p_alive", "expected_spend", "clv"} <= set(first)
    assert 0 <= float(first["p_alive"]) <= 1 and float(first["clv"]) > 0


def test_errors_are_reported_in_domain_terms(summary_csv, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("frequency,recency,T\n1,50,40\n0,0,10\n")
    assert main(["fit", "bgnbd", "--input", str(bad)]) == 2
    assert "recency is larger than T for 1 customer" in capsys.readouterr().err
    assert main(["fit", "bgnbd", "--input", str(summary_csv), "--recency", "t_x"]) == 2
    assert "has no column 't_x'" in capsys.readouterr().err
    assert main(["fit", "bgnbd", "--input", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_console_entry_point_runs_without_django(summary_csv):
    # given a fresh interpreter running the project's console entry point
    code = (
        "import sys\n"
        "from guanxi.cli import main\n"
        "try:\n"
        f"    main(['analytics', 'fit', 'bgnbd', '--input', {str(summary_csv)!r}, '--json'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "assert 'django' not in sys.modules, 'Django was imported'\n"
    )
    # when / then: it fits and never imports Django
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "bgnbd"


def test_score_refuses_to_value_customers_without_a_spend_column(tmp_path):
    # given a summary without any spend column
    path = tmp_path / "no_spend.csv"
    path.write_text("frequency,recency,T\n2,30.0,39.0\n0,0,39.0\n")
    # when / then: CLV in money needs spend, so the command says which column is missing
    with pytest.raises(SystemExit, match="no spend column 'monetary_value'"):
        main(["score", "--input", str(path), "--horizon", "52", "--output", str(tmp_path / "o")])


def test_score_fits_spend_with_the_row_weights(tmp_path, capsys):
    # given 60 CDNOW customers with repeat purchases and one without, once as weighted rows
    # (weights 1-3) and once row by row (a fit that converges: a handful of made-up rows
    # left the Gamma-Gamma spend model on a ridge, where two runs stop at different points)
    cdnow = list(csv.DictReader((HERE / "cdnow_summary.csv").open()))
    chosen = [row for row in cdnow if float(row["x"]) > 0][:60]
    rows = [(f"{r['x']},{r['t_x']},{r['T']},{r['zbar']}", 1 + i % 3) for i, r in enumerate(chosen)]
    rows.append(("0,0,38.86,0", 2))
    weighted, expanded = tmp_path / "weighted.csv", tmp_path / "expanded.csv"
    weighted.write_text(
        "frequency,recency,T,monetary_value,n\n" + "".join(f"{r},{n}\n" for r, n in rows)
    )
    expanded.write_text(
        "frequency,recency,T,monetary_value\n" + "".join(f"{r}\n" * n for r, n in rows)
    )
    out_w, out_e = tmp_path / "w.csv", tmp_path / "e.csv"
    base = ["score", "--horizon", "10"]
    assert main([*base, "--input", str(weighted), "--weights", "n", "--output", str(out_w)]) == 0
    assert f"standing for {sum(n for _r, n in rows)} customers" in capsys.readouterr().out
    assert main([*base, "--input", str(expanded), "--output", str(out_e)]) == 0
    spend_w = {r["monetary_value"]: r["expected_spend"] for r in csv.DictReader(out_w.open())}
    spend_e = {r["monetary_value"]: r["expected_spend"] for r in csv.DictReader(out_e.open())}
    for value, spend in spend_w.items():
        assert float(spend) == pytest.approx(float(spend_e[value]), rel=1e-4)
