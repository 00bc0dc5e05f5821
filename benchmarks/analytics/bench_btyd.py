"""guanxi.analytics against the `lifetimes` library, in the same process, on simulated data.

Not a test: run it by hand in a separate environment that has lifetimes (see README.md):

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. /tmp/bench-venv/bin/python \
        benchmarks/analytics/bench_btyd.py --customers 1000000 --transactions 10000000

It prints one line per measurement (seconds are in-process wall-clock medians) and the
log-likelihoods of both fits evaluated with the same exact likelihood.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from guanxi.analytics.btyd import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from guanxi.analytics.btyd.simulate import (
    simulate_bgnbd,
    simulate_gammagamma,
    simulate_paretonbd,
    simulate_transactions,
)
from guanxi.analytics.summary import summarize_transactions

RESULTS: dict[str, Any] = {}


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def report(key: str, **values: Any) -> None:
    RESULTS[key] = values
    print(key, json.dumps(values, default=float), flush=True)


def customers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ages in weeks of customers acquired on whole days over one year."""
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 366, n)
    return days / 7.0, days


def to_days(recency: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Recency rounded up to whole days, as a transaction log at daily resolution has it."""
    return np.minimum(np.ceil(recency * 7.0) / 7.0, age)


def bench_bgnbd(n: int, with_lifetimes: bool) -> None:
    age, _ = customers(n, 1)
    sim = simulate_bgnbd(0.243, 4.414, 0.793, 2.426, n, age, seed=2)
    x, tx = sim.frequency, to_days(sim.recency, age)
    ours_time, ours = timed(lambda: BetaGeoModel().fit(x, tx, age), repeat=7)
    report(
        "bgnbd.fit.guanxi",
        seconds=ours_time,
        params=ours.params_,
        ll=ours.log_likelihood_,
        n=n,
        distinct_rows=ours.n_unique_,
    )
    score_time, _ = timed(
        lambda: (
            ours.conditional_expected_purchases(52, x, tx, age),
            ours.probability_alive(x, tx, age),
        ),
        repeat=3,
    )
    report("bgnbd.score.guanxi", seconds=score_time)
    if not with_lifetimes:
        return
    from lifetimes import BetaGeoFitter

    lt_time, lt = timed(lambda: BetaGeoFitter().fit(x, tx, age))
    lt_params = lt.params_.to_dict()
    ll_lt = BetaGeoModel.from_params(**lt_params).log_likelihood(x, tx, age)
    report(
        "bgnbd.fit.lifetimes",
        seconds=lt_time,
        params=lt_params,
        ll=ll_lt,
        speedup=lt_time / ours_time,
        ll_difference=ours.log_likelihood_ - ll_lt,
    )
    lt_score_time, lt_pred = timed(
        lambda: (
            lt.conditional_expected_number_of_purchases_up_to_time(52, x, tx, age),
            lt.conditional_probability_alive(x, tx, age),
        )
    )
    same = BetaGeoModel.from_params(**lt_params)
    e, a = same.conditional_expected_purchases(52, x, tx, age), same.probability_alive(x, tx, age)
    report(
        "bgnbd.score.lifetimes",
        seconds=lt_score_time,
        speedup=lt_score_time / score_time,
        max_abs_diff_expected=float(np.max(np.abs(np.asarray(lt_pred[0]) - e))),
        max_abs_diff_alive=float(np.max(np.abs(np.asarray(lt_pred[1]) - a))),
    )


def bench_paretonbd(n: int, with_lifetimes: bool, lifetimes_subset: int | None) -> None:
    age, _ = customers(n, 3)
    sim = simulate_paretonbd(0.553, 10.578, 0.606, 11.669, n, age, seed=4)
    x, tx = sim.frequency, to_days(sim.recency, age)
    ours_time, ours = timed(lambda: ParetoNBDModel().fit(x, tx, age), repeat=3)
    report(
        "paretonbd.fit.guanxi",
        seconds=ours_time,
        params=ours.params_,
        ll=ours.log_likelihood_,
        n=n,
        distinct_rows=ours.n_unique_,
    )
    score_time, _ = timed(
        lambda: (
            ours.conditional_expected_purchases(52, x, tx, age),
            ours.probability_alive(x, tx, age),
        ),
        repeat=3,
    )
    report("paretonbd.score.guanxi", seconds=score_time)
    if not with_lifetimes:
        return
    from lifetimes import ParetoNBDFitter

    m = lifetimes_subset or n
    xs, txs, ages = x[:m], tx[:m], age[:m]
    ours_sub_time, ours_sub = timed(lambda: ParetoNBDModel().fit(xs, txs, ages), repeat=3)
    lt_time, lt = timed(lambda: ParetoNBDFitter().fit(xs, txs, ages))
    lt_params = lt.params_.to_dict()
    ll_lt = ParetoNBDModel.from_params(**lt_params).log_likelihood(xs, txs, ages)
    report(
        "paretonbd.fit.lifetimes",
        customers=m,
        seconds=lt_time,
        guanxi_seconds=ours_sub_time,
        params=lt_params,
        ll=ll_lt,
        speedup=lt_time / ours_sub_time,
        ll_difference=ours_sub.log_likelihood_ - ll_lt,
    )
    lt_score_time, lt_pred = timed(
        lambda: (
            lt.conditional_expected_number_of_purchases_up_to_time(52, xs, txs, ages),
            lt.conditional_probability_alive(xs, txs, ages),
        )
    )
    same = ParetoNBDModel.from_params(**lt_params)
    sub_score_time, (e, a) = timed(
        lambda: (
            same.conditional_expected_purchases(52, xs, txs, ages),
            same.probability_alive(xs, txs, ages),
        )
    )
    report(
        "paretonbd.score.lifetimes",
        customers=m,
        seconds=lt_score_time,
        speedup=lt_score_time / sub_score_time,
        max_abs_diff_expected=float(np.max(np.abs(np.asarray(lt_pred[0]) - e))),
        max_abs_diff_alive=float(np.max(np.abs(np.asarray(lt_pred[1]) - a))),
    )


def bench_gammagamma(n: int, with_lifetimes: bool) -> None:
    age, _ = customers(n, 5)
    sim = simulate_bgnbd(0.243, 4.414, 0.793, 2.426, n, age, seed=6)
    x = sim.frequency
    m = simulate_gammagamma(6.25, 3.74, 15.44, x, seed=7)
    repeat = x > 0
    xr, mr = x[repeat], m[repeat]
    ours_time, ours = timed(lambda: GammaGammaModel().fit(xr, mr), repeat=3)
    report(
        "gammagamma.fit.guanxi",
        seconds=ours_time,
        params=ours.params_,
        ll=ours.log_likelihood_,
        n=int(repeat.sum()),
        of_customers=n,
    )
    if not with_lifetimes:
        return
    from lifetimes import GammaGammaFitter

    lt_time, lt = timed(lambda: GammaGammaFitter().fit(xr, mr))
    lt_params = lt.params_.to_dict()
    ll_lt = GammaGammaModel.from_params(
        p=lt_params["p"], q=lt_params["q"], v=lt_params["v"]
    ).log_likelihood(xr, mr)
    report(
        "gammagamma.fit.lifetimes",
        seconds=lt_time,
        params=lt_params,
        ll=ll_lt,
        speedup=lt_time / ours_time,
        ll_difference=ours.log_likelihood_ - ll_lt,
    )


def bench_summary(target: int) -> None:
    import pandas as pd

    # Customers buying ~0.2 times a week over two years, rarely dropping out: ~8.5 purchases
    # each (acquired uniformly over the two years).
    log = simulate_transactions(int(target / 8.5), 730.0, r=2.0, alpha=10.0, a=1.0, b=20.0, seed=8)
    n_tx = len(log.customer)
    customer, day, amount = log.customer.astype(np.int64), log.time, log.amount
    ours_time, summary = timed(
        lambda: summarize_transactions(customer, day, amount, period="D", unit="W"), repeat=3
    )

    def pandas_summary() -> Any:
        df = pd.DataFrame({"c": customer, "d": np.floor(day).astype(np.int64), "a": amount})
        per_day = df.groupby(["c", "d"], sort=True)["a"].sum().reset_index()
        g = per_day.groupby("c", sort=True)
        first, last, periods = g["d"].min(), g["d"].max(), g.size()
        total, first_amount = g["a"].sum(), g["a"].first()
        n_purchases = df.groupby("c", sort=True).size()
        end = int(per_day["d"].max())
        frequency = periods - 1
        return pd.DataFrame(
            {
                "frequency": frequency,
                "recency": (last - first) / 7,
                "T": (end - first) / 7,
                "monetary_value": ((total - first_amount) / frequency.where(frequency > 0)).fillna(
                    0.0
                ),
                "n_purchases": n_purchases,
                "total": total,
            }
        )

    pandas_time, frame = timed(pandas_summary, repeat=3)
    agree = bool(
        np.allclose(frame["frequency"].to_numpy(), summary.frequency)
        and np.allclose(frame["recency"].to_numpy(), summary.recency)
        and np.allclose(frame["T"].to_numpy(), summary.T)
        and np.allclose(frame["monetary_value"].to_numpy(), summary.monetary_value)
    )
    report(
        "summary",
        transactions=n_tx,
        customers=len(summary),
        guanxi_seconds=ours_time,
        pandas_seconds=pandas_time,
        speedup=pandas_time / ours_time,
        results_agree=agree,
        pandas_version=pd.__version__,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--no-lifetimes", action="store_true")
    parser.add_argument(
        "--pareto-lifetimes-subset",
        type=int,
        default=None,
        help="fit lifetimes' Pareto/NBD on the first N customers only",
    )
    parser.add_argument("--only", default="bgnbd,paretonbd,gammagamma,summary")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with_lt = not args.no_lifetimes
    if with_lt:
        import lifetimes
        import scipy

        report(
            "versions",
            lifetimes=lifetimes.__version__,
            scipy=scipy.__version__,
            numpy=np.__version__,
        )
    only = set(args.only.split(","))
    if "bgnbd" in only:
        bench_bgnbd(args.customers, with_lt)
    if "gammagamma" in only:
        bench_gammagamma(args.customers, with_lt)
    if "summary" in only:
        bench_summary(args.transactions)
    if "paretonbd" in only:
        bench_paretonbd(args.customers, with_lt, args.pareto_lifetimes_subset)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(RESULTS, handle, indent=2, default=float)


if __name__ == "__main__":
    main()
