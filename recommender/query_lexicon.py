"""The word lists and patterns query understanding reads a weak-link text with (sourcing facts,
money, clauses, end-use markers, predicates, class words, qualifiers), and the text-only readings
made with them (:mod:`recommender.query` reads the product)."""

from __future__ import annotations

import re
from functools import lru_cache

from .understanding import Sourcing

# Confidence of a reading that names nothing any firm lists (see QueryParser._doubt_unlisted)
UNLISTED_CONFIDENCE = 0.45
MAX_MENTION = 40  # characters; English names run long ("insulated gate bipolar transistor")

# ----------------------------------------------------------------------------------- sourcing
IMPORT_RE = re.compile(
    r"依赖进口|依靠进口|进口依赖|全部进口|全靠进口|主要进口|基本进口|完全进口|采购进口|进口品牌|进口为主|"
    r"国外进口|海外进口|从国外|从海外|海外供应|国外供应|国外垄断|海外垄断|国外厂商|海外厂商|外资品牌|"
    r"国外品牌|卡脖子|国产化率低|国产替代|国内替代|进口替代|尚未国产化|无国产|依赖国外|依赖海外|"
    r"进口占比|进口比例|外购进口|需进口|靠进口"
)
COUNTRIES = {
    "日本": "日本", "美国": "美国", "德国": "德国", "韩国": "韩国", "荷兰": "荷兰", "瑞士": "瑞士",
    "英国": "英国", "法国": "法国", "意大利": "意大利", "以色列": "以色列", "瑞典": "瑞典", "芬兰": "芬兰",
    "比利时": "比利时", "奥地利": "奥地利", "丹麦": "丹麦", "挪威": "挪威", "加拿大": "加拿大",
    "澳大利亚": "澳大利亚", "新加坡": "新加坡", "俄罗斯": "俄罗斯", "印度": "印度", "西班牙": "西班牙",
    "爱尔兰": "爱尔兰", "马来西亚": "马来西亚", "泰国": "泰国", "越南": "越南", "巴西": "巴西",
    "智利": "智利", "南非": "南非", "沙特": "沙特阿拉伯", "台湾": "中国台湾", "日韩": "日本", "美日": "美国",
}  # fmt: skip
IMPORT_SHARE_RES = (
    re.compile(
        r"进口(?:占比|比例|比重|依存度|依赖度|份额|率)?(?:约|达|超过|高达|为|在|近|超)?\s*(\d+(?:\.\d+)?)\s*%"
    ),
    # 70%依赖进口, 100%依赖日本进口: a share, a verb, a source named, then 进口
    re.compile(
        r"(\d+(?:\.\d+)?)\s*%\s*(?:以上|左右)?(?:的)?(?:需|依赖|来自|靠|为|从)?"
        r"(?:国外|海外|(?:" + "|".join(COUNTRIES) + r")+)?进口"
    ),
)
SINGLE_RE = re.compile(
    r"单一供应商|单一来源|单一渠道|单一供货|独家供应|独家供货|唯一供应商|唯一来源|仅(?:靠|有|依赖|从|由)?[一1]家|"
    r"只有[一1]家|只靠[一1]家|只从[一1]家|仅此一家|来源单一|渠道单一|气源单一|供应商单一|货源单一|单源供应|独家"
)
COUNTRY_RE = re.compile("|".join(sorted(map(re.escape, COUNTRIES), key=len, reverse=True)))
MONEY_RE = re.compile(
    r"(?:年|每年)(?:需求|采购|用量|采购额|需求额|采购金额|需求金额|市场)?(?:额|金额|规模)?"
    r"(?:约|达|超过|为|近|在|大约)?\s*(\d+(?:\.\d+)?)\s*(亿|千万|百万|万)?\s*元"
)
MONEY_UNIT = {None: 1.0, "": 1.0, "万": 1e4, "百万": 1e6, "千万": 1e7, "亿": 1e8}

# ----------------------------------------------------------------------------------- clauses
CLAUSE_SPLIT_RE = re.compile(r"[，,；;。！!？?\n、：:]+")
BRACKET_RE = re.compile(r"[(（\[【]([^()（）\[\]【】]*)[)）\]】]")
CJK = r"\u3400-\u9fff"
CJK_SPACE_RE = re.compile(rf"(?<=[{CJK}])\s+|\s+(?=[{CJK}])")
DIGIT_RE = re.compile(r"\d")
ENGLISH_RE = re.compile(r"[A-Za-z][A-Za-z\s\-]*[A-Za-z]")
SPEC_HINT_RE = re.compile(
    r"[≥≤<>±~～%‰×]|\d\s*(?:[a-zA-Zμµ°Ω℃/²³]|万|吨|千克|公斤|克|升|立方|平方|米|伏|安|瓦|赫兹|度|目|寸|台|套|件|只|片|颗|个|根|卷|张|块|支|号|级|层|芯|位|通道|路|元|天|周|月|年|小时|分钟|秒|次)"
    r"|需求|用量|纯度|含量|精度|分辨率|厚度|直径|粒径|尺寸|功率|电压|电流|频率|压力|抽速|转速|流量|排量|温度|浓度|规格|型号|容量|面积|重量|寿命|波长|像素|帧率|真空度|标准|国[ⅤⅥVI]+"
)

# ----------------------------------------------------------------------------------- the phrase
# Words after which the noun phrase is over (the predicate or the supplier of the product). Only
# looked for after the first mention, and never inside a mention.
PREDICATE_RE = re.compile(
    r"目前|当前|现阶段|主要|长期|一直|均|都|全部|基本|完全|严重|高度|依赖|依靠|仅|只|唯一|单一|存在|面临|受|被|"
    r"无法|不能|难以|尚未|未能|交期|交货|价格|成本|报价|供应|供货|来源|货源|气源|渠道|用量|需求|需要|需|急需|亟需|"
    r"国产化|质量|品质|性能|稳定|不稳|波动|短缺|紧张|不足|偏|较|很|非常|是|由|从|等|厂家|厂商|品牌|来自|问题|"
    r"风险|采购|进口|外购|年产|月产|产能|库存|周期|要求|缺货|断货|紧缺|告急|频发|涨价|断供|停产|减供|季节性|为|对|"
    r"合格|资质|认证|厂家|基地|供方|配套商|合作|部分|牌号|多|批量|水源|本地|当地|外省|订货|"
    r"生产企业|生产厂|加工厂|制造商|生产商|供应商|服务商|经销商|代理商"
)
WEAK_PREDICATES = frozenset(
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
PURPOSE_RE = re.compile(
    r"用于(?P<fp>.+?)(?:的|之)|(?:关键|主要|核心)?原(?:材)?料|所需的|所需|所用的|所用|需要的|专用的|专用|配套用的|配套用|配套的|配套|使用的|用的|用|中的|里的|的"
)
# Marker words kept out of for_product ("ACS树脂合成工序用" → ACS树脂).
FOR_TRIM_RE = re.compile(
    r"(?:生产线|生产|制造|加工|合成|工序|制作|制备|使用|装配|组装|领域|行业|工艺|环节|产线|项目|过程|设备上|上|中|等|原料|原材料|随行|配料|调配|挤出|保障|配套)+$"
)
LEAD_TRIM_RE = re.compile(
    r"^(?:我司|我公司|本公司|我厂|本厂|我们|公司|企业|目前|当前|现阶段|现有|急需|亟需|需要|需|寻找|寻求|采购|引进|"
    r"新增|拓展|国内|国产|可替代|替代|用于|供|给|为|对|关于|针对)+"
)
# Generic class words: a head that yields to the mention right before it (PP树脂 → PP).
CLASS_WORDS = frozenset(
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
GENERIC = frozenset(
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
PLACE_RE = re.compile(
    "(?:北京|天津|河北|山西|内蒙古|辽宁|吉林|黑龙江|上海|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|广西|"
    "海南|重庆|四川|贵州|云南|西藏|陕西|甘肃|青海|宁夏|新疆|香港|澳门|台湾|东北|华北|华东|华南|华中|西南|西北|"
    "外省|本省|省内|省外|本地|外地|周边|国外|海外|境外|国内)(?:省|市|自治区|地区|地方)?"
)
QUAL_SPLIT_RE = re.compile(r"[^级型式]*[级型式]|.+")
# A mention never starts with a function word (用大米, 的硫酸: fragments mined from text).
FUNCTION_CHARS = frozenset("用的所需及和与或等对为将把被从在之其")
# Grade / quality prefixes: 优质煤, 高纯度丙烷, 智能控制器 name the product 煤, 丙烷, 控制器 with a
# qualifier, even where the registry happens to list the longer name too.
QUALIFIER_PREFIX_RE = re.compile(
    r"^(?:[\w]{1,4}级|优质|优级|优等|高纯度?|超纯|超高纯|纯度|高精度?|超高|超|高性能|高效率?|高端|高品质|高可靠性?|"
    r"高强度?|高温|低温|耐高温|耐腐蚀|耐磨|精密|智能|特种|专用|新型|环保|节能|绿色|进口|国产|非转基因|有机|"
    r"食品级|医用|医药级|药用|工业|民用|军用|车载|车用|家用|浓|稀|"
    r"低噪声?|低功耗|低硫|高硫|无铅|无卤|定制|标准|通用)+"
)


def is_cjk(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff"


def is_latin(c: str) -> bool:
    return c.isascii() and c.isalnum()


def strip_lead(text: str) -> str:
    return LEAD_TRIM_RE.sub("", text.strip()).strip()


def split_clauses(text: str) -> list[tuple[str, bool]]:
    """Clauses in reading order, each with whether it stood in brackets."""
    out: list[tuple[str, bool]] = []
    pos = 0
    pieces: list[tuple[str, bool]] = []
    for m in BRACKET_RE.finditer(text):
        pieces.append((text[pos : m.start()], False))
        pieces.append((m.group(1), True))
        pos = m.end()
    pieces.append((text[pos:], False))
    for piece, bracketed in pieces:
        for part in CLAUSE_SPLIT_RE.split(piece):
            for sub in CJK_SPACE_RE.split(part):
                sub = sub.strip(" -—:：·")
                if sub:
                    out.append((sub, bracketed))
    return out


def states_sourcing(clause: str) -> bool:
    """A clause that only states where the product comes from (read into Sourcing)."""
    return bool(
        IMPORT_RE.search(clause)
        or SINGLE_RE.search(clause)
        or COUNTRY_RE.search(clause)
        or any(rx.search(clause) for rx in IMPORT_SHARE_RES)
    )


def looks_like_spec(clause: str) -> bool:
    return bool(DIGIT_RE.search(clause) and SPEC_HINT_RE.search(clause))


@lru_cache(maxsize=4096)
def read_sourcing(text: str) -> Sourcing:
    if not text:
        return Sourcing()
    share = None
    for rx in IMPORT_SHARE_RES:
        m = rx.search(text)
        if m:
            value = float(m.group(1))
            if 0 <= value <= 100:
                share = round(value / 100.0, 4)
                break
    countries = tuple(dict.fromkeys(COUNTRIES[m.group(0)] for m in COUNTRY_RE.finditer(text)))
    return Sourcing(
        import_dependent=bool(IMPORT_RE.search(text)) or bool(countries) or (share is not None and share > 0),
        countries=countries,
        single_supplier=bool(SINGLE_RE.search(text)),
        import_share=share,
    )


def read_money(text: str) -> float | None:
    m = MONEY_RE.search(text)
    if not m:
        return None
    return float(m.group(1)) * MONEY_UNIT.get(m.group(2), 1.0)
