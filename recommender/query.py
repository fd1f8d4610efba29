"""Query understanding: read a weak link as people write it.

Leaders paste rows of their 断链断供风险清单 and bureau staff type what they heard on a visit:
``高精度光栅尺``, ``用于质谱仪的离子源``, ``电源模块目前主要采购进口品牌，急需国内替代``, ``PMT``,
``甲烷（纯度≥99.9%，年需求约3000万立方米）``. The engine must search for the *product* the text
names and keep the rest as soft context. :class:`QueryParser` does that without a database:

1. **Sourcing facts** (依赖进口, 进口占比70%, a country, 单一供应商 …) and **money** (年采购额3000万元)
   are read from the whole text.
2. The text is cut into **clauses** (punctuation, brackets, a space between CJK and other text).
   A clause that holds numbers with units or comparisons and no product is a **spec**.
3. **Mentions**: every substring that is a known product key (the registry's product names and
   product-graph nodes, given by a :class:`Vocabulary`) or an alias (:mod:`recommender.aliases`);
   Latin mentions must stand on word boundaries (``pp`` is not found inside ``ppm``).
4. In the first clause with a mention, the **noun phrase** ends where the predicate starts
   (目前, 主要, 依赖, 供应商 … after the first mention) and the product is its **head**: Chinese
   noun phrases are head-final, so after the last end-use marker (用于…的, …用, 所需, 配套, 的) the
   mention that ends last, the longest of those. A generic class word (树脂, 材料 …) right after
   another mention yields to it (``PP树脂`` → PP → 聚丙烯).
5. What precedes the product in the phrase is its **qualifiers** (工业级, 高可靠); the text before
   the end-use marker is **for_product**.

A text that is itself a known product is answered by one dictionary look-up (catalog names pay
nothing). No known product at all: the head of the noun phrase as typed (``via=head``, low
confidence), so that the text channels still search for it and the answer is flagged, not empty.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from .aliases import AliasTable, alias_key
from .text import normalize_text
from .understanding import (
    VIA_ALIAS,
    VIA_EXACT,
    VIA_HEAD,
    VIA_MENTION,
    VIA_NONE,
    Sourcing,
    Understanding,
)


class Vocabulary(Protocol):
    """Known product keys (``normalize_key``): the registry's product names and graph nodes."""

    def product_weight(self, key: str) -> int:
        """0 = unknown; 1 = a product-graph node nobody lists; 2 + n = listed by n firms."""
        ...

    def display(self, key: str) -> str:
        """The product's display name."""
        ...


# Confidence of a reading that names nothing any firm lists (see QueryParser._doubt_unlisted)
UNLISTED_CONFIDENCE = 0.45
MAX_MENTION = 40  # characters; English names run long ("insulated gate bipolar transistor")

# ----------------------------------------------------------------------------------- sourcing
_IMPORT_RE = re.compile(
    r"依赖进口|依靠进口|进口依赖|全部进口|全靠进口|主要进口|基本进口|完全进口|采购进口|进口品牌|进口为主|"
    r"国外进口|海外进口|从国外|从海外|海外供应|国外供应|国外垄断|海外垄断|国外厂商|海外厂商|外资品牌|"
    r"国外品牌|卡脖子|国产化率低|国产替代|国内替代|进口替代|尚未国产化|无国产|依赖国外|依赖海外|"
    r"进口占比|进口比例|外购进口|需进口|靠进口"
)
_COUNTRIES = {
    "日本": "日本", "美国": "美国", "德国": "德国", "韩国": "韩国", "荷兰": "荷兰", "瑞士": "瑞士",
    "英国": "英国", "法国": "法国", "意大利": "意大利", "以色列": "以色列", "瑞典": "瑞典", "芬兰": "芬兰",
    "比利时": "比利时", "奥地利": "奥地利", "丹麦": "丹麦", "挪威": "挪威", "加拿大": "加拿大",
    "澳大利亚": "澳大利亚", "新加坡": "新加坡", "俄罗斯": "俄罗斯", "印度": "印度", "西班牙": "西班牙",
    "爱尔兰": "爱尔兰", "马来西亚": "马来西亚", "泰国": "泰国", "越南": "越南", "巴西": "巴西",
    "智利": "智利", "南非": "南非", "沙特": "沙特阿拉伯", "台湾": "中国台湾", "日韩": "日本", "美日": "美国",
}  # fmt: skip
_IMPORT_SHARE_RES = (
    re.compile(
        r"进口(?:占比|比例|比重|依存度|依赖度|份额|率)?(?:约|达|超过|高达|为|在|近|超)?\s*(\d+(?:\.\d+)?)\s*%"
    ),
    # 70%依赖进口, 100%依赖日本进口: a share, a verb, a source named, then 进口
    re.compile(
        r"(\d+(?:\.\d+)?)\s*%\s*(?:以上|左右)?(?:的)?(?:需|依赖|来自|靠|为|从)?"
        r"(?:国外|海外|(?:" + "|".join(_COUNTRIES) + r")+)?进口"
    ),
)
_SINGLE_RE = re.compile(
    r"单一供应商|单一来源|单一渠道|单一供货|独家供应|独家供货|唯一供应商|唯一来源|仅(?:靠|有|依赖|从|由)?[一1]家|"
    r"只有[一1]家|只靠[一1]家|只从[一1]家|仅此一家|来源单一|渠道单一|气源单一|供应商单一|货源单一|单源供应|独家"
)
_COUNTRY_RE = re.compile("|".join(sorted(map(re.escape, _COUNTRIES), key=len, reverse=True)))
_MONEY_RE = re.compile(
    r"(?:年|每年)(?:需求|采购|用量|采购额|需求额|采购金额|需求金额|市场)?(?:额|金额|规模)?"
    r"(?:约|达|超过|为|近|在|大约)?\s*(\d+(?:\.\d+)?)\s*(亿|千万|百万|万)?\s*元"
)
_MONEY_UNIT = {None: 1.0, "": 1.0, "万": 1e4, "百万": 1e6, "千万": 1e7, "亿": 1e8}

# ----------------------------------------------------------------------------------- clauses
_CLAUSE_SPLIT_RE = re.compile(r"[，,；;。！!？?\n、：:]+")
_BRACKET_RE = re.compile(r"[(（\[【]([^()（）\[\]【】]*)[)）\]】]")
_CJK = r"\u3400-\u9fff"
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_DIGIT_RE = re.compile(r"\d")
_ENGLISH_RE = re.compile(r"[A-Za-z][A-Za-z\s\-]*[A-Za-z]")
_SPEC_HINT_RE = re.compile(
    r"[≥≤<>±~～%‰×]|\d\s*(?:[a-zA-Zμµ°Ω℃/²³]|万|吨|千克|公斤|克|升|立方|平方|米|伏|安|瓦|赫兹|度|目|寸|台|套|件|只|片|颗|个|根|卷|张|块|支|号|级|层|芯|位|通道|路|元|天|周|月|年|小时|分钟|秒|次)"
    r"|需求|用量|纯度|含量|精度|分辨率|厚度|直径|粒径|尺寸|功率|电压|电流|频率|压力|抽速|转速|流量|排量|温度|浓度|规格|型号|容量|面积|重量|寿命|波长|像素|帧率|真空度|标准|国[ⅤⅥVI]+"
)

# ----------------------------------------------------------------------------------- the phrase
# Words after which the noun phrase is over (the predicate or the supplier of the product). Only
# looked for after the first mention, and never inside a mention.
_PREDICATE_RE = re.compile(
    r"目前|当前|现阶段|主要|长期|一直|均|都|全部|基本|完全|严重|高度|依赖|依靠|仅|只|唯一|单一|存在|面临|受|被|"
    r"无法|不能|难以|尚未|未能|交期|交货|价格|成本|报价|供应|供货|来源|货源|气源|渠道|用量|需求|需要|需|急需|亟需|"
    r"国产化|质量|品质|性能|稳定|不稳|波动|短缺|紧张|不足|偏|较|很|非常|是|由|从|等|厂家|厂商|品牌|来自|问题|"
    r"风险|采购|进口|外购|年产|月产|产能|库存|周期|要求|缺货|断货|紧缺|告急|频发|涨价|断供|停产|减供|季节性|为|对|"
    r"合格|资质|认证|厂家|基地|供方|配套商|合作|部分|牌号|多|批量|水源|本地|当地|外省|订货|"
    r"生产企业|生产厂|加工厂|制造商|生产商|供应商|服务商|经销商|代理商"
)
_WEAK_PREDICATES = frozenset(
    [
        "质量",
        "品质",
        "性能",
        "稳定",
        "等",
        "要求",
        "多",
        "批量",
        "较",
        "偏",
        "很",
        "非常",
        "高度",
        "合格",
        "认证",
    ]
)
# End-use markers, tried from the last one back: text before them is what the product is for.
_PURPOSE_RE = re.compile(
    r"用于(?P<fp>.+?)(?:的|之)|(?:关键|主要|核心)?原(?:材)?料|所需的|所需|所用的|所用|需要的|专用的|专用|配套用的|配套用|配套的|配套|使用的|用的|用|中的|里的|的"
)
# Marker words kept out of for_product ("ACS树脂合成工序用" → ACS树脂).
_FOR_TRIM_RE = re.compile(
    r"(?:生产线|生产|制造|加工|合成|工序|制作|制备|使用|装配|组装|领域|行业|工艺|环节|产线|项目|过程|设备上|上|中|等|原料|原材料|随行|配料|调配|挤出|保障|配套)+$"
)
_LEAD_TRIM_RE = re.compile(
    r"^(?:我司|我公司|本公司|我厂|本厂|我们|公司|企业|目前|当前|现阶段|现有|急需|亟需|需要|需|寻找|寻求|采购|引进|"
    r"新增|拓展|国内|国产|可替代|替代|用于|供|给|为|对|关于|针对)+"
)
# Generic class words: a head that yields to the mention right before it (PP树脂 → PP).
_CLASS_WORDS = frozenset(
    [
        "树脂",
        "材料",
        "原料",
        "原材料",
        "产品",
        "颗粒",
        "粒子",
        "粉末",
        "器件",
        "元件",
        "元器件",
        "部件",
        "零件",
        "配件",
        "组件",
        "制品",
        "型材",
        "材",
        "料",
        "件",
        "类",
        "系列",
        "产品线",
        "耗材",
        "辅料",
        "专用料",
    ]
)
# Mentions that name no product of their own (graph nodes mined from text).
_GENERIC = frozenset(
    [
        "设备",
        "系统",
        "产品",
        "材料",
        "原料",
        "原材料",
        "服务",
        "技术",
        "控制",
        "信息",
        "工程",
        "部件",
        "零件",
        "配件",
        "生产",
        "加工",
        "制造",
        "供应",
        "需求",
        "进口",
        "国产",
        "国内",
        "替代",
        "价格",
        "质量",
        "方案",
        "装置",
        "工具",
        "器材",
        "用品",
        "制品",
        "项目",
        "业务",
        "行业",
        "领域",
        "工业",
        "能源",
        "电子",
        "化工",
        "机械",
        "仪器",
        "仪表",
        "元件",
        "器件",
        "组件",
        "模块",
        "整机",
        "成品",
        "原件",
        "配套",
        "外协",
        "资源",
        "性能",
        "测试",
        "来源",
        "渠道",
        "品牌",
        "厂家",
        "企业",
        "公司",
        "供应商",
        "厂商",
        "生产企业",
        "规格",
        "型号",
        "批量",
        "项目",
        "外协加工",
        "基地",
        "工厂",
        "合作",
        "原料基地",
        "风险",
        "风险点",
        "问题",
        "需求",
        "要求",
        "运输",
        "印制",
        "试验",
        "收购",
        "检测",
        "维修",
        "安装",
        "装配",
        "储运",
        "仓储",
        "采购",
        "销售",
        "贸易",
        "物流",
        "研发",
        "开发",
        "设计",
        "集成",
        *[
            "利用",
            "外购",
            "供货",
            "认证",
            "副产",
            "矿山",
            "矿区",
            "产区",
            "市场",
            "园区",
            "厂区",
            "焦化厂",
            "冶炼厂",
            "电厂",
            "工厂",
            "小厂",
            "大厂",
        ],
    ]
)
# Places name where, not what (棉籽全部来自新疆): never a product mention
_PLACE_RE = re.compile(
    "(?:北京|天津|河北|山西|内蒙古|辽宁|吉林|黑龙江|上海|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|广西|"
    "海南|重庆|四川|贵州|云南|西藏|陕西|甘肃|青海|宁夏|新疆|香港|澳门|台湾|东北|华北|华东|华南|华中|西南|西北|"
    "外省|本省|省内|省外|本地|外地|周边|国外|海外|境外|国内)(?:省|市|自治区|地区|地方)?"
)
_QUAL_SPLIT_RE = re.compile(r"[^级型式]*[级型式]|.+")
# A mention never starts with a function word (用大米, 的硫酸: fragments mined from text).
_FUNCTION_CHARS = frozenset("用的所需及和与或等对为将把被从在之其")
# Grade / quality prefixes: 优质煤, 高纯度丙烷, 智能控制器 name the product 煤, 丙烷, 控制器 with a
# qualifier, even where the registry happens to list the longer name too.
_QUALIFIER_PREFIX_RE = re.compile(
    r"^(?:[\w]{1,4}级|优质|优级|优等|高纯度?|超纯|超高纯|纯度|高精度?|超高|超|高性能|高效率?|高端|高品质|高可靠性?|"
    r"高强度?|高温|低温|耐高温|耐腐蚀|耐磨|精密|智能|特种|专用|新型|环保|节能|绿色|进口|国产|非转基因|有机|"
    r"食品级|医用|医药级|药用|工业|民用|军用|车载|车用|家用|浓|稀|"
    r"低噪声?|低功耗|低硫|高硫|无铅|无卤|定制|标准|通用)+"
)


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    key: str
    weight: int  # Vocabulary.product_weight; 0 for an alias-only mention
    aliases: tuple[str, ...]  # canonical product names when the mention is an alias

    @property
    def is_alias(self) -> bool:
        return self.weight == 0


class QueryParser:
    """See the module docstring. ``vocabulary`` and ``aliases`` are read live: products and
    aliases added to the engine are understood at once."""

    def __init__(self, vocabulary: Vocabulary, aliases: AliasTable) -> None:
        self.vocabulary = vocabulary
        self.aliases = aliases

    # ------------------------------------------------------------------ public
    def parse(self, text: str, description: str | None = None) -> Understanding:
        norm = normalize_text(text)
        if not norm:
            return Understanding(text="", product=None)
        whole = alias_key(norm)
        weight = self.vocabulary.product_weight(whole)
        if weight > 0 and whole not in _GENERIC:
            return Understanding(
                text=norm,
                product=self.vocabulary.display(whole),
                via=VIA_EXACT,
                confidence=1.0,
                synonyms=self._equivalents(whole),
                sourcing=_sourcing(normalize_text(description)) if description else Sourcing(),
            )
        canon = self._alias_products(norm)
        if canon:
            return Understanding(
                text=norm,
                product=canon[0],
                via=VIA_ALIAS,
                confidence=self._doubt_unlisted(0.95, canon),
                synonyms=tuple(canon[1:4]),
                sourcing=_sourcing(normalize_text(description)) if description else Sourcing(),
            )
        return self._parse_free(norm, normalize_text(description) if description else "")

    # ------------------------------------------------------------------ helpers
    def _alias_products(self, text: str) -> list[str]:
        """Canonical names of ``text`` as an alias, known products first."""
        names = self.aliases.canonicals(text)
        if not names:
            return []
        known = [n for n in names if self.vocabulary.product_weight(alias_key(n)) > 0]
        return known + [n for n in names if n not in known]

    def _equivalents(self, key: str) -> tuple[str, ...]:
        """Known products that are the same thing by another name (石灰岩 ≡ 石灰石: both glossed
        "limestone"), listed ones first."""
        names = self.aliases.synonyms(key)
        known = [
            n for n in names if alias_key(n) != key and self.vocabulary.product_weight(alias_key(n)) >= 2
        ]
        return tuple(dict.fromkeys(known))[:4]

    def mentions(self, text: str) -> list[Mention]:
        """Every known product or alias in ``text`` (positions in ``text``)."""
        low = text.lower() if len(text.lower()) == len(text) else text
        n = len(low)
        out: list[Mention] = []
        for i in range(n):
            c = low[i]
            if c.isspace() or not (c.isalnum()):
                continue
            if _is_latin(c) and i > 0 and _is_latin(low[i - 1]):
                continue  # a Latin mention starts on a word boundary
            for j in range(min(n, i + MAX_MENTION), i, -1):
                if _is_latin(low[j - 1]) and j < n and _is_latin(low[j]):
                    continue  # … and ends on one
                if low[j - 1].isspace():
                    continue
                key = alias_key(low[i:j])
                if not key or key.isdigit() or key[0] in _FUNCTION_CHARS or _PLACE_RE.fullmatch(key):
                    continue
                w = self.vocabulary.product_weight(key)
                if len(key) == 1 and w < 3:
                    continue  # one character counts only where firms list it (铜, 煤)
                canon: tuple[str, ...] = ()
                if w <= 0:
                    names = self._alias_products(key)
                    if not names:
                        continue
                    canon = tuple(names)
                    w = 0
                out.append(Mention(i, j, key, w, canon))
        return out

    def _parse_free(self, text: str, description: str) -> Understanding:
        sourcing = _sourcing(f"{text} {description}")
        money = _money(f"{text} {description}")
        specs: list[str] = []
        qualifiers: list[str] = []
        unparsed: list[str] = []
        # (clause, its mentions, bracketed) of the first clause naming a product and the
        # bracketed clauses right after it (X（Y）: Y is X by another name, or X's spec)
        chosen: list[tuple[str, list[Mention], bool]] = []
        for clause, bracketed in _clauses(text):
            ms = [m for m in self.mentions(clause) if m.key not in _GENERIC]
            if _ENGLISH_RE.fullmatch(clause) and not any(m.end - m.start == len(clause) for m in ms):
                english = self._english(clause)
                if english is not None:
                    ms = [english]
            names_product = ms and not (bracketed and _looks_like_spec(clause))
            if names_product and (not chosen or (bracketed and all(c[2] or c is chosen[0] for c in chosen))):
                chosen.append((clause, ms, bracketed))
                continue
            if chosen and not ms and _states_sourcing(clause):
                continue  # 进口占比约70% / 主要依赖日本进口 after the product: read into ``sourcing``
            if _looks_like_spec(clause):
                specs.append(clause)
            elif clause.endswith(("级", "型", "式")) and len(clause) <= 8:
                qualifiers.append(clause)
            else:
                unparsed.append(clause)
        if not chosen:
            head_src = next((c for c in unparsed if not _looks_like_spec(c)), "")
            head = _strip_lead(head_src)
            if head:
                unparsed.remove(head_src)
            return Understanding(
                text=text,
                product=head or None,
                via=VIA_HEAD if head else VIA_NONE,
                confidence=0.3 if head else 0.0,
                specs=tuple(specs),
                qualifiers=tuple(qualifiers),
                annual_demand_cny=money,
                sourcing=sourcing,
                unparsed=tuple(unparsed),
            )
        readings = [(self._resolve(_read_phrase(c, ms)), c) for c, ms, _ in chosen]
        best = max(range(len(readings)), key=lambda i: (readings[i][0].confidence, -i))
        reading, clause = readings[best]
        synonyms = [r.product for i, (r, _) in enumerate(readings) if i != best and r.product]
        unparsed = [
            c for i, (_, c) in enumerate(readings) if i != best and not readings[i][0].product
        ] + unparsed
        return Understanding(
            text=text,
            product=reading.product,
            via=reading.via,
            confidence=reading.confidence,
            alternatives=tuple(a for a in reading.alternatives if a not in synonyms),
            synonyms=tuple(dict.fromkeys(s for s in (*reading.synonyms, *synonyms) if s != reading.product)),
            qualifiers=tuple(qualifiers + reading.qualifiers),
            for_product=reading.for_product,
            specs=tuple(specs),
            annual_demand_cny=money,
            sourcing=sourcing,
            unparsed=tuple(unparsed + reading.rest),
        )

    def _doubt_unlisted(self, confidence: float, names: Sequence[str]) -> float:
        """A reading found inside a longer text that names something no firm lists (a graph node,
        an alias of one) is more likely a misreading than a real gap: below LOW_CONFIDENCE, so
        the user sees flagged candidates, not an empty list. (A text that *is* such a name keeps
        its certainty: there an empty list rightly says nobody makes it.)"""
        if any(self.vocabulary.product_weight(alias_key(n)) >= 2 for n in names):
            return confidence
        return min(confidence, UNLISTED_CONFIDENCE)

    def _english(self, clause: str) -> Mention | None:
        """An English name read word by word (metal powder → 金属粉末, aluminum sheet → 铝板):
        the longest run of final words whose translations join into a known product, the
        head word alone last."""
        words = [w for w in re.split(r"[\s\-]+", clause.strip().lower()) if w]
        if not 1 < len(words) <= 5:
            return None
        options = [self.aliases.translations(w) or [] for w in words]
        best: tuple[int, int, str] | None = None
        for start in range(len(words)):
            tail = options[start:]
            if not all(tail) or len(tail) > 4:
                continue
            for combo in itertools.islice(itertools.product(*tail), 256):
                key = alias_key("".join(combo))
                w = self.vocabulary.product_weight(key)
                if w >= 2 or (w == 1 and len(tail) > 1):
                    rank = (len(tail), w, key)
                    if best is None or rank[:2] > best[:2]:
                        best = rank
            if best is not None:
                break
        if best is None:
            return None
        return Mention(0, len(clause), best[2], best[1], ())

    def _resolve(self, phrase: _Phrase) -> _Reading:
        head = phrase.head
        if head is None:
            return _Reading(None, VIA_NONE, 0.0)
        qualifiers = list(phrase.qualifiers)
        synonyms: list[str] = []
        # 优质煤 / 智能控制器: the grade prefix is a qualifier; search the product it qualifies
        if head.weight:
            m = _QUALIFIER_PREFIX_RE.match(head.key)
            if m and m.end() < len(head.key):
                base = head.key[m.end() :]
                if (len(base) >= 2 or self.vocabulary.product_weight(base) >= 3) and (
                    self.vocabulary.product_weight(base) >= 2
                ):
                    synonyms.append(self.vocabulary.display(head.key))
                    qualifiers.append(head.key[: m.end()])
                    head = Mention(
                        head.start + m.end(), head.end, base, self.vocabulary.product_weight(base), ()
                    )
        others = [
            m
            for m in phrase.candidates
            if m.key != head.key and not (head.start <= m.start and m.end <= head.end)
        ]
        rivals = [m for m in others if m.weight >= 2 and len(m.key) >= len(head.key)]
        conf = 0.9 if not rivals else 0.7
        if len(head.key) == 1 and not _is_latin(head.key):
            conf -= 0.15  # one character (铜, 煤) is often right but easily a fragment
        alts = [self.vocabulary.display(m.key) if m.weight else m.aliases[0] for m in rivals]
        if head.is_alias:
            return _Reading(
                head.aliases[0],
                VIA_ALIAS,
                self._doubt_unlisted(min(conf, 0.85), head.aliases),
                alternatives=tuple(dict.fromkeys(alts))[:4],
                synonyms=tuple(head.aliases[1:4]),
                qualifiers=qualifiers,
                for_product=phrase.for_product,
                rest=phrase.rest,
            )
        product = self.vocabulary.display(head.key)
        synonyms += self._equivalents(head.key)
        return _Reading(
            product,
            VIA_MENTION,
            self._doubt_unlisted(conf, [product, *synonyms]),
            alternatives=tuple(dict.fromkeys(a for a in alts if a != product))[:4],
            synonyms=tuple(dict.fromkeys(synonyms)),
            qualifiers=qualifiers,
            for_product=phrase.for_product,
            rest=phrase.rest,
        )


@dataclass
class _Reading:
    product: str | None
    via: str
    confidence: float
    alternatives: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    qualifiers: list[str] = field(default_factory=list)
    for_product: str | None = None
    rest: list[str] = field(default_factory=list)


@dataclass
class _Phrase:
    head: Mention | None
    candidates: list[Mention]
    qualifiers: list[str]
    for_product: str | None
    rest: list[str]


def _read_phrase(clause: str, ms: list[Mention]) -> _Phrase:
    """Head, qualifiers and end use of the noun phrase at the start of ``clause``."""
    first_end = min(m.end for m in ms)
    cut = len(clause)
    # a short clause that ends in a product is one noun phrase (耐腐蚀高品质不锈钢): there 品质 /
    # 质量 / 等 qualify the product; the verbs of a sentence (依赖, 需 …) still end the phrase
    noun_phrase = len(clause) <= _NP_MAX + 4 and any(m.end == len(clause) and m.weight != 1 for m in ms)
    purposes = [(p.start(), p.end()) for p in _PURPOSE_RE.finditer(clause) if len(p.group(0)) > 1]
    for p in _PREDICATE_RE.finditer(clause, first_end):
        a, b = p.span()
        if any(m.start <= a and b <= m.end and m.end - m.start > b - a and m.weight != 1 for m in ms):
            continue  # inside a longer listed product name or alias (进口 in 进口光刻胶)
        if any(s <= a and b <= e for s, e in purposes):
            continue  # 需 of 所需, 用 of 用于
        if noun_phrase and p.group(0) in _WEAK_PREDICATES:
            continue
        cut = a
        break
    rest = [clause[cut:].strip()] if clause[cut:].strip() else []
    inside = [m for m in ms if m.end <= cut] or ms
    # one character names a product (用煤, 配料用铁) only where nothing joins it to the word
    # before it (货 of 订货, 面 of 表面, 铜 of 无氧铜 are fragments)
    inside = [
        m
        for m in inside
        if len(m.key) > 1
        or m.start == 0
        or not _is_cjk(clause[m.start - 1])
        or clause[m.start - 1] in "用的需"
    ] or inside
    if any(m.weight != 1 for m in inside):
        # graph nodes nobody lists are often text fragments (订货周期, 长达): a listed product
        # or an alias in the phrase is the better reading
        inside = [m for m in inside if m.weight != 1]
    # the last end-use marker outside every mention and before the last mention's start
    last_start = max(m.start for m in inside)
    split, for_product = 0, None
    for p in _PURPOSE_RE.finditer(clause, 0, last_start):
        # the marker's own characters (用于 … 的: not what stands between them) outside mentions
        spans = [(p.start(), p.start() + 2), (p.end() - 1, p.end())] if p.group("fp") else [p.span()]
        if any(m.start < b and a < m.end for m in inside for a, b in spans):
            continue
        split = p.end()
        fp = p.group("fp") if p.group("fp") else clause[: p.start()]
        explicit = p.group(0) not in ("的", "中的", "里的")
        fp = _FOR_TRIM_RE.sub("", _strip_lead(fp)).strip()
        known_fp = any(m.end <= p.start() and m.start >= (p.start() - len(fp) - 4) for m in inside)
        for_product = fp if fp and (explicit or known_fp) else None
    phrase = [m for m in inside if m.start >= split] or inside
    if cut - split > _NP_MAX:
        # Too long for one noun phrase (天然气冬季限供期间乙烯冷箱试验…): a sentence whose subject
        # is the product. Keep the first run of adjacent mentions, preferring listed ones.
        phrase = _first_run(phrase)
    end = max(m.end for m in phrase)
    tail = [m for m in phrase if m.end == end]
    head = max(tail, key=lambda m: (m.end - m.start, m.weight))
    # a class word right after another mention yields to it (PP树脂 → PP, 碳纤维材料 → 碳纤维)
    if head.key in _CLASS_WORDS or (head.key.endswith(tuple(_CLASS_WORDS)) and head.weight < 2):
        before = [m for m in phrase if m.end == head.start and m.key not in _CLASS_WORDS]
        if before:
            head = max(before, key=lambda m: (m.end - m.start, m.weight))
    qual_text = _strip_lead(clause[split : head.start]).strip()
    if for_product is None and qual_text and split == 0:
        qual_text = _strip_lead(qual_text)
    qualifiers = [q for q in (s.strip() for s in _QUAL_SPLIT_RE.findall(qual_text)) if q]
    after = clause[head.end : cut].strip()
    if after:
        rest.insert(0, after)
    return _Phrase(head, phrase, qualifiers, for_product or None, rest)


# ----------------------------------------------------------------------------------- utilities
_NP_MAX = 12  # characters: a longer stretch before the predicate is a sentence, not a phrase


def _first_run(ms: list[Mention]) -> list[Mention]:
    """The first run of adjacent (touching or overlapping) mentions, listed or alias ones first."""
    ordered = sorted(ms, key=lambda m: (m.start, -m.end))
    runs: list[list[Mention]] = []
    for m in ordered:
        if runs and m.start <= max(x.end for x in runs[-1]):
            runs[-1].append(m)
        else:
            runs.append([m])
    return next((r for r in runs if any(m.weight != 1 for m in r)), runs[0])


def _is_cjk(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff"


def _is_latin(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _strip_lead(text: str) -> str:
    return _LEAD_TRIM_RE.sub("", text.strip()).strip()


def _clauses(text: str) -> list[tuple[str, bool]]:
    """Clauses in reading order, each with whether it stood in brackets."""
    out: list[tuple[str, bool]] = []
    pos = 0
    pieces: list[tuple[str, bool]] = []
    for m in _BRACKET_RE.finditer(text):
        pieces.append((text[pos : m.start()], False))
        pieces.append((m.group(1), True))
        pos = m.end()
    pieces.append((text[pos:], False))
    for piece, bracketed in pieces:
        for part in _CLAUSE_SPLIT_RE.split(piece):
            for sub in _CJK_SPACE_RE.split(part):
                sub = sub.strip(" -—:：·")
                if sub:
                    out.append((sub, bracketed))
    return out


def _states_sourcing(clause: str) -> bool:
    """A clause that only states where the product comes from (read into Sourcing)."""
    return bool(
        _IMPORT_RE.search(clause)
        or _SINGLE_RE.search(clause)
        or _COUNTRY_RE.search(clause)
        or any(rx.search(clause) for rx in _IMPORT_SHARE_RES)
    )


def _looks_like_spec(clause: str) -> bool:
    return bool(_DIGIT_RE.search(clause) and _SPEC_HINT_RE.search(clause))


@lru_cache(maxsize=4096)
def _sourcing(text: str) -> Sourcing:
    if not text:
        return Sourcing()
    share = None
    for rx in _IMPORT_SHARE_RES:
        m = rx.search(text)
        if m:
            value = float(m.group(1))
            if 0 <= value <= 100:
                share = round(value / 100.0, 4)
                break
    countries = tuple(dict.fromkeys(_COUNTRIES[m.group(0)] for m in _COUNTRY_RE.finditer(text)))
    return Sourcing(
        import_dependent=bool(_IMPORT_RE.search(text))
        or bool(countries)
        or (share is not None and share > 0),
        countries=countries,
        single_supplier=bool(_SINGLE_RE.search(text)),
        import_share=share,
    )


def _money(text: str) -> float | None:
    m = _MONEY_RE.search(text)
    if not m:
        return None
    return float(m.group(1)) * _MONEY_UNIT.get(m.group(2), 1.0)


class DictVocabulary:
    """A :class:`Vocabulary` over plain callables (the engine passes its live indexes)."""

    def __init__(self, weight: Callable[[str], int], display: Callable[[str], str]) -> None:
        self._weight = weight
        self._display = display

    def product_weight(self, key: str) -> int:
        return self._weight(key)

    def display(self, key: str) -> str:
        return self._display(key)


__all__ = ["DictVocabulary", "Mention", "QueryParser", "Vocabulary"]
