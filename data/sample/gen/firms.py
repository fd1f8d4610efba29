"""Invented firms: chain leaders, domestic firms made from archetypes, firms abroad, and some mess.

Every draw comes from one seeded ``random.Random`` in a fixed order, so the firms are the same on
every run; reordering a draw changes every firm after it.
"""

from __future__ import annotations

import math
import random
from typing import Any

from gen.tables import Arch, Tables
from models.uscc import uscc_check_char

SEED = 20260315
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_BODY_LETTERS = "ABCDEFGHJKLMNPQRTUWXY"  # letters that are also legal in a USCC

Products = list[tuple[str, float | None]]  # (name, fixed share or None for a drawn one)


def org_code_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation-code body."""
    total = 0
    for ch, weight in zip(body8, ORG_WEIGHTS, strict=True):
        value = int(ch) if ch.isdigit() else ord(ch) - 55
        total += value * weight
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_uscc(rng: random.Random, area_code: str) -> str:
    """A synthetic 统一社会信用代码 (GB 32100-2015) with a valid organisation code inside."""
    if rng.random() < 0.55:  # registered after 2015: organisation code starts with "MA"
        body = "MA" + "".join(rng.choice("0123456789" + ORG_BODY_LETTERS) for _ in range(6))
    else:  # older firm: legacy all-digit organisation code
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = "91" + area_code + body + org_code_check(body)
    return first17 + uscc_check_char(first17)


class FirmMaker:
    def __init__(self, tables: Tables) -> None:
        self.t = tables
        self.names: dict[str, Any] = tables.names
        self.rng = random.Random(SEED)
        self.used_brands: set[str] = {str(leader["brand"]) for leader in tables.leaders}
        self.counters: dict[str, int] = {}
        self.emails: dict[str, int] = {}
        self.firms: list[dict[str, Any]] = []

    # ---- helpers ------------------------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]:04d}"

    def brand(self) -> str:
        blacklist = set(self.names["brand_blacklist"])
        while True:
            name = self.rng.choice(self.names["brand_first"]) + self.rng.choice(self.names["brand_second"])
            if name[0] != name[1] and name not in self.used_brands and name not in blacklist:
                self.used_brands.add(name)
                return name

    def scale(self, sme: bool) -> str:
        weights = (0.06, 0.56, 0.3, 0.08) if sme else (0.0, 0.25, 0.45, 0.3)
        return self.rng.choices(("micro", "small", "medium", "large"), weights)[0]

    def size(self, scale: str, *, multinational: bool = False) -> tuple[int, float]:
        """Head count and revenue in line with the 工信部 size classes (industry)."""
        r = self.rng
        employees, revenue = {
            "micro": (r.randint(6, 19), r.uniform(0.8e6, 9e6)),
            "small": (r.randint(25, 290), r.uniform(8e6, 1.5e8)),
            "medium": (r.randint(310, 980), r.uniform(1.2e8, 6e8)),
            "large": (r.randint(1050, 3800), r.uniform(4.2e8, 3.2e9)),
        }[scale]
        if multinational and scale == "large":
            employees, revenue = r.randint(2500, 18000), r.uniform(2.5e9, 3.5e10)
        return employees, float(round(revenue / 1e4) * 1e4)

    def tags(self, scale: str) -> list[str]:
        """Tags of a domestic firm (firms abroad are only ever ``listed``)."""
        r = self.rng
        tags: list[str] = []
        if scale in ("small", "medium") and r.random() < 0.5:
            tags.append("专精特新")
            if r.random() < 0.38:
                tags.append("小巨人")
        if scale in ("medium", "large") and r.random() < 0.08:
            tags.append("单项冠军")
        if scale != "micro" and r.random() < 0.78:
            tags.append("高新技术企业")
        if (scale == "large" and r.random() < 0.6) or (scale == "medium" and r.random() < 0.12):
            tags.append("listed")
        return tags

    def contact(self, chance: float, landline: str | None = None) -> dict[str, str] | None:
        r = self.rng
        if r.random() >= chance:
            return None
        surname, s_py = r.choice(self.names["surnames"])
        given, g_py = r.choice(self.names["given_names"])
        local = f"{s_py}.{g_py}"
        self.emails[local] = self.emails.get(local, 0) + 1
        if self.emails[local] > 1:
            local += str(self.emails[local])
        if landline:
            phone = f"{landline}-{r.randint(5000_0000, 6999_9999)}"
        else:
            phone = r.choice(self.names["mobile_prefixes"]) + f"{r.randint(0, 99_999_999):08d}"
        return {"name": surname + given, "phone": phone, "email": f"{local}@example.cn"}

    def shares(self, products: Products) -> list[dict[str, Any]]:
        r = self.rng
        fixed = sum(s for _, s in products if s is not None)
        flex = [i for i, (_, s) in enumerate(products) if s is None]
        total = r.uniform(0.84, 0.99) - fixed
        weights = [r.uniform(2.6, 4.2) if k == 0 else r.uniform(0.5, 1.5) for k in range(len(flex))]
        out: list[dict[str, Any]] = []
        for i, (name, share) in enumerate(products):
            if share is None:
                share = total * weights[flex.index(i)] / sum(weights)
            out.append({"name": name, "share": math.floor(share * 10000) / 10000})
        out.sort(key=lambda p: -float(p["share"]))
        return out

    def description(self, arch: Arch, products: Products) -> str:
        r = self.rng
        descriptions = self.names["descriptions"]
        capability: list[str] | None = descriptions["capability"].get(arch.style)
        minors = [n for n, s in products if s is not None]
        flex_names = [n.strip() for n, s in products if s is None]
        main, rest = flex_names[0], flex_names[1:]
        templates = list(arch.desc or descriptions["generic"])
        minor_templates = list(descriptions["minor"])
        if capability and not arch.desc:
            templates.append(capability[0])
        template = r.choice([t for t in templates if rest or "{rest}" not in t])
        if capability and "定制" not in template:
            minor_templates.append(capability[1])
        text = template.format(main=main, rest="、".join(rest), all="、".join(flex_names), app=arch.app)
        if minors:
            text += r.choice(minor_templates).format(minor="、".join(m.strip() for m in minors))
        return text

    # ---- firms --------------------------------------------------------------------------------
    def add_leaders(self) -> None:
        gd = self.t.guangdong
        for leader in self.t.leaders:
            city = str(leader["city"])
            place = self.t.provinces[gd].cities[city]
            district = leader["district"]
            area = place.districts.get(str(district), place.area) if district else place.area
            fid = self.next_id(f"GD-{place.code}")
            leader["id"] = fid
            self.firms.append(
                {
                    "id": fid,
                    "name": leader["short"],
                    "fullname": leader["fullname"],
                    "uscc": make_uscc(self.rng, area),
                    "province": gd,
                    "city": city,
                    "district": district,
                    "country": "中国",
                    "industry": list(leader["industry"]),
                    "products": [{"name": n, "share": s} for n, s in leader["products"]],
                    "tags": leader["tags"],
                    "scale": leader.get("scale", "large"),
                    "employees": leader["employees"],
                    "revenue_cny": float(leader["revenue"]),
                    "description": leader["description"],
                    "contact": self.contact(1.0),
                }
            )

    def domestic(self, arch: Arch, province: str, city: str, bundle: tuple[str, ...]) -> None:
        r = self.rng
        gd = self.t.guangdong
        region = self.t.provinces[province]
        place = region.cities[city]
        district, area = None, place.area
        if place.districts and r.random() < 0.8:
            district = r.choice(sorted(place.districts))
            area = place.districts[district]
        fid = self.next_id(f"GD-{place.code}" if province == gd else region.prefix)
        products: Products = []
        for entry in bundle:
            name, _, share = entry.partition("@")
            products.append((name, float(share) if share else None))
        names = {n.strip() for n, _ in products}
        pool = [e for e in arch.extras if e not in names]
        for extra in r.sample(pool, min(len(pool), r.choice((0, 1, 1, 2)), 5 - len(products))):
            products.append((extra, None))
        scale = self.scale(arch.sme)
        employees, revenue = self.size(scale)
        brand = self.brand()
        domain = r.choice(arch.domains)
        large = scale == "large"
        tags = self.tags(scale)
        joint_stock = "listed" in tags or large or (scale == "medium" and r.random() < 0.3)
        legal = "股份有限公司" if joint_stock else "有限公司"
        if province in self.t.municipalities or (large and r.random() < 0.6):
            prefix = province[:-1]
        elif province == gd:
            prefix = city
        else:
            prefix = city[:-1] if r.random() < 0.6 else city
        description = self.description(arch, products)  # drawn before the code, shares and contact
        self.firms.append(
            {
                "id": fid,
                "name": brand + self.names["domain_short"].get(domain, "科技"),
                "fullname": f"{prefix}{brand}{domain}{legal}",
                "uscc": make_uscc(r, area),
                "province": province,
                "city": city,
                "district": district,
                "country": "中国",
                "industry": list(arch.industry),
                "products": self.shares(products),
                "tags": tags,
                "scale": scale,
                "employees": employees,
                "revenue_cny": revenue,
                "description": description,
                "contact": self.contact(0.52),
            }
        )

    def add_domestic(self) -> None:
        for arch in self.t.arches:
            for i, city in enumerate(arch.gd):
                bundle = arch.core_gd[i] if i < len(arch.core_gd) else arch.core[i % len(arch.core)]
                self.domestic(arch, self.t.guangdong, city, bundle)
            for i, place in enumerate(arch.other):
                province, city = place.split("/")
                self.domestic(arch, province, city, arch.core[i % len(arch.core)])

    def add_foreign(self) -> None:
        for firm in self.t.foreign:
            employees, revenue = self.size(firm["scale"], multinational=True)
            self.firms.append(
                {
                    "id": self.next_id(firm["country"]),
                    "name": firm["name"],
                    "fullname": firm["fullname"],
                    "uscc": None,
                    "province": None,
                    "city": firm["city"],
                    "district": None,
                    "country": self.t.countries[firm["country"]],
                    "industry": list(firm["industry"]),
                    "products": self.shares([(p, None) for p in firm["products"]]),
                    "tags": ["listed"] if firm["listed"] else [],
                    "scale": firm["scale"],
                    "employees": employees,
                    "revenue_cny": revenue,
                    "description": firm["description"],
                    "contact": self.contact(0.3, landline="021"),
                }
            )

    # ---- deliberate mess: ingest normalises all of it -----------------------------------------
    def add_mess(self) -> None:
        gd = self.t.guangdong
        gd_smes = [f for f in self.firms if f["province"] == gd and "链主企业" not in f["tags"]]
        gd_smes[7]["province"] = "广东"  # short province name
        gd_smes[41]["province"] = "粤"  # one-character abbreviation
        gd_smes[23]["fullname"] = str(gd_smes[23]["fullname"]) + " "  # trailing space
        gd_smes[88]["name"] = " " + str(gd_smes[88]["name"]) + "  "  # stray spaces
        # a description in traditional characters (the Guangzhou ion-source firm)
        ion = next(
            f
            for f in self.firms
            if any(p["name"] == "电喷雾离子源" and f["province"] == gd for p in f["products"])
        )
        ion["description"] = "專注於質譜儀配件與色譜耗材，可提供電噴霧離子源定製及維修服務。"
        # full-width letters in a description
        mri = next(f for f in self.firms if any(p["name"] == "ＭＲＩ射频线圈" for p in f["products"]))
        mri["description"] = "为ＭＲＩ整机厂提供射频线圈设计、生产及维修服务，可按需定制多通道相控阵线圈。"

    def make(self) -> list[dict[str, Any]]:
        """All firms, sorted by id; also gives each leader of the tables its ``id``."""
        self.add_leaders()
        self.add_domestic()
        self.add_foreign()
        self.add_mess()
        return sorted(self.firms, key=lambda f: str(f["id"]))
