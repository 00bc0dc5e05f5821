"""Matching rules on plain values: emails, E.164 phones, Chinese and Latin names, blocking."""

from __future__ import annotations

import pytest

from guanxi.dedup import matching
from guanxi.dedup.matching import (
    MatchRecord,
    find_groups,
    find_pairs,
    name_similarity,
    normalize_email,
    normalize_name,
    normalize_phone,
)


def wide(text: str) -> str:
    """The full-width form of ASCII text, as Chinese input methods type it."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) for c in text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Info@HengXin.CN ", "info@hengxin.cn"),
        ("j.o.e+crm@gmail.com", "joe@gmail.com"),
        ("Joe@GoogleMail.com", "joe@gmail.com"),
        ("j.o.e+crm@example.com", "j.o.e+crm@example.com"),  # dots matter elsewhere
        (wide("info@example.com"), "info@example.com"),
        ("not an address", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_email(raw, expected) -> None:
    assert normalize_email(raw) == expected


def test_gmail_folding_can_be_turned_off() -> None:
    assert normalize_email("j.o.e@gmail.com", fold_gmail=False) == "j.o.e@gmail.com"


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("138 0000 0000", "CN", "+8613800000000"),
        ("138-0000-0000", "CN", "+8613800000000"),
        ("+86 138 0000 0000", "CN", "+8613800000000"),
        ("0086 13800000000", "CN", "+8613800000000"),
        ("8613800000000", "CN", "+8613800000000"),
        (wide("(021)61234567"), "CN", "+862161234567"),
        ("021-61234567", "CN", "+862161234567"),
        ("010 8888 8888", "CN", "+861088888888"),
        ("0755-8888-8888 转 123", "CN", "+8675588888888"),  # extension dropped
        ("+86 (0)21 6123 4567", "CN", "+862161234567"),  # trunk zero dropped
        ("+86 021 6123 4567", "CN", "+862161234567"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("1-415-555-2671", "US", "+14155552671"),
        ("+44 20 7946 0958", "GB", "+442079460958"),
        ("6123 4567", "CN", ""),  # no area code: cannot be placed
        ("12345", "CN", ""),
        ("(415) 555-2671", "DE", ""),  # no rule for a national German number
        ("", "CN", ""),
    ],
)
def test_normalize_phone(raw, country, expected) -> None:
    assert normalize_phone(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("上海恒信贸易有限公司", "上海恒信贸易"),
        ("上海恒信贸易股份有限公司", "上海恒信贸易"),
        ("上海恒信贸易公司", "上海恒信贸易"),
        ("恒信集团有限公司", "恒信"),
        ("恒信集团", "恒信"),
        ("ACME Trading Co., Ltd.", "acmetrading"),
        ("Acme Inc.", "acme"),
        ("The Acme Company LLC", "acme"),
        (wide("ACME Trading"), "acmetrading"),
        ("公司", "公司"),  # nothing left to strip to
        ("张伟", "张伟"),
    ],
)
def test_normalize_name(raw, expected) -> None:
    assert normalize_name(raw) == expected


def test_chinese_company_names_with_different_legal_forms_are_the_same() -> None:
    assert name_similarity("上海恒信贸易有限公司", "上海恒信贸易公司") == 1.0
    assert name_similarity("上海恒信贸易有限公司", "上海恒信贸易股份有限公司") == 1.0


def test_similar_but_different_companies_score_low() -> None:
    assert name_similarity("上海恒信贸易有限公司", "上海恒通物流有限公司") < 0.5
    assert name_similarity("Beijing Tech Co., Ltd.", "Beijing Trade Co., Ltd.") < 0.75
    assert name_similarity("张伟", "张玮") == 0.0


def test_pairs_with_reasons_in_words() -> None:
    records = [
        MatchRecord(1, "上海恒信贸易有限公司", email="info@hengxin.cn", city="上海"),
        MatchRecord(2, "上海恒信贸易公司", phone="021-61234567", city="上海市"),
        MatchRecord(3, "恒信贸易", email="INFO@hengxin.cn ", phone="+86 21 6123 4567"),
        MatchRecord(4, "上海恒通物流有限公司", city="上海"),
    ]
    pairs = {(p.a, p.b): p for p in find_pairs(records)}
    assert set(pairs) == {(1, 2), (1, 3), (2, 3)}
    assert str(pairs[(1, 3)].reasons[0]) == "same email info@hengxin.cn"
    assert "same phone +862161234567" in [str(r) for r in pairs[(2, 3)].reasons]
    assert [str(r) for r in pairs[(1, 2)].reasons] == ["names 100% similar", "same city 上海"]
    groups = find_groups(records)
    assert [g.ids for g in groups] == [[1, 2, 3]]
    assert groups[0].score == max(p.score for p in pairs.values())


def test_false_positives_are_kept_out() -> None:
    records = [
        # Same common name, different contact details: two people.
        MatchRecord(1, "张伟", email="zw1@example.cn", phone="13800000001", kind="person"),
        MatchRecord(2, "张伟", email="zw2@example.cn", phone="13800000002", kind="person"),
        # A shared switchboard number alone does not make two companies one.
        MatchRecord(3, "北京星光科技有限公司", phone="010-88888888", kind="organization"),
        MatchRecord(4, "北京远洋运输有限公司", phone="010 8888 8888", kind="organization"),
        # Different companies of the same city with a shared first word.
        MatchRecord(5, "上海恒信贸易有限公司", city="上海"),
        MatchRecord(6, "上海恒通物流有限公司", city="上海"),
    ]
    assert find_pairs(records) == []


def test_contacts_match_by_name_within_an_organization() -> None:
    records = [
        MatchRecord(1, "王小明", org_id=10, org_name="恒信贸易有限公司"),
        MatchRecord(2, "王小明", phone="13800000000", org_id=10, org_name="恒信贸易有限公司"),
        MatchRecord(3, "王小明", org_id=11, org_name="恒信贸易公司"),  # a duplicate org
        MatchRecord(4, "王小明", org_id=12, org_name="远洋运输"),  # a namesake elsewhere
        MatchRecord(5, "李娜", org_id=10, org_name="恒信贸易有限公司"),
    ]
    pairs = {(p.a, p.b): p for p in find_pairs(records, contacts=True)}
    assert set(pairs) == {(1, 2), (1, 3), (2, 3)}
    assert "same organization" in [str(r) for r in pairs[(1, 2)].reasons]
    assert "organizations 100% similar" in [str(r) for r in pairs[(1, 3)].reasons]


def test_big_blocks_use_a_window_not_all_pairs(monkeypatch) -> None:
    # given: 1,000 records sharing one (placeholder) phone number
    monkeypatch.setattr(matching, "BLOCK_LIMIT", 50)
    records = [MatchRecord(i, f"客户{i:04d}", phone="4000000000") for i in range(1000)]
    prepared = [matching._prepare(r) for r in records]

    # when
    candidates = matching._candidate_pairs(prepared, contacts=False)

    # then: linear in the block size, not quadratic
    assert len(candidates) <= 1000 * (matching.WINDOW + 1)
