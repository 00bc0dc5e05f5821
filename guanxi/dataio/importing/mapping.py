"""Which column of a file feeds which field: recognised headers, overrides, saved mappings.

Headers are recognised in English, in Chinese and as exported by Salesforce and HubSpot.
They are compared normalised (case, spaces, ``_``, ``-``, ``/``, ``.``, ``:`` and full-width
forms ignored), so ``Account Name``, ``account_name`` and ``AccountName`` are one header.
When two columns could feed one field, the one whose name comes first in the field's
synonym list wins (a Salesforce ``Id`` beats ``AccountNumber`` as the external id) and the
other is reported as ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

#: Prefix of a target that is a customer custom field (``custom:loyalty_card``).
CUSTOM_PREFIX = "custom:"
#: Header prefix of a custom field column in guanxi's own exports (``cf_loyalty_card``).
EXPORT_CUSTOM_PREFIX = "cf_"
#: The target of a column deliberately left out.
IGNORE = ""

_SHARED_CUSTOMER_REF = {
    "customer_external_id": [
        "customer external id", "customer id", "customer number", "customer no", "customer code",
        "account id", "accountid", "account number", "associated company id",
        "company id", "客户编号", "客户编码", "客户代码", "客户id", "客户号",
    ],
    "customer_name": [
        "customer", "customer name", "account name", "account", "company", "company name",
        "associated company", "organization", "organisation", "客户名称", "客户", "公司",
        "公司名称", "单位", "单位名称",
    ],
}  # fmt: skip

#: kind -> field -> synonyms (best first). The field names are the importer's targets.
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "customers": {
        "external_id": [
            "external id", "id", "record id", "customer id", "customer number", "customer no",
            "customer code", "account number", "accountnumber", "客户编号", "客户编码",
            "客户代码", "客户id", "编号",
        ],
        "name": [
            "name", "customer name", "customer", "account name", "company name", "company",
            "full name", "客户名称", "客户名", "名称", "姓名", "公司名称", "公司", "单位名称",
        ],
        "kind": ["kind", "type", "customer type", "account type", "客户类型", "类型"],
        "market": ["market", "市场"],
        "buyer_motive": ["buyer motive", "购买动机", "购买动机类型"],
        "email": [
            "email", "e-mail", "email address", "mail", "邮箱", "电子邮箱", "电子邮件", "邮件",
        ],
        "phone": [
            "phone", "phone number", "telephone", "tel", "mobile", "mobile phone",
            "mobile phone number", "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话",
        ],
        "country": [
            "country", "billing country", "billingcountry", "country/region", "国家", "国家/地区",
        ],
        "province": [
            "province", "state", "region", "billing state", "billingstate",
            "billing state/province", "state/region", "state/province", "省份", "省", "地区",
            "省/直辖市",
        ],
        "city": ["city", "billing city", "billingcity", "城市", "市", "所在城市"],
        "address": [
            "address", "street", "billing street", "billingstreet", "street address",
            "地址", "详细地址", "街道",
        ],
        "industry": ["industry", "sector", "行业", "所属行业"],
        "language": ["language", "语言"],
        "age_band": ["age band", "age", "年龄段", "年龄"],
        "gender": ["gender", "sex", "性别"],
        "income_band": ["income band", "income", "收入", "收入水平"],
        "education": ["education", "学历", "教育程度"],
        "occupation": ["occupation", "job", "职业"],
        "org_size": [
            "size", "company size", "employees", "number of employees", "numberofemployees",
            "规模", "企业规模",
        ],
        "ownership": ["ownership", "所有制", "企业性质"],
        "financial_strength": ["financial strength", "财务实力"],
        "credit_rating": ["credit rating", "rating", "信用等级", "信用评级"],
        "credit_limit": ["credit limit", "信用额度"],
        "credit_overdue": ["credit overdue", "overdue", "overdue payments", "逾期", "是否逾期"],
        "category_need": ["category need", "annual category need", "annual need",
                          "品类需求", "年度品类需求", "年需求"],
        "money": ["money", "budget", "购买力"],
        "money_note": ["money note", "budget note"],
        "authority": ["authority", "决策权"],
        "authority_note": ["authority note"],
        "need": ["need", "需求"],
        "need_note": ["need note", "需求说明"],
        "tags": ["tags", "tag", "labels", "标签"],
        "source": ["source", "lead source", "leadsource", "original source", "来源", "客户来源"],
        "notes": ["notes", "note", "description", "备注", "说明", "描述"],
        "owner": [
            "owner", "account owner", "company owner", "owner username", "负责人", "客户经理",
            "销售",
        ],
        "team": ["team", "团队", "部门"],
    },
    "contacts": {
        "external_id": ["external id", "id", "record id", "contact id", "联系人编号", "编号"],
        **_SHARED_CUSTOMER_REF,
        "name": ["name", "full name", "contact name", "contact", "联系人", "姓名", "联系人姓名"],
        "first_name": ["first name", "firstname", "given name", "名"],
        "last_name": ["last name", "lastname", "surname", "family name", "姓"],
        "title": ["title", "job title", "position", "职位", "职务", "头衔"],
        "email": ["email", "e-mail", "email address", "邮箱", "电子邮箱", "电子邮件"],
        "phone": [
            "phone", "phone number", "mobile", "mobile phone", "mobile phone number",
            "mobilephone", "手机", "手机号", "电话", "联系电话",
        ],
        "buying_role": ["buying role", "role", "采购角色", "角色"],
        "stance": ["stance", "立场", "态度"],
        "is_primary": ["primary", "is primary", "primary contact", "主要联系人"],
        "notes": ["notes", "description", "备注"],
    },
    "products": {
        "sku": [
            "sku", "product code", "code", "product sku", "item code", "productcode",
            "产品编码", "产品编号", "商品编码", "货号", "编码",
        ],
        "name": ["name", "product name", "product", "产品名称", "商品名称", "名称", "产品"],
        "category": ["category", "product family", "family", "类别", "分类", "产品类别"],
        "list_price": ["list price", "price", "unit price", "listprice", "价格", "单价", "标价"],
        "unit_cost": ["unit cost", "cost", "成本", "单位成本"],
        "currency": ["currency", "currency code", "currencyisocode", "币种", "货币"],
        "is_active": ["active", "is active", "isactive", "是否有效", "启用"],
    },
    "orders": {
        "external_id": [
            "order", "order number", "order no", "order id", "external id", "ordernumber",
            "deal id",
            "record id", "订单号", "订单编号", "单号",
        ],
        "customer_external_id": [
            *_SHARED_CUSTOMER_REF["customer_external_id"], "customer", "account", "客户",
        ],
        "ordered_at": [
            "ordered at", "order date", "order time", "date", "close date", "closedate",
            "effective date", "created date", "createddate", "下单时间", "订单日期", "下单日期",
            "日期", "成交日期",
        ],
        "channel": ["channel", "sales channel", "渠道", "销售渠道"],
        "currency": ["currency", "currencyisocode", "币种", "货币"],
        "line_number": ["line", "line number", "line no", "行号", "明细行号", "序号"],
        "sku": [
            "sku", "product code", "productcode", "product sku", "产品编码", "商品编码", "货号",
        ],
        "description": [
            "description", "product name", "product", "item", "产品名称", "商品名称", "描述",
        ],
        "quantity": ["quantity", "qty", "数量"],
        "unit_price": ["unit price", "unitprice", "price", "sales price", "单价", "价格"],
        "amount": [
            "amount", "line amount", "total", "total price", "totalprice", "金额", "小计", "总价",
        ],
        "kind": ["kind", "order kind", "order type", "订单类型"],
        "reverses_external_id": ["reverses external id", "reverses", "冲销订单号"],
        # The export's order total: the sum of the lines, checked against them.
        "total_amount": ["total amount", "order total", "订单总额"],
    },
    "interactions": {
        **_SHARED_CUSTOMER_REF,
        "contact_external_id": ["contact external id", "contact id", "联系人编号"],
        "contact_name": ["contact", "contact name", "who", "联系人"],
        "channel": ["channel", "type", "activity type", "渠道", "方式", "类型"],
        "direction": ["direction", "方向"],
        "subject": ["subject", "title", "activity", "主题", "标题"],
        "notes": ["notes", "body", "description", "comments", "内容", "备注", "记录"],
        "outcome": ["outcome", "result", "call outcome", "结果"],
        "occurred_at": [
            "occurred at", "date", "time", "activity date", "activitydate", "created date",
            "timestamp", "时间", "日期", "发生时间",
        ],
        "user": ["user", "by", "assigned to", "activity owner", "owner", "负责人", "记录人"],
    },
}  # fmt: skip

#: Fields a row cannot do without, per kind (alternatives: any one of a tuple).
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "customers": [("name", "external_id")],
    "contacts": [("name", "first_name", "last_name", "external_id"),
                 ("customer_external_id", "customer_name", "external_id")],
    "products": [("sku",)],
    "orders": [("external_id",), ("customer_external_id",), ("unit_price", "amount")],
    "interactions": [("customer_external_id", "customer_name"), ("subject",), ("occurred_at",)],
}  # fmt: skip


def normalise(header: str) -> str:
    """A header compared loosely: NFKC, lower case, no spaces or common punctuation."""
    text = unicodedata.normalize("NFKC", header).strip().lower()
    return re.sub(r"[\s_\-/.:()*]+", "", text)  # NFKC made full-width ( ) plain


def field_names(kind: str) -> list[str]:
    """The fields a column of this kind of file can feed."""
    return list(SYNONYMS[kind])


@dataclass
class Mapping_:
    """The result of mapping a header: column index per field, and what was left out."""

    columns: dict[str, int] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)
    by_header: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def column_name(self, target: str) -> str:
        """The header that feeds ``target`` (for error messages)."""
        index = self.columns.get(target)
        return self.headers[index] if index is not None else target

    def as_json(self) -> dict[str, str]:
        """``{header: field}`` as stored on the run (ignored columns map to "")."""
        return dict(self.by_header)


def propose_mapping(
    kind: str,
    headers: list[str],
    *,
    overrides: Mapping[str, str] | None = None,
    custom_fields: Iterable[str] = (),
) -> Mapping_:
    """Map each header to a field (or a customer custom field), applying ``overrides``.

    ``overrides`` maps a header (exact or normalised) to a field name, ``custom:<key>``, or
    ``""`` to ignore the column. A header that matches nothing is reported in ``unknown``.
    """
    synonyms = SYNONYMS[kind]
    rank: dict[str, tuple[str, int]] = {}
    for name, words in synonyms.items():
        for position, word in enumerate([name, *words]):
            key = normalise(word)
            if key not in rank or rank[key][1] > position:
                rank[key] = (name, position)
    custom: dict[str, str] = {}
    if kind == "customers":
        for name in custom_fields:
            custom[normalise(name)] = name
            custom[normalise(EXPORT_CUSTOM_PREFIX + name)] = name
    forced = {normalise(h): f for h, f in (overrides or {}).items()}
    result = Mapping_(headers=list(headers))
    chosen: dict[str, tuple[int, int]] = {}  # field -> (position, column)
    for index, header in enumerate(headers):
        key = normalise(header)
        if not key:
            continue
        if key in forced:
            target = forced[key]
            if target == IGNORE:
                result.by_header[header] = IGNORE
                continue
            if target.startswith(CUSTOM_PREFIX) or target in synonyms:
                chosen[target] = (-1, index)
                continue
            raise ValueError(
                _("%(field)s is not a field of %(kind)s (column %(header)s).")
                % {"field": target, "kind": kind, "header": header}
            )
        if key in rank:
            name, position = rank[key]
            if name in chosen and chosen[name][0] <= position:
                result.duplicates.append(header)
                continue
            if name in chosen:
                result.duplicates.append(headers[chosen[name][1]])
            chosen[name] = (position, index)
        elif key in custom:
            chosen[CUSTOM_PREFIX + custom[key]] = (0, index)
        else:
            result.unknown.append(header)
    for name, (_position, index) in chosen.items():
        result.columns[name] = index
        result.by_header[headers[index]] = name
    for header in result.unknown + result.duplicates:
        result.by_header.setdefault(header, IGNORE)
    for group in REQUIRED[kind]:
        if not any(name in result.columns for name in group):
            result.missing.append(" / ".join(group))
    return result


def describe(mapping: Mapping_) -> list[str]:
    """Human-readable notes on a mapping (ignored columns, missing fields)."""
    notes = []
    if mapping.unknown:
        notes.append(_("Columns not recognised (ignored): %s") % ", ".join(mapping.unknown))
    if mapping.duplicates:
        notes.append(
            _("Columns ignored because another column feeds the same field: %s")
            % ", ".join(mapping.duplicates)
        )
    if mapping.missing:
        notes.append(_("Missing required columns: %s") % ", ".join(mapping.missing))
    return notes


def parse_map_options(items: Iterable[str]) -> dict[str, str]:
    """``["Header=field", "Other="]`` from the command line as a dict."""
    result: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(_("--map takes HEADER=FIELD, not %(item)r.") % {"item": item})
        header, target = item.split("=", 1)
        result[header.strip()] = target.strip()
    return result
