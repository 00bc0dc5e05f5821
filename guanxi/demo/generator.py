"""Vectorized generator of a believable company's customer base and its buying history.

Pure numpy: no Django, no I/O. :class:`DemoGenerator` turns a :class:`DemoSpec` into
:class:`Table` chunks (column arrays keyed by database column name) that the loader writes.

The buying history follows the "buy till you die" story the analytics later has to recover
(Fader, Hardie and Lee 2005, "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2); Fader, Hardie and Lee 2005, "RFM and CLV: using
iso-value curves", Journal of Marketing Research 42(4) for the Gamma-Gamma spend model):

* each buying customer makes a first purchase at a time spread over the period;
* while active, repeat purchases arrive as a Poisson process with the customer's own rate
  ``lambda ~ Gamma(r, alpha)`` (heterogeneous: a few heavy buyers, many light ones);
* after each repeat purchase the customer drops out for good with their own probability
  ``p ~ Beta(a, b)`` (BG/NBD), so some customers never come back after a few orders;
* each order's value is ``Gamma(shape_spend, nu)`` with the customer's own
  ``nu ~ Gamma(q, gamma)`` (Gamma-Gamma): spend levels differ by customer, not by order.

The rate scale is calibrated so that the expected number of order lines hits the target
(``E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p``, BG/NBD equation 9 conditioned on the
latent traits, averaged by Monte Carlo); the actual counts are random around it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guanxi.demo.locales import Locale, get_locale

SECONDS_PER_YEAR = 365.25 * 86400

#: Preset sizes: name -> (customers, order lines). ``1m`` is the benchmark set.
SIZES: dict[str, tuple[int, int]] = {
    "tiny": (60, 600),
    "small": (1_000, 10_000),
    "medium": (20_000, 200_000),
    "large": (200_000, 2_000_000),
    "1m": (1_000_000, 10_000_000),
}

# Lines per order: 1 to 5, most orders small.
LINES_PER_ORDER = np.array([1, 2, 3, 4, 5])
LINES_PER_ORDER_P = np.array([0.40, 0.25, 0.17, 0.11, 0.07])
MEAN_LINES_PER_ORDER = float(LINES_PER_ORDER @ LINES_PER_ORDER_P)

# BG/NBD heterogeneity (shape parameters; the rate scale is calibrated per size).
RATE_SHAPE = 0.75  # r: Gamma shape of the purchase rate
DROPOUT_A, DROPOUT_B = 0.9, 3.0  # Beta(a, b) of the dropout probability
ORG_RATE_FACTOR = 1.6  # organizations reorder more often than households
# Gamma-Gamma spend: order value ~ Gamma(SPEND_SHAPE, nu), nu ~ Gamma(SPEND_Q, gamma).
SPEND_SHAPE, SPEND_Q = 6.0, 4.0
MEAN_ORDER_VALUE = {"person": 900.0, "organization": 12_000.0}  # CNY, across customers


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: sizes, language, randomness and the period covered."""

    customers: int
    order_lines: int
    seed: int = 42
    locale: str = "en"
    years: float = 3.0
    end: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    )
    org_share: float = 0.2
    prospect_share: float = 0.15
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("the demo needs at least one customer")
        if self.order_lines < 0:
            raise ValueError("the number of order lines cannot be negative")
        if self.years <= 0:
            raise ValueError("the period must be longer than zero years")


@dataclass(frozen=True)
class StaffMember:
    """A user the generated records can point at (as owner, or as who logged a contact)."""

    user_id: int
    team_id: int | None
    role: str


@dataclass
class Table:
    """Rows of one database table as columns.

    ``columns`` maps a database column name to a numpy array or list (all the same length).
    numpy ``datetime64[s]`` columns are UTC instants; columns named in ``money`` hold whole
    cents (int64) or, when nullable, float cents with NaN for NULL.
    """

    name: str
    columns: dict[str, Any]
    money: frozenset[str] = frozenset()

    def __len__(self) -> int:
        first = next(iter(self.columns.values()), ())
        return len(first)


@dataclass
class Calibration:
    """The rate scale and buyer share that make the expected order-line count hit the target."""

    buyer_share: float
    rate_scale: float  # purchases per year of an average active household
    expected_order_lines: float


def _pick(rng: np.random.Generator, n: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """``n`` indices into ``weights`` drawn with probability proportional to them."""
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _take(options: Sequence[Any], index: np.ndarray) -> np.ndarray:
    return np.asarray(options, dtype=object)[index]


def _latent(
    rng: np.random.Generator, n: int, is_org: np.ndarray, years: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unscaled purchase rates, dropout probabilities and first-purchase times (in years).

    First purchases spread over the whole period, slightly more of them recently (a growing
    company), which also leaves late customers little time to repeat: as in real data.
    """
    rate = rng.gamma(RATE_SHAPE, 1.0 / RATE_SHAPE, n) * np.where(is_org, ORG_RATE_FACTOR, 1.0)
    dropout = rng.beta(DROPOUT_A, DROPOUT_B, n)
    first = years * rng.random(n) ** 0.8
    return rate, np.clip(dropout, 1e-4, 1.0), first


def calibrate(spec: DemoSpec, sample: int | None = None) -> Calibration:
    """Choose the buyer share and purchase-rate scale that make E[order lines] the target."""
    target_orders = spec.order_lines / MEAN_LINES_PER_ORDER
    buyer_share = 1.0 - spec.prospect_share
    buyers = spec.customers * buyer_share
    if target_orders <= buyers:
        # Too few lines for every buyer to buy once: fewer buyers, no repeat purchases.
        share = min(buyer_share, target_orders / spec.customers)
        return Calibration(share, 0.0, spec.customers * share * MEAN_LINES_PER_ORDER)
    repeats_per_buyer = target_orders / buyers - 1.0
    # Monte Carlo error well below the sampling noise of the data set itself.
    sample = sample or min(200_000, max(50_000, spec.customers))
    rng = np.random.default_rng([spec.seed, 7_919])
    is_org = rng.random(sample) < spec.org_share
    rate, dropout, first = _latent(rng, sample, is_org, spec.years)
    window = spec.years - first

    def expected_repeats(scale: float) -> float:
        return float(np.mean(-np.expm1(-scale * rate * dropout * window) / dropout))

    low, high = 0.0, 1.0
    while expected_repeats(high) < repeats_per_buyer and high < 1e7:
        low, high = high, high * 4
    for _ in range(60):
        mid = (low + high) / 2
        if expected_repeats(mid) < repeats_per_buyer:
            low = mid
        else:
            high = mid
    scale = (low + high) / 2
    expected = buyers * (1 + expected_repeats(scale)) * MEAN_LINES_PER_ORDER
    return Calibration(buyer_share, scale, expected)


def _grouped_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each group of ``counts`` consecutive values."""
    total = np.cumsum(values)
    ends = np.cumsum(counts)
    before = np.concatenate(([0.0], total))[ends - counts]
    return total - np.repeat(before, counts)


def _latin(names: Sequence[str], latin: Sequence[str]) -> tuple[str, ...]:
    return tuple(latin) if latin else tuple(n.lower() for n in names)


class DemoGenerator:
    """Generates the catalogue, then customers with everything attached, chunk by chunk.

    Ids are assigned here (starting at ``first_ids[table]``) so that rows of different
    tables can point at each other without reading anything back from the database.
    Each chunk has its own random stream, so the data depend only on the seed and the
    chunk size, not on timing.
    """

    def __init__(
        self,
        spec: DemoSpec,
        *,
        staff: Sequence[StaffMember],
        first_ids: dict[str, int] | None = None,
    ) -> None:
        self.spec = spec
        self.locale: Locale = get_locale(spec.locale)
        self.calibration = calibrate(spec)
        self.first_ids = dict(first_ids or {})
        sellers = [s for s in staff if s.role in {"sales_rep", "sales_manager"}]
        if not sellers:
            raise ValueError("the demo needs at least one sales rep or sales manager")
        self._owner_ids = np.array([s.user_id for s in sellers])
        self._owner_teams = np.array([s.team_id or 0 for s in sellers])
        # Reps carry most accounts; managers keep a few key ones.
        self._owner_weights = [3.0 if s.role == "sales_rep" else 1.0 for s in sellers]
        service = [s.user_id for s in staff if s.role == "service_agent"]
        marketing = [s.user_id for s in staff if s.role == "marketer"]
        self._service_ids = np.array(service or [s.user_id for s in sellers])
        self._marketing_ids = np.array(marketing or [s.user_id for s in sellers])
        self._start = np.datetime64(
            spec.end.replace(tzinfo=None) - dt.timedelta(days=365.25 * spec.years), "s"
        )
        self._end = np.datetime64(spec.end.replace(tzinfo=None), "s")
        self._products = self._product_rows()

    # ----------------------------------------------------------------- catalogue and tags
    def _product_rows(self) -> dict[str, np.ndarray]:
        loc = self.locale
        multipliers = (1.0, 1.35, 1.8)
        rows: dict[str, list[Any]] = {
            k: [] for k in ("sku", "name", "category", "price", "cost", "weight", "commercial")
        }
        number = 0
        for category, name, price, cost_share, weight in loc.products:
            commercial = price >= 5000
            for variant, multiplier in zip(loc.product_variants, multipliers, strict=True):
                number += 1
                # Shop prices end in 9: 1999, 2699, 119 ...
                yuan = round(price * multiplier / 10) * 10 - 1 if price >= 100 else price
                cents = round(yuan * 100)
                rows["sku"].append(f"GX-{number:04d}")
                rows["name"].append(f"{name} {variant}")
                rows["category"].append(category)
                rows["price"].append(cents)
                rows["cost"].append(round(cents * cost_share))
                rows["weight"].append(weight / multiplier)
                rows["commercial"].append(commercial)
        out = {k: np.asarray(v) for k, v in rows.items()}
        out["id"] = self.first_ids.get("product", 1) + np.arange(len(out["sku"]))
        return out

    def products(self) -> Table:
        """The product catalogue: SKU, name, category, list price and unit cost (CNY)."""
        p = self._products
        n = len(p["sku"])
        now = np.full(n, self._start)
        return Table(
            "product",
            {
                "id": p["id"],
                "created_at": now,
                "updated_at": now,
                "sku": p["sku"],
                "name": p["name"],
                "category": p["category"],
                "list_price": p["price"],
                "unit_cost": p["cost"],
                "currency": np.full(n, self.spec.currency),
                "is_active": np.ones(n, dtype=bool),
            },
            money=frozenset({"list_price", "unit_cost"}),
        )

    def tags(self) -> Table:
        """The free labels customers carry (VIP, key account, trade show ...)."""
        names = self.locale.tags
        colors = ("#d63939", "#f59f00", "#206bc4", "#74b816", "#ae3ec9", "#0ca678", "#e8590c")
        first = self.first_ids.get("tag", 1)
        return Table(
            "tag",
            {
                "id": np.arange(first, first + len(names)),
                "name": list(names),
                "color": [colors[i % len(colors)] for i in range(len(names))],
            },
        )

    # -------------------------------------------------------------------------- chunks
    def chunks(self, chunk_size: int = 50_000) -> Iterator[dict[str, Table]]:
        """Customers in chunks of ``chunk_size`` with their contacts, orders and the rest."""
        next_ids = {
            t: self.first_ids.get(t, 1)
            for t in ("customer", "contact", "order", "orderline", "interaction")
        }
        next_ids["customer_tags"] = self.first_ids.get("customer_tags", 1)
        next_ids["customerconsent"] = self.first_ids.get("customerconsent", 1)
        done = 0
        index = 0
        while done < self.spec.customers:
            n = min(chunk_size, self.spec.customers - done)
            rng = np.random.default_rng([self.spec.seed, index])
            tables = self._chunk(rng, n, next_ids)
            for name, table in tables.items():
                next_ids[name] = next_ids.get(name, 1) + len(table)
            yield tables
            done += n
            index += 1

    def _seconds(self, years: np.ndarray) -> np.ndarray:
        """Offsets in years from the start of the period as UTC instants (whole seconds)."""
        return self._start + (years * SECONDS_PER_YEAR).astype("timedelta64[s]")

    def _business_hours(self, rng: np.random.Generator, when: np.ndarray) -> np.ndarray:
        """Move instants into office hours (08:00-20:00 in UTC+8) on the same day."""
        day = when.astype("datetime64[D]").astype("datetime64[s]")
        offset = rng.integers(0, 12 * 3600, len(when)).astype("timedelta64[s]")
        return np.minimum(day + offset, self._end)

    def _chunk(
        self, rng: np.random.Generator, n: int, next_ids: dict[str, int]
    ) -> dict[str, Table]:
        spec, cal = self.spec, self.calibration
        ids = next_ids["customer"] + np.arange(n)
        is_org = rng.random(n) < spec.org_share
        is_buyer = rng.random(n) < cal.buyer_share

        # Buying process (see module docstring).
        rate, dropout, first = _latent(rng, n, is_org, spec.years)
        window = spec.years - first
        possible = rng.poisson(cal.rate_scale * rate * window)
        lifetime = rng.geometric(dropout)
        repeats = np.where(is_buyer, np.minimum(possible, lifetime), 0)
        n_orders = np.where(is_buyer, 1 + repeats, 0)
        mean_value = np.where(is_org, MEAN_ORDER_VALUE["organization"], MEAN_ORDER_VALUE["person"])
        # nu ~ Gamma(q, gamma) with gamma chosen so E[SPEND_SHAPE / nu] is the mean value.
        gamma_rate = mean_value * (SPEND_Q - 1) / SPEND_SHAPE
        nu = rng.gamma(SPEND_Q, 1.0 / gamma_rate)

        annual_spend = cal.rate_scale * rate * SPEND_SHAPE / nu  # expected, while active
        customers = self._customers(rng, ids, is_org, is_buyer, first, nu, annual_spend)
        created = customers.columns["created_at"]
        contacts, contact_first, contact_count = self._contacts(
            rng, ids, is_org, customers, next_ids["contact"]
        )
        orders, lines = self._orders(
            rng, ids, is_org, n_orders, repeats, possible, first, window, nu, next_ids
        )
        interactions = self._interactions(
            rng,
            ids,
            is_org,
            is_buyer,
            created,
            customers,
            contact_first,
            contact_count,
            next_ids["interaction"],
        )
        tags = self._tags(rng, ids, is_org, nu, customers, next_ids["customer_tags"])
        consents = self._consents(rng, ids, created, next_ids["customerconsent"])
        return {
            "customer": customers,
            "contact": contacts,
            "customer_tags": tags,
            "customerconsent": consents,
            "order": orders,
            "orderline": lines,
            "interaction": interactions,
        }

    # ----------------------------------------------------------------------- customers
    def _person_names(
        self, rng: np.random.Generator, n: int, female: np.ndarray
    ) -> tuple[list[str], list[str]]:
        """Display names and their latin transliteration (for e-mail addresses)."""
        loc = self.locale
        s = _pick(rng, n, loc.surname_weights)
        gf = rng.integers(0, len(loc.given_female), n)
        gm = rng.integers(0, len(loc.given_male), n)
        surnames = _take(loc.surnames, s)
        given = np.where(female, _take(loc.given_female, gf), _take(loc.given_male, gm))
        s_lat = _take(_latin(loc.surnames, loc.surnames_latin), s)
        g_lat = np.where(
            female,
            _take(_latin(loc.given_female, loc.given_female_latin), gf),
            _take(_latin(loc.given_male, loc.given_male_latin), gm),
        )
        if loc.person_name_order == "family_first":
            names = [a + b for a, b in zip(surnames, given, strict=True)]
        else:
            names = [f"{b} {a}" for a, b in zip(surnames, given, strict=True)]
        latin = [f"{b}.{a}" for a, b in zip(s_lat, g_lat, strict=True)]
        return names, latin

    def _phones(self, rng: np.random.Generator, n: int) -> list[str]:
        if self.locale.country == "CN":
            a = rng.integers(30, 100, n)
            b = rng.integers(0, 10_000, n)
            c = rng.integers(0, 10_000, n)
            return [f"+86 1{x} {y:04d} {z:04d}" for x, y, z in zip(a, b, c, strict=True)]
        area = rng.choice([212, 213, 312, 415, 617, 646, 713, 206, 305, 404], n)
        line = rng.integers(100, 200, n)
        return [f"+1 {x} 555 0{y:03d}" for x, y in zip(area, line, strict=True)]

    def _customers(
        self,
        rng: np.random.Generator,
        ids: np.ndarray,
        is_org: np.ndarray,
        is_buyer: np.ndarray,
        first: np.ndarray,
        nu: np.ndarray,
        annual_spend: np.ndarray,
    ) -> Table:
        loc, n = self.locale, len(ids)
        person = ~is_org
        empty = np.full(n, "", dtype=object)

        # Market and buyer motive (DOMAIN.md section 1).
        organizational = is_org & (rng.random(n) < 0.3)
        industrial = is_org & ~organizational
        market = np.where(person, "consumer", np.where(industrial, "industrial", "organizational"))
        trading = industrial & (rng.random(n) < 0.45)
        motive = np.where(
            person,
            "consumer",
            np.where(
                organizational, "representative", np.where(trading, "trading", "manufacturing")
            ),
        )

        # Region.
        city_index = _pick(rng, n, [c[2] for c in loc.cities])
        province = _take([c[0] for c in loc.cities], city_index)
        city = _take([c[1] for c in loc.cities], city_index)
        streets = _take(loc.streets, rng.integers(0, len(loc.streets), n))
        numbers = rng.integers(1, 999, n)
        address = [
            loc.address_format.format(city=c, street=s, number=k)
            for c, s, k in zip(city, streets, numbers, strict=True)
        ]

        # Persons: demographics.
        female = rng.random(n) < 0.52
        gender = np.where(female, "female", np.where(rng.random(n) < 0.02, "other", "male"))
        age = _pick(rng, n, [0.12, 0.25, 0.24, 0.18, 0.12, 0.09])
        age_band = _take(["under_25", "25_34", "35_44", "45_54", "55_64", "65_plus"], age)
        education_index = _pick(rng, n, [0.25, 0.2, 0.38, 0.14, 0.03])
        education = _take(
            ["secondary", "vocational", "bachelor", "master", "doctorate"], education_index
        )
        income_index = np.clip(education_index + rng.integers(-1, 2, n), 0, 4)
        income = _take(["low", "lower_middle", "middle", "upper_middle", "high"], income_index)
        occupation = _take(loc.occupations, rng.integers(0, len(loc.occupations), n))
        occupation = np.where(age == 5, loc.occupations[11], occupation)  # retired
        occupation = np.where((age == 0) & (rng.random(n) < 0.6), loc.occupations[12], occupation)

        # Organizations: firmographics.
        size_index = _pick(rng, n, [0.35, 0.35, 0.2, 0.1])
        org_size = _take(["micro", "small", "medium", "large"], size_index)
        ownership = np.where(
            organizational,
            _take(["public", "state", "non_profit"], _pick(rng, n, [0.7, 0.1, 0.2])),
            _take(
                ["private", "foreign", "joint_venture", "state"],
                _pick(rng, n, [0.6, 0.15, 0.08, 0.17]),
            ),
        )
        strength_index = np.clip(size_index // 2 + rng.integers(-1, 2, n), 0, 2)
        strength = _take(["weak", "moderate", "strong"], strength_index)
        ind_index = rng.integers(0, len(loc.industries_industrial), n)
        industrial_industry = _take(loc.industries_industrial, ind_index)
        org_index = rng.integers(0, len(loc.industries_organizational), n)
        organizational_industry = _take(loc.industries_organizational, org_index)
        industry = np.where(
            organizational, organizational_industry, np.where(industrial, industrial_industry, "")
        )

        # Names, e-mail addresses and phones.
        person_names, latin = self._person_names(rng, n, female)
        brand_index = rng.integers(0, len(loc.brand_words), n)
        brands = _take(loc.brand_words, brand_index)
        brands_latin = _take(_latin(loc.brand_words, loc.brand_words_latin), brand_index)
        template_choice = rng.integers(0, 3, n)
        names: list[str] = []
        emails: list[str] = []
        domain = loc.email_domain
        for i in range(n):
            cid = ids[i]
            if person[i]:
                names.append(person_names[i])
                emails.append(f"{latin[i]}{cid}@{domain}")
                continue
            if organizational[i]:
                template = loc.org_templates_organizational[org_index[i]]
            else:
                options = loc.org_templates["trading" if trading[i] else "manufacturing"]
                template = options[template_choice[i] % len(options)]
            names.append(
                template.format(
                    city=city[i],
                    brand=brands[i],
                    industry=loc.org_industry_words.get(industry[i], ""),
                    number=1 + cid % 40,
                )
            )
            emails.append(f"info@{brands_latin[i]}{cid}.{domain}")
        no_email = rng.random(n) < 0.08
        email = np.where(no_email, "", np.asarray(emails, dtype=object))
        phone = np.asarray(self._phones(rng, n), dtype=object)

        # MAN qualification: buyers mostly proven, prospects mostly unknown.
        def assess(yes: np.ndarray, no: np.ndarray) -> np.ndarray:
            u = rng.random(n)
            return np.where(u < yes, "yes", np.where(u < yes + no, "no", "unknown"))

        money = assess(np.where(is_buyer, 0.8, 0.3), np.where(is_buyer, 0.04, 0.1))
        authority = assess(
            np.where(person, 0.9, np.where(is_buyer, 0.55, 0.25)), np.where(person, 0.02, 0.1)
        )
        need = assess(np.where(is_buyer, 0.85, 0.35), np.where(is_buyer, 0.03, 0.12))
        answers = np.stack([money, authority, need])
        any_no = (answers == "no").any(axis=0)
        all_yes = (answers == "yes").all(axis=0)
        any_yes = (answers == "yes").any(axis=0)
        # Same rule as Customer.derive_qualification.
        qualification = np.where(
            any_no,
            "disqualified",
            np.where(all_yes, "qualified", np.where(any_yes, "partial", "unassessed")),
        )
        money_note = np.where(
            is_org & (money == "yes") & (rng.random(n) < 0.3),
            _take(loc.money_notes, rng.integers(0, len(loc.money_notes), n)),
            "",
        )
        need_note = np.where(
            is_org & (need == "yes") & (rng.random(n) < 0.3),
            _take(loc.need_notes, rng.integers(0, len(loc.need_notes), n)),
            "",
        )
        notes = np.where(
            rng.random(n) < 0.1,
            _take(loc.note_samples, rng.integers(0, len(loc.note_samples), n)),
            "",
        )

        # Credit status: ratings follow financial strength; lower ratings fall overdue.
        rating_index = np.clip(
            np.where(is_org, 4 - 2 * strength_index, 3) + rng.integers(-1, 3, n), 0, 7
        )
        rated = is_org | (rng.random(n) < 0.4)
        ratings = ("AAA", "AA", "A", "BBB", "BB", "B", "C", "D")
        credit_rating = np.where(rated, _take(ratings, rating_index), "")
        base_limit = np.where(
            is_org, np.array([50e3, 200e3, 1e6, 5e6])[size_index], 10e3 * (1 + income_index)
        )
        limit_factor = np.array([1.5, 1.3, 1.1, 1.0, 0.7, 0.5, 0.2, 0.0])[rating_index]
        credit_limit = np.where(
            rated, np.round(base_limit * limit_factor / 1000) * 1000 * 100, np.nan
        )
        overdue_p = np.array([0.01, 0.02, 0.03, 0.06, 0.1, 0.18, 0.35, 0.6])[rating_index]
        credit_overdue = rated & (rng.random(n) < overdue_p)

        # Annual category need (share of customer): known for about half the organizations that
        # buy; this company wins a Beta(2, 3) share of it (40% on average). Drawn from a
        # generator of its own so that every other column stays as it was for a seed.
        need_rng = np.random.default_rng([self.spec.seed, int(ids[0]) if n else 0, 1])
        need_known = is_org & is_buyer & (need_rng.random(n) < 0.5)
        won_share = need_rng.beta(2.0, 3.0, n) + 0.02
        category_need = np.where(
            need_known,
            np.maximum(np.round(annual_spend / won_share / 1000), 1) * 1000 * 100,
            np.nan,
        )

        sources = (
            "referral",
            "website",
            "event",
            "cold_call",
            "advertising",
            "partner",
            "social",
            "walk_in",
            "import",
            "other",
        )
        source = np.where(
            is_org,
            _take(
                sources, _pick(rng, n, [0.2, 0.12, 0.2, 0.18, 0.03, 0.15, 0.02, 0.0, 0.08, 0.02])
            ),
            _take(
                sources, _pick(rng, n, [0.15, 0.25, 0.04, 0.02, 0.14, 0.03, 0.2, 0.1, 0.05, 0.02])
            ),
        )

        owner_index = _pick(rng, n, self._owner_weights)
        owner_id = self._owner_ids[owner_index]
        team_id = self._owner_teams[owner_index]

        # Customers are recorded some days before their first purchase.
        lead_days = rng.exponential(20.0, n) / 365.25
        created_years = np.where(
            is_buyer, np.maximum(first - lead_days, 0.0), self.spec.years * rng.random(n)
        )
        created = self._business_hours(rng, self._seconds(created_years))

        return Table(
            "customer",
            {
                "id": ids,
                "created_at": created,
                "updated_at": created,
                "deleted_at": [None] * n,
                "deletion_batch": [None] * n,
                "external_id": [f"C{c:08d}" for c in ids],
                "kind": np.where(is_org, "organization", "person"),
                "name": names,
                "market": market,
                "buyer_motive": motive,
                "email": email,
                "phone": phone,
                "country": np.full(n, loc.country),
                "province": province,
                "city": city,
                "address": address,
                "industry": industry,
                "language": np.full(n, loc.code),
                "age_band": np.where(person, age_band, empty),
                "gender": np.where(person, gender, empty),
                "income_band": np.where(person, income, empty),
                "education": np.where(person, education, empty),
                "occupation": np.where(person, occupation, empty),
                "org_size": np.where(is_org, org_size, empty),
                "ownership": np.where(is_org, ownership, empty),
                "financial_strength": np.where(is_org, strength, empty),
                "money": money,
                "money_note": money_note,
                "authority": authority,
                "authority_note": empty,
                "need": need,
                "need_note": need_note,
                "qualification_status": qualification,
                "credit_rating": credit_rating,
                "credit_limit": credit_limit,
                "credit_overdue": credit_overdue,
                "category_need": category_need,
                "source": source,
                "custom_fields": np.full(n, "{}"),
                "notes": notes,
                "erased_at": [None] * n,
                "owner_id": owner_id,
                "team_id": np.where(team_id > 0, team_id, None),
            },
            money=frozenset({"credit_limit", "category_need"}),
        )

    # ------------------------------------------------------------------------ contacts
    def _contacts(
        self,
        rng: np.random.Generator,
        ids: np.ndarray,
        is_org: np.ndarray,
        customers: Table,
        first_id: int,
    ) -> tuple[Table, np.ndarray, np.ndarray]:
        """Contacts at organizations: who decides, who influences, and where they stand."""
        loc = self.locale
        counts = np.where(is_org, np.minimum(1 + rng.poisson(1.3, len(ids)), 5), 0)
        total = int(counts.sum())
        customer_id = np.repeat(ids, counts)
        first_of = np.cumsum(counts) - counts  # index of each customer's first contact
        position = np.arange(total) - np.repeat(first_of, counts)
        female = rng.random(total) < 0.45
        names, latin = self._person_names(rng, total, female)
        roles = ("influencer", "user", "gatekeeper", "coach", "unknown")
        role = np.where(
            position == 0,
            "decision_maker",
            _take(roles, _pick(rng, total, [0.35, 0.25, 0.15, 0.15, 0.1])),
        )
        stance = _take(
            ("supporter", "neutral", "opponent", "unknown"),
            _pick(rng, total, [0.35, 0.35, 0.12, 0.18]),
        )
        title = np.where(
            position == 0,
            loc.contact_titles[0],
            _take(loc.contact_titles, rng.integers(1, len(loc.contact_titles), total)),
        )
        created = np.repeat(customers.columns["created_at"], counts)
        email = [f"{a}{c}@{loc.email_domain}" for a, c in zip(latin, customer_id, strict=True)]
        contact_ids = first_id + np.arange(total)
        table = Table(
            "contact",
            {
                "id": contact_ids,
                "created_at": created,
                "updated_at": created,
                "deleted_at": [None] * total,
                "deletion_batch": [None] * total,
                "external_id": [None] * total,
                "name": names,
                "title": title,
                "email": email,
                "phone": self._phones(rng, total),
                "buying_role": role,
                "stance": stance,
                "is_primary": position == 0,
                "notes": np.full(total, ""),
                "customer_id": customer_id,
            },
        )
        return table, first_id + first_of, counts

    # -------------------------------------------------------------------------- orders
    def _orders(
        self,
        rng: np.random.Generator,
        ids: np.ndarray,
        is_org: np.ndarray,
        n_orders: np.ndarray,
        repeats: np.ndarray,
        possible: np.ndarray,
        first: np.ndarray,
        window: np.ndarray,
        nu: np.ndarray,
        next_ids: dict[str, int],
    ) -> tuple[Table, Table]:
        """Orders and their lines; every total is exactly the sum of its line amounts."""
        total_orders = int(n_orders.sum())
        owner = np.repeat(np.arange(len(ids)), n_orders)
        org = is_org[owner]

        # Repeat purchase times: the first ``x`` of ``N`` uniform points on the remaining
        # window are E-spacings cumsum / (cumsum + Gamma(N - x + 1)), so no more draws are
        # made than purchases actually kept.
        total_repeats = int(repeats.sum())
        spacing = _grouped_cumsum(rng.standard_exponential(total_repeats), repeats)
        rest = rng.gamma(np.maximum(possible - repeats, 0) + 1.0)
        last = np.zeros(len(ids))
        has = repeats > 0
        ends = np.cumsum(repeats) - 1
        last[has] = spacing[ends[has]]
        denominator = np.repeat(last + rest, repeats)
        repeat_years = (
            np.repeat(first, repeats) + np.repeat(window, repeats) * spacing / denominator
        )
        # Interleave: each customer's first purchase, then its repeats in time order.
        is_first = np.zeros(total_orders, dtype=bool)
        order_start = np.cumsum(n_orders) - n_orders
        is_first[order_start[n_orders > 0]] = True
        years = np.empty(total_orders)
        years[is_first] = first[n_orders > 0]
        years[~is_first] = repeat_years
        when = self._business_hours(rng, self._seconds(years))
        # Office hours may swap two purchases of one day; keep each history in time order.
        when = when[np.lexsort((when, owner))]

        channel = np.where(
            org,
            _take(("direct", "distributor", "phone"), _pick(rng, total_orders, [0.55, 0.3, 0.15])),
            _take(
                ("online", "store", "marketplace", "phone"),
                _pick(rng, total_orders, [0.45, 0.25, 0.2, 0.1]),
            ),
        )

        # Lines: 1-5 per order, products by popularity (households rarely buy commercial units).
        k = LINES_PER_ORDER[_pick(rng, total_orders, LINES_PER_ORDER_P)]
        total_lines = int(k.sum())
        line_order = np.repeat(np.arange(total_orders), k)
        line_first = np.cumsum(k) - k
        line_number = np.arange(total_lines) - np.repeat(line_first, k) + 1
        p = self._products
        person_w = p["weight"] * np.where(p["commercial"], 0.01, 1.0)
        org_w = p["weight"] * np.where(p["commercial"], 8.0, 1.0)
        line_org = org[line_order]
        product_index = np.where(
            line_org, _pick(rng, total_lines, org_w), _pick(rng, total_lines, person_w)
        )
        # Customer-level discount: households pay list or a member price, organizations
        # negotiate more.
        discount = np.where(
            is_org,
            rng.choice([0.05, 0.08, 0.1, 0.12, 0.15, 0.2], len(ids)),
            rng.choice([0.0, 0.0, 0.0, 0.05, 0.1], len(ids)),
        )
        line_customer = owner[line_order]
        unit_cents = np.round(p["price"][product_index] * (1 - discount[line_customer])).astype(
            np.int64
        )
        # Gamma-Gamma order value, split over the lines; quantities follow from it.
        value = rng.gamma(SPEND_SHAPE, 1.0, total_orders) / nu[owner] * 100  # cents
        share = rng.uniform(0.5, 1.5, total_lines)
        share_sum = np.add.reduceat(share, line_first) if total_lines else share
        target = value[line_order] * share / share_sum[line_order]
        quantity = np.clip(np.round(target / unit_cents), 1, 500).astype(np.int64)
        amount = quantity * unit_cents
        order_total = (
            np.add.reduceat(amount, line_first) if total_lines else np.zeros(0, dtype=np.int64)
        )

        order_ids = next_ids["order"] + np.arange(total_orders)
        orders = Table(
            "order",
            {
                "id": order_ids,
                "external_id": [f"SO{i:010d}" for i in order_ids],
                "customer_id": ids[owner],
                "ordered_at": when,
                "channel": channel,
                "currency": np.full(total_orders, self.spec.currency),
                "total_amount": order_total,
                "kind": np.full(total_orders, "sale"),
                "reverses_id": [None] * total_orders,
                "created_at": when,
                "created_by_id": [None] * total_orders,
            },
            money=frozenset({"total_amount"}),
        )
        lines = Table(
            "orderline",
            {
                "id": next_ids["orderline"] + np.arange(total_lines),
                "order_id": order_ids[line_order],
                "line_number": line_number,
                "product_id": p["id"][product_index],
                "description": np.full(total_lines, ""),
                "quantity": quantity,
                "unit_price": unit_cents,
                "amount": amount,
            },
            money=frozenset({"unit_price", "amount"}),
        )
        return orders, lines

    # -------------------------------------------------------------------- interactions
    def _interactions(
        self,
        rng: np.random.Generator,
        ids: np.ndarray,
        is_org: np.ndarray,
        is_buyer: np.ndarray,
        created: np.ndarray,
        customers: Table,
        contact_first: np.ndarray,
        contact_count: np.ndarray,
        first_id: int,
    ) -> Table:
        """Calls, e-mails and visits for sales, service and marketing, after the customer came."""
        loc = self.locale
        mean = np.where(is_org, 3.0, np.where(is_buyer, 1.2, 0.6))
        counts = rng.poisson(mean)
        total = int(counts.sum())
        who = np.repeat(np.arange(len(ids)), counts)
        kind = _pick(rng, total, [0.4, 0.4, 0.2])  # sale, service, marketing
        kinds = ("sale", "service", "marketing")
        channel = np.select(
            [kind == 0, kind == 1],
            [
                _take(
                    ("phone", "meeting", "visit", "email"), _pick(rng, total, [0.4, 0.2, 0.2, 0.2])
                ),
                _take(
                    ("phone", "sms", "email", "visit", "web"),
                    _pick(rng, total, [0.45, 0.15, 0.15, 0.15, 0.1]),
                ),
            ],
            _take(("email", "sms", "social", "letter"), _pick(rng, total, [0.4, 0.3, 0.2, 0.1])),
        )
        direction = np.where(
            rng.random(total) < np.select([kind == 0, kind == 1], [0.2, 0.5], 0.05),
            "inbound",
            "outbound",
        )
        subject = np.empty(total, dtype=object)
        for index, name in enumerate(kinds):
            mask = kind == index
            options = loc.interaction_subjects[name]
            subject[mask] = _take(options, rng.integers(0, len(options), int(mask.sum())))
        outcome = _take(
            ("", "positive", "neutral", "negative", "no_answer", "follow_up"),
            _pick(rng, total, [0.2, 0.3, 0.25, 0.07, 0.08, 0.1]),
        )
        owner_id = customers.columns["owner_id"][who]
        user = np.select(
            [kind == 0, kind == 1],
            [owner_id, self._service_ids[rng.integers(0, len(self._service_ids), total)]],
            self._marketing_ids[rng.integers(0, len(self._marketing_ids), total)],
        )
        has_contact = contact_count[who] > 0
        pick = (rng.random(total) * np.maximum(contact_count[who], 1)).astype(np.int64)
        contact_id = np.where(has_contact, contact_first[who] + pick, None)
        # Uniform between the customer's arrival and the end of the period.
        start = created[who]
        span = (self._end - start).astype(np.int64)
        when = start + (rng.random(total) * span).astype("timedelta64[s]")
        return Table(
            "interaction",
            {
                "id": first_id + np.arange(total),
                "created_at": when,
                "updated_at": when,
                "customer_id": ids[who],
                "contact_id": contact_id,
                "channel": channel,
                "direction": direction,
                "subject": subject,
                "notes": np.full(total, ""),
                "outcome": outcome,
                "user_id": user,
                "occurred_at": when,
            },
        )

    # ------------------------------------------------------------------ tags, consents
    def _tags(
        self,
        rng: np.random.Generator,
        ids: np.ndarray,
        is_org: np.ndarray,
        nu: np.ndarray,
        customers: Table,
        first_id: int,
    ) -> Table:
        """Tag assignments: VIPs are the big spenders, key accounts the large organizations."""
        n = len(ids)
        first_tag = self.first_ids.get("tag", 1)
        size = customers.columns["org_size"]
        referral = customers.columns["source"] == "referral"
        complaints = rng.random(n) < 0.02
        big_spender = nu < np.quantile(nu, 0.05) if n else np.zeros(0, dtype=bool)
        probability = [
            np.where(big_spender, 0.7, 0.01),  # VIP
            np.where(is_org & np.isin(size, ["medium", "large"]), 0.5, 0.0),  # key account
            np.where(is_org, 0.15, 0.03),  # trade show
            np.full(n, 0.08),  # price sensitive
            np.where(referral, 0.9, 0.0),  # referred
            np.where(is_org, 0.0, 0.2),  # member
            np.where(complaints, 1.0, 0.0),  # complaint follow-up
        ]
        customer_ids: list[np.ndarray] = []
        tag_ids: list[np.ndarray] = []
        for offset, p in enumerate(probability[: len(self.locale.tags)]):
            chosen = ids[rng.random(n) < p]
            customer_ids.append(chosen)
            tag_ids.append(np.full(len(chosen), first_tag + offset))
        customer_id = np.concatenate(customer_ids) if customer_ids else np.zeros(0, dtype=int)
        tag_id = np.concatenate(tag_ids) if tag_ids else np.zeros(0, dtype=int)
        order = np.argsort(customer_id, kind="stable")
        return Table(
            "customer_tags",
            {
                "id": first_id + np.arange(len(customer_id)),
                "customer_id": customer_id[order],
                "tag_id": tag_id[order],
            },
        )

    def _consents(
        self, rng: np.random.Generator, ids: np.ndarray, created: np.ndarray, first_id: int
    ) -> Table:
        """Recorded contact consent per channel: most who were asked said yes."""
        n = len(ids)
        parts: list[tuple[np.ndarray, str, np.ndarray]] = []
        for name, asked in (("email", 0.5), ("sms", 0.35), ("phone", 0.25)):
            mask = rng.random(n) < asked
            parts.append((ids[mask], name, created[mask]))
        customer_id = np.concatenate([p[0] for p in parts])
        channel = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
        recorded = np.concatenate([p[2] for p in parts])
        total = len(customer_id)
        methods = ("web_form", "written", "verbal", "email_reply", "import")
        return Table(
            "customerconsent",
            {
                "id": first_id + np.arange(total),
                "channel": channel,
                "granted": rng.random(total) < 0.85,
                "recorded_at": recorded,
                "method": _take(methods, _pick(rng, total, [0.4, 0.15, 0.25, 0.1, 0.1])),
                "note": np.full(total, ""),
                "customer_id": customer_id,
            },
        )
