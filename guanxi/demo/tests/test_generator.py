"""The pure demo generator: calibration, reproducibility and the buying process."""

from __future__ import annotations

import numpy as np
import pytest

from guanxi.demo.generator import DemoGenerator, DemoSpec, StaffMember, calibrate
from guanxi.demo.locales import get_locale

STAFF = [
    StaffMember(1, 1, "sales_rep"),
    StaffMember(2, 1, "sales_manager"),
    StaffMember(3, 2, "sales_rep"),
    StaffMember(4, 2, "service_agent"),
    StaffMember(5, 3, "marketer"),
]


def generate(spec: DemoSpec, chunk_size: int = 5_000) -> dict[str, list]:
    tables: dict[str, list] = {}
    for chunk in DemoGenerator(spec, staff=STAFF).chunks(chunk_size):
        for name, table in chunk.items():
            tables.setdefault(name, []).append(table)
    return tables


def test_expected_order_lines_hit_the_target() -> None:
    # given
    spec = DemoSpec(customers=20_000, order_lines=200_000, seed=11)

    # when
    lines = sum(len(t) for t in generate(spec)["orderline"])

    # then
    assert calibrate(spec).expected_order_lines == pytest.approx(200_000, rel=1e-6)
    assert lines == pytest.approx(200_000, rel=0.08)


def test_too_few_lines_for_every_buyer_means_fewer_buyers_and_no_repeats() -> None:
    # when
    calibration = calibrate(DemoSpec(customers=1_000, order_lines=500))

    # then
    assert calibration.rate_scale == 0.0
    assert calibration.buyer_share < 0.85


def test_the_same_seed_gives_the_same_data() -> None:
    # given
    spec = DemoSpec(customers=500, order_lines=5_000, seed=5)

    # when
    first, second = generate(spec), generate(spec)

    # then
    assert list(first["customer"][0].columns["name"]) == list(second["customer"][0].columns["name"])
    np.testing.assert_array_equal(
        first["orderline"][0].columns["amount"], second["orderline"][0].columns["amount"]
    )


def test_orders_are_in_time_order_per_customer_and_inside_the_period() -> None:
    # given
    spec = DemoSpec(customers=2_000, order_lines=20_000, seed=2)

    # when
    orders = generate(spec)["order"][0].columns

    # then
    customer, when = orders["customer_id"], orders["ordered_at"]
    same = customer[1:] == customer[:-1]
    assert (when[1:][same] >= when[:-1][same]).all()
    end = np.datetime64(spec.end.replace(tzinfo=None), "s")
    assert (when <= end).all()
    assert (when >= end - np.timedelta64(int(3 * 365.25 + 1), "D")).all()


def test_chunks_continue_ids_without_gaps() -> None:
    # when
    tables = generate(DemoSpec(customers=1_200, order_lines=6_000), chunk_size=500)

    # then
    for name in ("customer", "order", "orderline", "contact", "interaction"):
        ids = np.concatenate([t.columns["id"] for t in tables[name]])
        np.testing.assert_array_equal(ids, np.arange(1, len(ids) + 1))


def test_unknown_locale_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="zh-hans"):
        get_locale("fr")
    assert get_locale("zh_CN").code == "zh-hans"
