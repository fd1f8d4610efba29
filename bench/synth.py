"""A synthetic corpus of N firms (default 100,000) from chainkg's vocabulary and distributions.

Each synthetic firm perturbs a random real firm (its *template*, drawn uniformly among firms with
products): it keeps the template's industry path, draws its number of products from the real
distribution, and its products from the template's products (60%), from product-graph
neighbours of those (subclasses / parents / upstream materials, 25%) and from the whole product
vocabulary weighted by frequency (15%); a fraction get a qualifier ("高纯", "精密" …) so that
names unseen in chainkg appear as in a larger registry. Shares are Dirichlet-distributed, then
scaled by the template's share total. Provinces follow the real distribution (深圳 city kept),
2% of firms are foreign; scale and tags (专精特新, 小巨人, listed) are drawn with fixed rates;
60% get a one- or two-sentence description built from their products.

Run:  python bench/synth.py --n 100000 --out bench/out/synth_100k.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import load_firms, load_relations
from recommender.corpus import FirmDoc, Product, RelationKind
from recommender.products import is_capability

QUALIFIERS = (
    "高纯",
    "精密",
    "智能",
    "新型",
    "特种",
    "高性能",
    "微型",
    "大功率",
    "超薄",
    "环保型",
    "工业级",
    "车规级",
)
NAME_CHARS = "华中天海宏远鑫盛泰达瑞恒丰源康力信德安新科隆汇创锦博睿凯嘉伟星辰晶维佳诚益正通金玉明"
NAME_SUFFIX = ("科技", "股份", "实业", "材料", "电子", "机械", "化工", "精密", "智能", "新材")
FOREIGN = ("日本", "德国", "美国", "韩国", "瑞士")
SCALES = (("micro", 0.15), ("small", 0.40), ("medium", 0.30), ("large", 0.10), ("unknown", 0.05))


def synth_firms(n: int, seed: int = 0) -> list[FirmDoc]:
    rng = np.random.default_rng(seed)
    real = load_firms()
    relations = load_relations()
    templates = [f for f in real if any(is_capability(p.name) for p in f.products)]
    neighbours: dict[str, list[str]] = {}
    for r in relations:
        if r.relation in (RelationKind.SUBCLASS, RelationKind.UPSTREAM_MATERIAL):
            neighbours.setdefault(r.product, []).append(r.target)
            if r.relation is RelationKind.SUBCLASS:
                neighbours.setdefault(r.target, []).append(r.product)
    vocab_counts = Counter(p.name for f in templates for p in f.products if is_capability(p.name))
    vocab = list(vocab_counts)
    vocab_p = np.asarray([vocab_counts[v] for v in vocab], dtype=np.float64)
    vocab_cdf = np.cumsum(vocab_p / vocab_p.sum())
    n_products = [sum(1 for p in f.products if is_capability(p.name)) for f in templates]
    prov_counts = Counter(f.province for f in real if f.province)
    provinces = list(prov_counts)
    prov_p = np.asarray([prov_counts[p] for p in provinces], dtype=np.float64)
    prov_p /= prov_p.sum()

    out: list[FirmDoc] = []
    for i in range(n):
        t = templates[int(rng.integers(len(templates)))]
        k = max(1, min(int(n_products[int(rng.integers(len(n_products)))]), 20))
        own = [p.name for p in t.products if is_capability(p.name)]
        names: list[str] = []
        for _ in range(k * 2):
            if len(names) >= k:
                break
            u = rng.random()
            if u < 0.60 and own:
                name = own[int(rng.integers(len(own)))]
            elif u < 0.85 and own:
                base = own[int(rng.integers(len(own)))]
                nb = neighbours.get(base)
                name = nb[int(rng.integers(len(nb)))] if nb else base
            else:
                name = vocab[min(int(np.searchsorted(vocab_cdf, rng.random())), len(vocab) - 1)]
            if rng.random() < 0.12:
                name = QUALIFIERS[int(rng.integers(len(QUALIFIERS)))] + name
            if name not in names:
                names.append(name)
        total = min(1.0, sum(max(p.share or 0.0, 0.0) for p in t.products) or 1.0)
        shares = rng.dirichlet(np.full(len(names), 0.7)) * total
        products = tuple(
            sorted(
                (Product(nm, round(float(s), 4)) for nm, s in zip(names, shares, strict=True)),
                key=lambda p: -(p.share or 0.0),
            )
        )
        foreign = rng.random() < 0.02
        province = None if foreign else str(provinces[int(rng.choice(len(provinces), p=prov_p))])
        city = "深圳市" if province == "广东省" and rng.random() < 0.35 else None
        scale = SCALES[int(rng.choice(len(SCALES), p=[p for _, p in SCALES]))][0]
        tags: list[str] = []
        if rng.random() < 0.08:
            tags.append("专精特新")
        if rng.random() < 0.02:
            tags.append("专精特新小巨人")
        if rng.random() < 0.05:
            tags.append("listed")
        name = (
            "".join(NAME_CHARS[int(j)] for j in rng.integers(len(NAME_CHARS), size=2))
            + NAME_SUFFIX[int(rng.integers(len(NAME_SUFFIX)))]
        )
        desc = None
        if rng.random() < 0.6:
            main = "、".join(p.name for p in products[:3])
            desc = f"公司主要从事{main}的研发、生产和销售。"
            if rng.random() < 0.5 and t.industry:
                desc += f"产品广泛应用于{t.industry[-1]}等领域。"
        out.append(
            FirmDoc(
                id=f"S{i:07d}",
                name=name,
                fullname=None,
                province=province,
                city=city,
                country=FOREIGN[int(rng.integers(len(FOREIGN)))] if foreign else "中国",
                industry=t.industry,
                products=products,
                tags=tuple(tags),
                scale=scale,
                description=desc,
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    firms = synth_firms(args.n, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for f in firms:
            d = {
                "id": f.id,
                "name": f.name,
                "province": f.province,
                "city": f.city,
                "country": f.country,
                "industry": list(f.industry),
                "products": [{"name": p.name, "share": p.share} for p in f.products],
                "tags": list(f.tags),
                "scale": f.scale,
                "description": f.description,
            }
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    print(f"wrote {len(firms)} firms to {args.out}")


if __name__ == "__main__":
    main()
