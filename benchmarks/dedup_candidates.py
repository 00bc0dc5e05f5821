"""Duplicate-candidate speed: demo customers (zh-hans) with 1% planted duplicates.

Measures ``guanxi.dedup.matching.find_groups`` (normalise, block, score, group) and the
phone normaliser against ``phonenumbers`` when that package is installed. Pure Python, no
database: the page adds one ``values_list`` read of the user's scope.

    .venv/bin/python benchmarks/dedup_candidates.py 100000
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
django.setup()

from guanxi.dedup.matching import MatchRecord, find_groups, normalize_phone  # noqa: E402
from guanxi.demo.generator import DemoGenerator, DemoSpec, StaffMember  # noqa: E402


def records(n: int) -> list[MatchRecord]:
    spec = DemoSpec(customers=n, order_lines=0, locale="zh-hans")
    generator = DemoGenerator(spec, staff=[StaffMember(1, 1, "sales_rep")])
    out: list[MatchRecord] = []
    for tables in generator.chunks():
        c = tables["customer"].columns
        for i in range(len(tables["customer"])):
            out.append(
                MatchRecord(
                    id=int(c["id"][i]),
                    name=str(c["name"][i]),
                    email=str(c["email"][i]),
                    phone=str(c["phone"][i]),
                    city=str(c["city"][i]),
                    province=str(c["province"][i]),
                    kind=str(c["kind"][i]),
                )
            )
    # Plant 1% duplicates: a legal-form suffix, a differently written phone.
    for k, r in enumerate(out[: n // 100]):
        out.append(
            MatchRecord(
                id=10_000_000 + k,
                name=r.name + "有限公司",
                phone=r.phone.replace(" ", "-"),
                city=r.city,
                province=r.province,
                kind=r.kind,
            )
        )
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = records(n)
    start = time.perf_counter()
    groups = find_groups(data)
    took = time.perf_counter() - start
    planted = sum(1 for g in groups if any(pk >= 10_000_000 for pk in g.ids))
    rate = len(data) / took
    print(f"{len(data):,} customers: {len(groups):,} groups in {took:.2f} s ({rate:,.0f}/s)")
    print(f"planted duplicates found: {planted:,} of {n // 100:,}")
    phones = [r.phone for r in data[:100_000]]
    start = time.perf_counter()
    for p in phones:
        normalize_phone(p, "CN")
    ours = (time.perf_counter() - start) / len(phones) * 1e6
    print(f"normalize_phone: {ours:.1f} us per number")
    try:
        import phonenumbers
    except ImportError:
        return
    start = time.perf_counter()
    for p in phones:
        with contextlib.suppress(phonenumbers.NumberParseException):
            phonenumbers.format_number(
                phonenumbers.parse(p, "CN"), phonenumbers.PhoneNumberFormat.E164
            )
    theirs = (time.perf_counter() - start) / len(phones) * 1e6
    print(f"phonenumbers.parse + format: {theirs:.1f} us per number")


if __name__ == "__main__":
    main()
