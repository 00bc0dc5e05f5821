"""Exact, vectorized samplers of the models' data-generating stories.

Used by the parameter-recovery tests, the benchmarks and (through
:func:`simulate_transactions`) demo data. No per-customer Python loop: the trick is that, given
``N`` Poisson events in a window, their times are independent uniforms, so the time of the
``k``-th event out of ``N`` in a window of length ``w`` is ``w * Beta(k, N - k + 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guanxi.analytics._validation import FloatArray


@dataclass(frozen=True)
class SimulatedCustomers:
    """Calibration summary (x, t_x, T) and holdout purchases of simulated customers."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    frequency_holdout: FloatArray
    alive_at_T: FloatArray


def _ages(rng: np.random.Generator, size: int, T: float | FloatArray) -> FloatArray:
    return np.asarray(np.broadcast_to(np.asarray(T, dtype=np.float64), (size,)).copy())


def _last_event_time(
    rng: np.random.Generator, kept: FloatArray, total: FloatArray, window: FloatArray
) -> FloatArray:
    """Time of the ``kept``-th of ``total`` uniform events on (0, window] (0 when kept == 0)."""
    k = np.maximum(kept, 1.0)
    draw = rng.beta(k, np.maximum(total - k + 1.0, 1.0))
    return np.asarray(np.where(kept > 0, window * draw, 0.0), dtype=np.float64)


def simulate_bgnbd(
    r: float,
    alpha: float,
    a: float,
    b: float,
    size: int,
    T: float | FloatArray,
    holdout: float = 0.0,
    *,
    seed: int | None = None,
    modified: bool = False,
) -> SimulatedCustomers:
    """BG/NBD (or, with ``modified=True``, MBG/NBD) customers observed for T after their
    first purchase, plus their purchases in the following ``holdout`` period.

    ``lambda ~ Gamma(r, rate alpha)``, ``p ~ Beta(a, b)``; the number of purchases before
    dropout is geometric: ``J ~ Geometric(p)`` on {1, 2, ...} (BG/NBD) or ``J - 1`` (MBG/NBD,
    dropout possible at time 0).
    """
    rng = np.random.default_rng(seed)
    ages = _ages(rng, size, T)
    lam = rng.gamma(r, 1.0 / alpha, size)
    p = rng.beta(a, b, size)
    purchases_before_dropout = rng.geometric(p).astype(np.float64) - (1.0 if modified else 0.0)
    events = rng.poisson(lam * ages).astype(np.float64)
    x = np.minimum(events, purchases_before_dropout)
    tx = _last_event_time(rng, x, events, ages)
    alive = purchases_before_dropout > events
    future = rng.poisson(lam * holdout).astype(np.float64)
    x_star = np.where(alive, np.minimum(future, purchases_before_dropout - events), 0.0)
    return SimulatedCustomers(x, tx, ages, x_star, alive.astype(np.float64))


def simulate_paretonbd(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    size: int,
    T: float | FloatArray,
    holdout: float = 0.0,
    *,
    seed: int | None = None,
) -> SimulatedCustomers:
    """Pareto/NBD customers: ``lambda ~ Gamma(r, alpha)``, lifetime ``~ Exp(mu)``,
    ``mu ~ Gamma(s, beta)``."""
    rng = np.random.default_rng(seed)
    ages = _ages(rng, size, T)
    lam = rng.gamma(r, 1.0 / alpha, size)
    mu = rng.gamma(s, 1.0 / beta, size)
    lifetime = rng.exponential(1.0 / mu)
    window = np.minimum(lifetime, ages)
    x = rng.poisson(lam * window).astype(np.float64)
    tx = _last_event_time(rng, x, x, window)
    future_window = np.clip(lifetime - ages, 0.0, holdout)
    x_star = rng.poisson(lam * future_window).astype(np.float64)
    return SimulatedCustomers(x, tx, ages, x_star, (lifetime > ages).astype(np.float64))


def simulate_bgbb(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    size: int,
    n: int,
    holdout: int = 0,
    *,
    seed: int | None = None,
) -> SimulatedCustomers:
    """BG/BB customers over ``n`` opportunities (and ``holdout`` more).

    The number of opportunities a customer is active is geometric in ``theta``; transactions
    at active opportunities are Bernoulli(p). Drawn as a (customers x opportunities) matrix,
    in chunks to bound memory.
    """
    rng = np.random.default_rng(seed)
    total = n + holdout
    x = np.empty(size)
    tx = np.empty(size)
    x_star = np.empty(size)
    alive = np.empty(size)
    chunk = max(1, 2_000_000 // max(total, 1))
    steps = np.arange(1, total + 1)
    for start in range(0, size, chunk):
        m = min(chunk, size - start)
        p = rng.beta(alpha, beta, m)
        theta = rng.beta(gamma, delta, m)
        # Active opportunities: dropout happens before opportunity k with probability theta.
        active_for = rng.geometric(theta) - 1  # opportunities survived before dropping out
        buys = (rng.random((m, total)) < p[:, None]) & (steps[None, :] <= active_for[:, None])
        calibration = buys[:, :n]
        x[start : start + m] = calibration.sum(axis=1)
        last = np.where(calibration.any(axis=1), n - np.argmax(calibration[:, ::-1], axis=1), 0)
        tx[start : start + m] = last
        x_star[start : start + m] = buys[:, n:].sum(axis=1)
        alive[start : start + m] = active_for > n
    return SimulatedCustomers(x, tx, np.full(size, float(n)), x_star, alive)


def simulate_gammagamma(
    p: float, q: float, v: float, frequency: FloatArray, *, seed: int | None = None
) -> FloatArray:
    """Mean spend of each customer's ``frequency`` transactions (0 where frequency is 0).

    ``nu ~ Gamma(q, rate v)``; the sum of x Gamma(p, nu) transactions is Gamma(p x, nu).
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=np.float64)
    nu = rng.gamma(q, 1.0 / v, len(x))
    total = rng.gamma(np.maximum(p * x, 1e-300), 1.0 / nu)
    return np.asarray(np.where(x > 0, total / np.maximum(x, 1.0), 0.0), dtype=np.float64)


@dataclass(frozen=True)
class SimulatedTransactions:
    """A transaction log: customer index, time (in days from the start) and amount."""

    customer: np.ndarray
    time: FloatArray
    amount: FloatArray


def simulate_transactions(
    customers: int,
    days: float,
    *,
    r: float = 0.25,
    alpha: float = 4.0,
    a: float = 0.8,
    b: float = 2.5,
    p: float = 6.0,
    q: float = 3.7,
    v: float = 15.0,
    seed: int | None = None,
) -> SimulatedTransactions:
    """A BG/NBD + Gamma-Gamma transaction log of ``customers`` acquired uniformly over
    ``days``; the rates are per week (as in CDNOW), times are returned in days.

    Each customer's repeat purchases while active are a Poisson process cut after the
    geometric number of purchases before dropout: the first J of the N uniform event times.
    """
    rng = np.random.default_rng(seed)
    birth = rng.uniform(0.0, days, customers)
    window = (days - birth) / 7.0
    lam = rng.gamma(r, 1.0 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    before_dropout = rng.geometric(dropout)
    events = rng.poisson(lam * window)
    ids = np.repeat(np.arange(customers), events)
    times = rng.random(len(ids)) * window[ids]
    order = np.lexsort((times, ids))
    ids, times = ids[order], times[order]
    starts = np.cumsum(events) - events
    rank = np.arange(len(ids)) - np.repeat(starts, events)
    keep = rank < before_dropout[ids]
    ids, times = ids[keep], times[keep]
    all_ids = np.concatenate([np.arange(customers), ids])
    all_times = np.concatenate([birth, birth[ids] + times * 7.0])
    nu = rng.gamma(q, 1.0 / v, customers)
    amounts = rng.gamma(p, 1.0 / nu[all_ids])
    return SimulatedTransactions(all_ids, all_times, amounts)
