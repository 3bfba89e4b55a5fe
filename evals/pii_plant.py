"""PII planting: real SMILECHAT turns and CPED utterances with synthetic PII of every type, and the truth.

Each planted text is one real host text (a SMILECHAT client or counselor turn, or a CPED utterance, read in
place from ``../shared/data`` and normalised the way curate normalises it) with one clause inserted at a
sentence boundary, as a person types it in a chat: ``我电话是139 1234 5678``, ``加我微信abc_123``,
``身份证号3201…``. The truth is the value's character span in the planted text.

Every value is synthetic and generated here: phone numbers with real mobile prefixes and random digits, ID
numbers with a real province code, a random birth date and a correct ISO 7064 MOD 11-2 check character
(15-digit ones too), bank card numbers with a real issuer prefix and a correct Luhn digit, names from the
surname list (``rules/pii/pii.yaml``; common surnames weighted as in the population, with rare and compound
ones) and common given-name characters, addresses from real place names and made-up roads and compounds.

Hosts come from one split: ``dev`` (SMILECHAT dialogues whose id hashes even, CPED ``train.csv``) or ``test``
(the other SMILECHAT half, CPED ``valid.csv``, unseen shows). The detectors' word lists were tuned on
``dev``; report ``test``. Untouched hosts for the false-positive table (``evals/pii.py``) are drawn from the
same split, disjoint from the planted ones.

Usage::

    python evals/pii_plant.py --split test --per-type 300 --out out/pii/planted-test.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl
import xxhash

from curate.job import NormalizeSpec
from curate.pii.config import load_pii_rules, pii_types
from curate.pii.validators import ID_PROVINCES, id_check_char, luhn_check_digit
from curate.stages.normalize import normalize_texts

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# ------------------------------------------------------------------------------------------------ hosts


@dataclass(frozen=True)
class Host:
    """One real text: a SMILECHAT turn or a CPED utterance, normalised."""

    source: str  # smilechat or cped
    id: str  # dialogue id and turn index
    role: str  # client / counselor, or the CPED speaker's role `other`
    text: str


def _smilechat(data: Path, split: str) -> Iterator[tuple[str, str, str]]:
    with (data / "smilechat" / "dialogues.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if (xxhash.xxh3_64_intdigest(d["id"].encode()) % 2 == 0) != (split == "dev"):
                continue
            for i, t in enumerate(d["turns"]):
                yield f"{d['id']}#{i}", t.get("role") or "", t.get("content") or ""


def _cped(data: Path, split: str) -> Iterator[tuple[str, str, str]]:
    name = "train.csv" if split == "dev" else "valid.csv"
    with (data / "cped" / name).open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row["Utterance_ID"], "other", row["Utterance"] or ""


def load_hosts(split: str, data: Path = DATA, min_chars: int = 4) -> list[Host]:
    """Every host text of a split, normalised (NFKC, whitespace) as curate's first stage does."""
    if split not in ("dev", "test"):
        raise ValueError(f"split: {split!r} is not dev or test")
    rows = [("smilechat", *r) for r in _smilechat(data, split)] + [("cped", *r) for r in _cped(data, split)]
    texts, _ = normalize_texts(pl.Series([r[3] for r in rows], dtype=pl.String), NormalizeSpec())
    return [Host(src, id_, role, t) for (src, id_, role, _), t in zip(rows, texts.to_list(), strict=True)
            if len(t) >= min_chars]


# ------------------------------------------------------------------------------------------ synthetic values

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "147", "150", "151", "152",
                   "153", "155", "156", "157", "158", "159", "166", "170", "171", "173", "175", "176", "177",
                   "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199"]
AREA_CODES = ["010", "020", "021", "022", "023", "024", "025", "027", "028", "029", "0311", "0351", "0371",
              "0431", "0451", "0471", "0512", "0531", "0551", "0571", "0574", "0591", "0731", "0755", "0757",
              "0769", "0771", "0791", "0851", "0871", "0898", "0931", "0991"]
CARD_PREFIXES = ["622202", "622848", "621700", "622588", "621226", "622700", "620200", "456351", "436742",
                 "524047", "518710", "625911", "621483"]
EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com", "foxmail.com",
                 "hotmail.com", "yeah.net", "sohu.com"]
GIVEN_CHARS = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲鹏飞斌宇浩凯健俊帆帅旭宁龙林欣佳雪梅琳晨辉婷"
               "倩颖露瑶怡欢丹蕾薇雯璐晓思梦嘉子雨文博睿轩然泽涵一诗悦彤琪鑫阳昊天宏志国建春海峰波亮莉燕兰凤洁"
               "琴云慧巧美娇秋珊莎黛青倩婉嫣锦程")
PROVINCES = ["北京市", "上海市", "天津市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
             "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
             "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "广西壮族自治区", "内蒙古自治区"]
CITIES = ["南京市", "苏州市", "杭州市", "宁波市", "广州市", "深圳市", "成都市", "武汉市", "长沙市", "郑州市", "西安市",
          "济南市", "青岛市", "合肥市", "福州市", "厦门市", "南昌市", "昆明市", "贵阳市", "南宁市", "石家庄市",
          "太原市", "沈阳市", "大连市", "长春市", "哈尔滨市", "兰州市", "无锡市", "佛山市", "东莞市"]
DISTRICTS = ["鼓楼区", "玄武区", "西湖区", "拱墅区", "天河区", "越秀区", "南山区", "福田区", "武侯区", "锦江区",
             "洪山区", "江汉区", "岳麓区", "雁塔区", "历下区", "市南区", "朝阳区", "海淀区", "浦东新区", "徐汇区",
             "和平区", "高新区", "昌平区", "余杭区", "江宁区", "龙华区", "金水区", "长安区", "新城区", "城关区"]
ROADS = ["中山路", "人民路", "解放路", "建设路", "和平路", "幸福路", "长江路", "黄河路", "延安路", "南京路",
         "北京东路", "中山北路", "人民大道", "滨江大道", "文化路", "学府路", "科技路", "青年路", "新华街", "东风街",
         "花园街", "光明巷", "桃源路", "迎宾大道", "望江路", "梧桐巷", "丽泽路", "春华路", "秋实街", "银杏大道"]
COMPOUNDS = ["阳光花园", "幸福小区", "金色家园", "绿城花园", "碧水苑", "翠苑小区", "锦绣家园", "世纪新村", "华府公寓",
             "滨江花园", "和谐家园", "东方名苑", "御景花园", "紫荆小区", "枫林苑", "香樟园小区", "银河小区", "新华小区"]
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PROFILE_URLS = ["https://weibo.com/u/{d10}", "weibo.com/{d10}", "https://space.bilibili.com/{d9}",
                "space.bilibili.com/{d9}", "https://www.douban.com/people/{w}/", "https://www.zhihu.com/people/{w}",
                "https://github.com/{w}", "https://www.xiaohongshu.com/user/profile/{h24}",
                "https://www.douyin.com/user/{w}", "https://blog.csdn.net/{w}"]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _word(rng: random.Random, lo: int = 5, hi: int = 12, first_letter: bool = True) -> str:
    chars = string.ascii_lowercase + string.digits + "_"
    n = rng.randint(lo, hi)
    head = rng.choice(string.ascii_lowercase) if first_letter else rng.choice(chars)
    return head + "".join(rng.choice(chars) for _ in range(n - 1))


class Values:
    """Synthetic values in the surface forms people type."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        rules = load_pii_rules()
        common = list(rules.nickname_surnames)  # the most common surnames, in frequency order
        others = [s for s in rules.surnames if len(s) == 1 and s not in common]
        compounds = [s for s in rules.surnames if len(s) == 2]
        # ~85 % of people carry one of the 100 commonest surnames; weight them by rank (Zipf-like)
        self._surnames = [(common, [1 / (i + 10) for i in range(len(common))], 0.85), (others, None, 0.12),
                          (compounds, None, 0.03)]

    def surname(self) -> str:
        r, acc = self.rng.random(), 0.0
        for pool, weights, share in self._surnames:
            acc += share
            if r < acc:
                return self.rng.choices(pool, weights)[0] if weights else self.rng.choice(pool)
        return self.rng.choice(self._surnames[0][0])

    def name(self) -> str:
        return self.surname() + "".join(self.rng.choice(GIVEN_CHARS) for _ in range(self.rng.choice((1, 2, 2))))

    def phone(self) -> str:
        rng = self.rng
        d = rng.choice(MOBILE_PREFIXES) + _digits(rng, 8)
        form = rng.choice(["plain", "plain", "space", "dash", "plus86", "plus86space", "full", "fullspace"])
        return {
            "plain": d, "space": f"{d[:3]} {d[3:7]} {d[7:]}", "dash": f"{d[:3]}-{d[3:7]}-{d[7:]}",
            "plus86": f"+86{d}", "plus86space": f"+86 {d[:3]} {d[3:7]} {d[7:]}",
            "full": d.translate(FULL_WIDTH), "fullspace": f"{d[:3]} {d[3:7]} {d[7:]}".translate(FULL_WIDTH),
        }[form]

    def landline(self) -> str:
        rng = self.rng
        area = rng.choice(AREA_CODES)
        local = str(rng.randint(2, 8)) + _digits(rng, 7 if len(area) == 3 else rng.choice((6, 7)))
        form = rng.choice(["dash", "dash", "paren", "space", "plain", "full"])
        return {"dash": f"{area}-{local}", "paren": f"({area}){local}", "space": f"{area} {local}",
                "plain": area + local, "full": f"{area}-{local}".translate(FULL_WIDTH)}[form]

    def id_card(self) -> str:
        rng = self.rng
        region = rng.choice(sorted(ID_PROVINCES - {"71", "81", "82"})) + f"{rng.randint(1, 20):02d}{rng.randint(1, 30):02d}"
        year, month, day = rng.randint(1950, 2008), rng.randint(1, 12), rng.randint(1, 28)
        if rng.random() < 0.1:  # first-generation 15-digit numbers are still typed
            return f"{region}{year % 100:02d}{month:02d}{day:02d}{_digits(rng, 3)}"
        first17 = f"{region}{year}{month:02d}{day:02d}{_digits(rng, 3)}"
        n = first17 + id_check_char(first17)
        form = rng.choice(["plain", "plain", "plain", "space", "lowerx"])
        if form == "space":
            return f"{n[:6]} {n[6:14]} {n[14:]}"
        return n.lower() if form == "lowerx" else n

    def bank_card(self) -> str:
        rng = self.rng
        prefix = rng.choice(CARD_PREFIXES)
        length = rng.choice((16, 19, 19))
        partial = prefix + _digits(rng, length - len(prefix) - 1)
        n = partial + luhn_check_digit(partial)
        if rng.random() < 0.5:
            return " ".join(n[i:i + 4] for i in range(0, len(n), 4))
        return n

    def email(self) -> str:
        rng = self.rng
        local = rng.choice([_word(rng, 5, 12), _digits(rng, rng.randint(6, 10)), _word(rng, 3, 6) + "." + _word(rng, 3, 6)])
        return f"{local}@{rng.choice(EMAIL_DOMAINS)}"

    def url(self) -> str:
        rng = self.rng
        return rng.choice(PROFILE_URLS).format(d10=rng.choice("123456789") + _digits(rng, 9),
                                               d9=rng.choice("123456789") + _digits(rng, 8), w=_word(rng, 5, 12),
                                               h24="".join(rng.choice("0123456789abcdef") for _ in range(24)))

    def ip(self) -> str:
        rng = self.rng
        if rng.random() < 0.75:
            return ".".join(str(rng.randint(1, 254)) for _ in range(4))
        groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
        if rng.random() < 0.5:
            return ":".join(groups)
        return ":".join(groups[:3]) + "::" + ":".join(groups[5:])

    def qq(self) -> str:
        return self.rng.choice("123456789") + _digits(self.rng, self.rng.randint(4, 10))

    def wechat(self) -> str:
        rng = self.rng
        return rng.choice([_word(rng, 6, 14), "wxid_" + _word(rng, 6, 12, first_letter=False),
                           _word(rng, 4, 8) + "_" + _digits(rng, 3), _word(rng, 3, 5).capitalize() + _digits(rng, 4)])

    def plate(self) -> str:
        rng = self.rng
        head = rng.choice(PLATE_PROVINCES) + rng.choice(PLATE_LETTERS)
        if rng.random() < 0.2:  # new-energy vehicles: D or F then five digits
            tail = rng.choice("DF") + _digits(rng, 5)
        else:
            tail = "".join(rng.choice(PLATE_LETTERS + string.digits * 3) for _ in range(5))
            if sum(c.isdigit() for c in tail) < 2:
                tail = tail[:3] + _digits(rng, 2)
        return head + rng.choice(["", "", "", "·", " "]) + tail

    def address(self) -> str:
        rng = self.rng
        n = rng.randint(1, 999)
        building = f"{rng.randint(1, 30)}{rng.choice(['栋', '幢', '号楼'])}"
        unit = f"{rng.randint(1, 6)}单元"
        room = f"{rng.randint(1, 30)}{rng.randint(1, 4):02d}{rng.choice(['室', '室', ''])}"
        form = rng.choice(["full", "city", "district", "road", "compound", "road_compound"])
        road = f"{rng.choice(ROADS)}{n}号"
        if form == "full":
            return rng.choice(PROVINCES) + rng.choice(CITIES) + rng.choice(DISTRICTS) + road
        if form == "city":
            return rng.choice(CITIES) + rng.choice(DISTRICTS) + road + rng.choice(["", building + unit + room])
        if form == "district":
            return rng.choice(DISTRICTS) + road + building
        if form == "road":
            return road
        if form == "compound":
            return rng.choice(COMPOUNDS) + building + rng.choice(["", unit, unit + room])
        return rng.choice(CITIES) + road + rng.choice(COMPOUNDS) + building + unit


# Templates: {v} is the value; a template's own words around it are what a person types. `name` templates
# say which part of the value the truth span covers.
TEMPLATES: dict[str, list[str]] = {
    "phone": ["我电话是{v}", "手机号：{v}", "我的手机{v}，有事打我", "打我电话{v}", "号码{v}", "有需要可以打{v}找我",
              "我手机号{v}", "电话{v}"],
    "landline": ["家里座机{v}", "办公室电话{v}", "固话：{v}", "座机号码是{v}", "打我们单位电话{v}"],
    "id_card": ["身份证号{v}", "我的身份证是{v}", "身份证：{v}", "我身份证号码{v}", "证件号{v}"],
    "bank_card": ["卡号{v}", "银行卡号是{v}", "打到我卡上{v}", "我的卡号：{v}", "转账到{v}"],
    "email": ["邮箱{v}", "发我邮箱{v}", "email: {v}", "我的邮箱是{v}", "邮件发到{v}"],
    "url": ["我的微博{v}", "主页：{v}", "关注我{v}", "我的主页是{v}", "链接：{v}"],
    "ip": ["我的IP是{v}", "服务器地址{v}", "ip：{v}", "登录IP显示{v}", "连的是{v}"],
    "qq": ["QQ：{v}", "加我QQ {v}", "我扣扣{v}", "企鹅号{v}", "qq号是{v}", "我QQ号{v}", "Q号{v}"],
    "wechat": ["加我微信{v}", "vx: {v}", "wx {v}", "微信号是{v}", "V信{v}", "我微信{v}", "加vx {v}"],
    "plate": ["我的车牌是{v}", "车牌号{v}", "{v}是我的车", "开的是{v}那辆", "车牌{v}"],
    "address": ["我家住在{v}", "地址：{v}", "我住{v}", "寄到{v}", "我家在{v}", "住址是{v}"],
    "name": ["我叫{v}", "我的名字是{v}", "{v}老师您好", "{v}同学", "小{s}", "老{s}", "{v}医生说", "我叫{v}今年二十岁",
             "{s}老师", "名字叫{v}"],
}
GENERATORS: dict[str, Callable[[Values], str]] = {t: getattr(Values, t) for t in TEMPLATES}


# Numbers that are not PII and must survive: planted the same way, the truth says "not PII".
HOTLINES = ["110", "120", "119", "122", "12355", "12356", "12320", "12345", "400-161-9995", "800-810-1117",
            "010-82951332", "4001619995", "96110"]


def _wrong_id(rng: random.Random) -> str:
    region = rng.choice(sorted(ID_PROVINCES - {"71", "81", "82"})) + _digits(rng, 4)
    first17 = f"{region}{rng.randint(1950, 2008)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{_digits(rng, 3)}"
    good = id_check_char(first17)
    return first17 + rng.choice([c for c in "0123456789X" if c != good])


def _wrong_card(rng: random.Random) -> str:
    partial = rng.choice(CARD_PREFIXES) + _digits(rng, 9)
    good = luhn_check_digit(partial)
    return partial + rng.choice([d for d in string.digits if d != good])


def rng_date(rng: random.Random) -> str:
    y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}.{m}.{d}", f"{m}月{d}号",
                       f"{y}{m:02d}{d:02d}"])


NEGATIVES: dict[str, tuple[list[str], Callable[[random.Random], str]]] = {
    "date": (["{v}那天", "{v}开始的", "是{v}"], rng_date),
    "time": (["{v}的时候", "约了{v}", "每天{v}起床"], lambda r: f"{r.randint(0, 23)}:{r.randint(0, 59):02d}"),
    "price": (["花了{v}", "才{v}", "价格{v}"], lambda r: r.choice(["¥", "￥", ""]) + str(r.randint(1, 99999))
              + r.choice(["", "元", "块"])),
    "count": (["一共{v}人", "第{v}名", "{v}个"], lambda r: str(r.randint(100, 99999))),
    "year": (["{v}年", "{v}届", "{v}级"], lambda r: str(r.randint(1980, 2030))),
    "hotline": (["可以打{v}", "热线{v}", "拨打{v}求助"], lambda r: r.choice(HOTLINES)),
    "id_bad_check": (["身份证号{v}", "证件号{v}"], _wrong_id),
    "card_bad_luhn": (["卡号{v}", "银行卡{v}"], _wrong_card),
    # order and parcel numbers that cannot be taken for a phone, landline, ID or card by their shape (a
    # mobile-shaped order number cannot be told from a phone number by any detector)
    "long_number": (["订单号{v}", "快递单号{v}", "编号{v}"], lambda r: r.choice("2456789") + _digits(r, r.randint(7, 13))),
}


@dataclass
class Planted:
    """One planted text and its truth."""

    id: str
    source: str
    host_id: str
    role: str
    host: str
    text: str
    type: str
    template: str
    value: str
    start: int  # of the value in text
    end: int


def plant_one(host: Host, typ: str, values: Values, rng: random.Random, index: int) -> Planted:
    """Insert one clause with a value of `typ` into `host` at a sentence boundary (or its start or end);
    `typ` is a PII type or, prefixed `not:`, a kind of number that is not PII (NEGATIVES)."""
    if typ.startswith("not:"):
        templates, make = NEGATIVES[typ[4:]]
        template = rng.choice(templates)
        value = make(rng)
        clause = template.replace("{v}", value)
    elif typ == "name":
        template = rng.choice(TEMPLATES[typ])
        surname = values.surname()
        given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
        value = surname if "{s}" in template else surname + given
        clause = template.replace("{s}", surname).replace("{v}", surname + given)
        if "{s}" in template and template[0] in "小老":
            value = template[0] + surname  # `小王` is the name as written
    else:
        template = rng.choice(TEMPLATES[typ])
        value = GENERATORS[typ](values)
        clause = template.replace("{v}", value)
    at = clause.index(value)
    text = host.text
    cuts = [0, len(text)] + [i + 1 for i, c in enumerate(text) if c in "，。！？；,!?;\n" and i + 1 < len(text)]
    pos = rng.choice(cuts)
    sep_after = "" if pos == len(text) else rng.choice(["，", "。", "，", " "])
    prefix = text[:pos]
    out = prefix + clause + sep_after + text[pos:]
    if pos == len(text) and text and text[-1] not in "，。！？；,!?;":
        out = prefix + "，" + clause
        prefix += "，"
    start = len(prefix) + at
    return Planted(f"plant-{index}", host.source, host.id, host.role, host.text, out, typ, template, value,
                   start, start + len(value))


def plant(hosts: list[Host], per_type: int, seed: int) -> tuple[list[Planted], list[Host]]:
    """`per_type` planted texts of every PII type and of every kind of non-PII number (type `not:KIND`), on
    hosts drawn without replacement (two in three from SMILECHAT, one from CPED), and the hosts left
    untouched."""
    rng = random.Random(seed)
    values = Values(rng)
    by_source: dict[str, list[Host]] = {}
    for h in hosts:
        by_source.setdefault(h.source, []).append(h)
    for pool in by_source.values():
        rng.shuffle(pool)
    out: list[Planted] = []
    index = 0
    for typ in [*pii_types(), *(f"not:{k}" for k in NEGATIVES)]:
        for k in range(per_type):
            pool = by_source["cped" if k % 3 == 2 else "smilechat"]  # CPED's test split is small: keep some
            out.append(plant_one(pool.pop(), typ, values, rng, index))
            index += 1
    untouched = [h for pool in by_source.values() for h in pool]
    rng.shuffle(untouched)
    return out, untouched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=["dev", "test"], default="test")
    ap.add_argument("--per-type", type=int, default=300)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=None, help="default: out/pii/planted-SPLIT.jsonl")
    args = ap.parse_args()
    planted, _ = plant(load_hosts(args.split, args.data), args.per_type, args.seed)
    out = args.out or Path("out/pii") / f"planted-{args.split}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for p in planted:
            f.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    print(f"wrote {len(planted)} planted texts to {out}")


if __name__ == "__main__":
    main()
