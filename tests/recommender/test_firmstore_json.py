"""A firm's stored JSON: every field, in declaration order, read back as the same firm."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

from recommender.corpus import FirmDoc, Product
from recommender.firmstore import encode_firm, firm_from_json, firm_to_json

FIRM = FirmDoc(
    id="F1",
    name="安徽某光电",
    fullname="安徽某光电科技有限公司",
    province="安徽省",
    city="合肥市",
    industry=("制造业", "仪器仪表"),
    products=(Product("光电倍增管", 0.6), Product("PMT 模块", None)),
    tags=("专精特新",),
    scale="small",
    description="主营光电倍增管。",
)


def test_firm_json_has_every_field_in_order_and_reads_back() -> None:
    d = firm_to_json(FIRM)
    assert list(d) == [f.name for f in fields(FirmDoc)]
    reference = asdict(FIRM) | {"products": [[p.name, p.share] for p in FIRM.products]}
    assert encode_firm(FIRM) == json.dumps(reference, ensure_ascii=False).encode("utf-8")
    assert firm_from_json(json.loads(encode_firm(FIRM))) == FIRM
    bare = FirmDoc(id="F2", name="某厂")
    assert firm_from_json(firm_to_json(bare)) == bare
