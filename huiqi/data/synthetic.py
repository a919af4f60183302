"""Deterministic synthetic Guangxi industrial enterprises — the embedded demo data.

`generate(n, seed)` returns every table of docs/data-model.md as Polars frames; the same seed gives identical
frames. Everything is vectorised (Polars expressions over uniforms drawn by `pyarrow.compute.random` with
seeds derived from `random.Random(seed)`), so `generate(1_000_000)` runs in well under a minute.
See docs/synthetic-data.md for the distributions.
"""

from __future__ import annotations

import math
import random
from datetime import date
from pathlib import Path

import polars as pl

from huiqi.core import regions
from huiqi.data.credit_code import CHARSET

# ----------------------------------------------------------------------------------------------- constants

N_Q = 19  # 2022Q1 … 2026Q3
PERIODS = [f"{2022 + t // 4}Q{t % 4 + 1}" for t in range(N_Q)]
YEARS = list(range(2022, 2027))
LAST_DAY = date(2026, 9, 30)
INDICATORS = ("output", "revenue", "profit", "power", "purchased_power", "employees", "new_jobs", "export",
              "new_market_export", "rd_expense")
WAN = 1_000_000  # 1 万元 in 分
SCALE_LINE_FEN = 2000 * WAN  # 规上工业: 年主营业务收入 2000万元
DESIGNATIONS = ("top500_output", "gx_leading", "little_giant", "single_champion", "specialized_sme", "high_tech",
                "chain_leader", "two_high", "independent_metering")
CREDIT_KINDS = ("环保", "安全", "质量", "纳税", "统计", "失信联合惩戒")
EVENT_KINDS = ("promo_event", "large_expo", "intl_certification", "liquidity_loan", "hire")

S, D, B, I64 = pl.String, pl.Date, pl.Boolean, pl.Int64
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "counties": {"county_code": S, "county_name": S, "city_name": S},
    "enterprises": {"credit_code": S, "name": S, "county_code": S, "industry_code": S, "sector": S,
                    "established": D, "is_state_owned": B},
    "scale_status": {"credit_code": S, "year": pl.Int32, "above_scale": B, "entered_scale_on": D},
    "designations": {"credit_code": S, "designation": S, "start": D, "end": D},
    "credit_records": {"credit_code": S, "kind": S, "date": D, "serious": B},
    "indicators": {"credit_code": S, "period": S, "indicator": S, "value": I64},
    "projects": {"project_id": S, "credit_code": S, "name": S, "project_type": S, "county_code": S,
                 "registered_on": D, "total_investment_fen": I64},
    "project_investment": {"project_id": S, "period": S, "invest_fen": I64},
    "events": {"event_id": S, "credit_code": S, "kind": S, "date": D, "cost_fen": I64, "amount_fen": I64,
               "detail": S},
    "county_targets": {"county_code": S, "period": S, "invest_target_fen": I64, "invest_done_fen": I64,
                       "output_target_fen": I64, "output_done_fen": I64},
}
TABLES = tuple(SCHEMAS)

SECTORS = list(regions.SECTORS)
_SI = {s: i for i, s in enumerate(SECTORS)}

# Sector mix by city (weights in the order of SECTORS:
# 汽车 机械 钢铁 有色金属 石化 建材 食品 制糖 造纸 电子信息 医药 纺织 木材加工 电力 其他).
SECTOR_MIX: dict[str, list[float]] = {
    "南宁市": [2, 6, 1, 1, 4, 12, 16, 3, 3, 16, 5, 1, 8, 3, 20],
    "柳州市": [30, 18, 8, 1, 4, 6, 6, 2, 2, 4, 2, 1, 2, 2, 12],
    "桂林市": [3, 10, 1, 1, 3, 8, 14, 1, 2, 10, 10, 3, 6, 3, 25],
    "梧州市": [1, 5, 4, 8, 3, 12, 10, 1, 3, 5, 4, 3, 10, 3, 28],
    "北海市": [1, 4, 3, 1, 10, 6, 14, 1, 10, 18, 3, 2, 4, 4, 19],
    "防城港市": [1, 4, 15, 10, 8, 6, 16, 2, 1, 1, 2, 1, 4, 8, 21],
    "钦州市": [1, 4, 4, 3, 20, 8, 12, 1, 6, 4, 2, 2, 6, 6, 21],
    "贵港市": [3, 8, 2, 1, 3, 14, 10, 8, 3, 6, 2, 4, 14, 3, 19],
    "玉林市": [4, 22, 2, 1, 4, 10, 12, 1, 2, 3, 8, 6, 6, 2, 17],
    "百色市": [1, 3, 1, 25, 4, 10, 10, 6, 2, 5, 3, 2, 8, 6, 14],
    "贺州市": [1, 3, 1, 4, 3, 30, 10, 3, 2, 4, 2, 3, 8, 6, 20],
    "河池市": [1, 3, 1, 22, 4, 10, 8, 8, 2, 2, 3, 8, 6, 10, 12],
    "来宾市": [1, 4, 2, 5, 4, 12, 8, 25, 4, 2, 2, 4, 8, 6, 13],
    "崇左市": [1, 3, 1, 8, 3, 10, 8, 30, 4, 3, 2, 2, 10, 4, 11],
}
# Relative weights of classes inside a sector (default 1).
_CLASS_WEIGHT = {"3670": 6.0, "3660": 2.0, "3130": 3.0, "3216": 2.0, "3252": 2.0, "3011": 2.0, "3021": 2.0,
                 "3032": 2.0, "2221": 2.0, "3982": 2.0, "2021": 3.0, "2022": 2.0, "4413": 2.0, "2922": 2.0}

# Per sector: output multiplier for size, power intensity (kWh per 元 of output), purchased share range,
# output per employee (元), seasonality Q1..Q4 (mean 1), two_high probability, high_tech probability,
# exporter probability, name words, product words for project names.
_SECTOR_PARAMS: dict[str, dict] = {
    "汽车": dict(size=1.6, kwh=0.015, own=(0.92, 1.0), prod=2.2e6, season=(0.86, 0.98, 0.98, 1.18), two_high=0.0,
               high_tech=0.30, export=0.30, words=["汽车零部件", "汽车配件", "汽车部件", "车桥", "汽车饰件", "汽车制造", "新能源汽车"],
               product="万套汽车零部件"),
    "机械": dict(size=1.2, kwh=0.03, own=(0.95, 1.0), prod=1.3e6, season=(0.85, 1.05, 0.98, 1.12), two_high=0.0,
               high_tech=0.30, export=0.30, words=["机械", "机械制造", "重工", "工程机械", "精密机械", "装备制造", "液压"],
               product="台（套）机械设备"),
    "钢铁": dict(size=3.0, kwh=0.12, own=(0.6, 0.9), prod=4.5e6, season=(0.92, 1.04, 1.0, 1.04), two_high=0.55,
               high_tech=0.15, export=0.15, words=["钢铁", "钢材", "特钢", "金属制品"], product="万吨钢材"),
    "有色金属": dict(size=2.0, kwh=0.45, own=(0.85, 1.0), prod=3.5e6, season=(0.93, 1.02, 1.0, 1.05), two_high=0.35,
                 high_tech=0.15, export=0.15, words=["有色金属", "铝业", "锌业", "锡业", "冶炼", "新材料"],
                 product="万吨有色金属材料"),
    "石化": dict(size=2.5, kwh=0.06, own=(0.7, 1.0), prod=6.0e6, season=(0.95, 1.0, 1.0, 1.05), two_high=0.2,
               high_tech=0.2, export=0.15, words=["石化", "化工", "石油化工", "化学", "化学新材料"], product="万吨化工产品"),
    "建材": dict(size=0.9, kwh=0.25, own=(0.95, 1.0), prod=1.0e6, season=(0.82, 1.05, 0.98, 1.15), two_high=0.15,
               high_tech=0.08, export=0.10, words=["建材", "水泥", "新型建材", "石材", "陶瓷", "玻璃"],
               product="万吨新型建材"),
    "食品": dict(size=0.9, kwh=0.03, own=(0.95, 1.0), prod=1.5e6, season=(0.95, 0.92, 0.98, 1.15), two_high=0.0,
               high_tech=0.06, export=0.15, words=["食品", "农产品加工", "粮油", "饮料", "茶业", "食品科技"],
               product="万吨食品"),
    "制糖": dict(size=1.5, kwh=0.04, own=(0.3, 0.6), prod=1.0e6, season=(1.55, 0.55, 0.10, 1.80), two_high=0.0,
               high_tech=0.05, export=0.05, words=["糖业", "制糖", "蔗糖"], product="万吨食糖"),
    "造纸": dict(size=1.2, kwh=0.15, own=(0.5, 0.8), prod=1.8e6, season=(0.9, 1.0, 1.0, 1.1), two_high=0.15,
               high_tech=0.12, export=0.10, words=["纸业", "造纸", "浆纸"], product="万吨纸及纸板"),
    "电子信息": dict(size=1.1, kwh=0.03, own=(0.95, 1.0), prod=1.2e6, season=(0.85, 0.98, 1.02, 1.15), two_high=0.0,
                 high_tech=0.45, export=0.45, words=["电子", "电子科技", "信息技术", "光电", "智能科技"],
                 product="万件电子元器件"),
    "医药": dict(size=0.9, kwh=0.04, own=(0.95, 1.0), prod=1.2e6, season=(0.92, 1.0, 1.0, 1.08), two_high=0.0,
               high_tech=0.40, export=0.15, words=["医药", "药业", "制药", "生物科技"], product="万盒药品"),
    "纺织": dict(size=0.6, kwh=0.08, own=(0.95, 1.0), prod=0.5e6, season=(0.85, 1.05, 1.02, 1.08), two_high=0.0,
               high_tech=0.06, export=0.40, words=["纺织", "丝绸", "茧丝", "织造"], product="万米面料"),
    "木材加工": dict(size=0.7, kwh=0.08, own=(0.95, 1.0), prod=0.9e6, season=(0.85, 1.02, 1.0, 1.13), two_high=0.0,
                 high_tech=0.05, export=0.20, words=["木业", "人造板", "林产", "木材"], product="万立方米人造板"),
    "电力": dict(size=2.0, kwh=0.05, own=(0.02, 0.1), prod=5.0e6, season=(0.85, 1.08, 1.17, 0.90), two_high=0.25,
               high_tech=0.05, export=0.0, words=["电力", "能源", "发电", "新能源"], product="万千瓦发电机组"),
    "其他": dict(size=0.8, kwh=0.04, own=(0.95, 1.0), prod=0.9e6, season=(0.88, 1.0, 1.0, 1.12), two_high=0.01,
               high_tech=0.10, export=0.20, words=["实业", "科技", "塑料制品", "包装", "工贸", "新能源科技"],
               product="万件产品"),
}

BRAND_CHARS = ("鑫达华昌盛泰恒源宏隆兴旺富祥瑞安通远金立新宇鼎佳和丰福永嘉诚信正聚博凯润海峰鹏腾龙凤桂邕江山川明光辉荣德宝"
               "益利万方百天东南中大力强振航星云飞锦创科美优卓越晟睿智汇联合众康健泓浩澜骏翔铭钧臻尚景悦蓝青翠桐松柏榕禾农林"
               "壮岭湘沣霖炜煜琪璟瀚宸昊")
EXPOS = ("中国—东盟博览会", "中国进出口商品交易会", "中国国际进口博览会", "上海国际汽车工业展览会", "汉诺威工业博览会",
         "中国国际工业博览会", "中国国际高新技术成果交易会", "越南国际工业博览会")


def _date_days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


# ----------------------------------------------------------------------------------------------- randomness

class _Rng:
    """Seeded uniform/normal/choice draws as Polars Series (pyarrow's generator, one derived seed per draw)."""

    def __init__(self, seed: int):
        import pyarrow.compute  # here, not at the top: read_parquet (every web start) needs no pyarrow (START-7)

        self._random = pyarrow.compute.random
        self._r = random.Random(seed)

    def seed(self) -> int:
        return self._r.getrandbits(63)

    def uniform(self, n: int) -> pl.Series:
        return pl.Series("u", self._random(n, initializer=self.seed()), dtype=pl.Float64)

    def normal(self, n: int) -> pl.Series:
        u1, u2 = self.uniform(n), self.uniform(n)
        return ((-2.0 * (1.0 - u1).log()).sqrt() * (2.0 * math.pi * u2).cos()).alias("z")

    def integers(self, lo: int, hi: int, n: int) -> pl.Series:
        """Uniform integers in [lo, hi)."""
        return (lo + (self.uniform(n) * (hi - lo)).floor()).cast(pl.Int64).clip(lo, hi - 1).alias("k")

    def choice(self, weights, n: int) -> pl.Series:
        tot = float(sum(weights))
        cum, acc = [], 0.0
        for w in weights:
            acc += w / tot
            cum.append(acc)
        cum[-1] = 1.0 + 1e-12
        return pl.Series(cum).search_sorted(self.uniform(n), side="right").cast(pl.Int64).clip(0, len(weights) - 1)

    def choice_by_group(self, group: pl.Series, matrix: list[list[float]]) -> pl.Series:
        """For each row, an index drawn from the weights of its group (row of `matrix`)."""
        width = max(len(r) for r in matrix)
        flat = []
        for row in matrix:
            tot = float(sum(row))
            acc, cum = 0.0, []
            for w in list(row) + [0.0] * (width - len(row)):
                acc += w / tot
                cum.append(acc)
            cum[-1] = 2.0
            flat.extend(cum)
        flat_s = pl.Series(flat)
        u = self.uniform(len(group))
        out = pl.Series(pl.repeat(0, len(group), dtype=pl.Int64, eager=True))
        base = group.cast(pl.Int64) * width
        for k in range(width - 1):
            out = out + (u >= flat_s.gather(base + k)).cast(pl.Int64)
        return out


def _pick(index: pl.Expr, values: list[str]) -> pl.Expr:
    """values[index] as an expression."""
    return index.cast(pl.Int64).replace_strict(list(range(len(values))), list(values), return_dtype=pl.String)


def _dates(days: pl.Series) -> pl.Series:
    return days.cast(pl.Int32).cast(pl.Date)


def _date_between(rng: _Rng, start: date, end: date, n: int) -> pl.Series:
    a, b = _date_days(start), _date_days(end)
    return _dates(rng.integers(a, b + 1, n))


def _quarter_of_days(days: pl.Expr) -> pl.Expr:
    d = days.cast(pl.Int32).cast(pl.Date)
    return (d.dt.year().cast(pl.Int64) - 2022) * 4 + (d.dt.month().cast(pl.Int64) - 1) // 3


# ----------------------------------------------------------------------------------------------- enterprises

def _counties_frame() -> pl.DataFrame:
    return pl.DataFrame({"county_code": [c.code for c in regions.COUNTIES],
                         "county_name": [c.name for c in regions.COUNTIES],
                         "city_name": [c.city for c in regions.COUNTIES]}, schema=SCHEMAS["counties"])


def _credit_codes(rng: _Rng, county_code: pl.Series, modern: pl.Series) -> pl.Series:
    """Vectorised valid, unique 统一社会信用代码: 91 + county + 组织机构代码 (GB 11714 check) + GB 32100 check."""
    n = len(county_code)
    idx = pl.Series(range(n), dtype=pl.Int64)
    cs = pl.Series(list(CHARSET))
    # GB 11714 values of the charset characters (letters A=10 … Z=35), and GB 32100 values (index in CHARSET).
    org_val = pl.Series([int(c) if c.isdigit() else ord(c) - 55 for c in CHARSET], dtype=pl.Int64)
    # legacy: 8 digits, an affine permutation of the index mod 10^8; modern: "MA" + 6 chars, permutation mod 31^6.
    a1 = rng.seed() % 10**7 * 10 + 3  # ends in 3: coprime with 10^8
    b1 = rng.seed() % 10**8
    m2 = 31**6
    a2 = rng.seed() % (m2 - 1) + 1
    a2 += (a2 % 31 == 0)
    b2 = rng.seed() % m2
    k1 = (idx * a1 + b1) % 10**8
    k2 = (idx * a2 + b2) % m2
    body_v = []  # 8 columns of GB 32100 values
    body_o = []  # 8 columns of GB 11714 values
    for j in range(8):
        leg = (k1 // 10 ** (7 - j)) % 10
        if j == 0:
            mod = pl.Series(pl.repeat(CHARSET.index("M"), n, dtype=pl.Int64, eager=True))
        elif j == 1:
            mod = pl.Series(pl.repeat(CHARSET.index("A"), n, dtype=pl.Int64, eager=True))
        else:
            mod = (k2 // 31 ** (7 - j)) % 31
        v = pl.select(pl.when(modern).then(mod).otherwise(leg)).to_series()
        body_v.append(v)
        body_o.append(org_val.gather(v))
    s11 = sum(o * w for o, w in zip(body_o, (3, 7, 9, 10, 5, 8, 4, 2)))
    r = 11 - s11 % 11
    chk_org = pl.select(pl.when(r == 11).then(0).when(r == 10).then(CHARSET.index("X")).otherwise(r)).to_series()
    area = [county_code.str.slice(j, 1).cast(pl.Int64) for j in range(6)]
    vals = [pl.Series(pl.repeat(9, n, dtype=pl.Int64, eager=True)), pl.Series(pl.repeat(1, n, dtype=pl.Int64, eager=True))]
    vals += area + body_v + [chk_org]
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    s31 = sum(v * w for v, w in zip(vals, weights))
    c18 = (31 - s31 % 31) % 31
    parts = [pl.lit("91"), pl.lit(county_code)] + [pl.lit(cs.gather(v)) for v in body_v + [chk_org, c18]]
    return pl.select(pl.concat_str(parts).alias("credit_code")).to_series()


def _names(rng: _Rng, city: pl.Series, sector_idx: pl.Series, big: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Unique enterprise names: 城市 + 字号 + 行业词 + 有限公司/股份有限公司, and the 字号 (brand)."""
    n = len(city)
    chars = pl.Series(list(dict.fromkeys(BRAND_CHARS)))
    words_all: list[str] = []
    offs, counts = [], []
    for s in SECTORS:
        w = _SECTOR_PARAMS[s]["words"]
        offs.append(len(words_all))
        counts.append(len(w))
        words_all.extend(w)
    words = pl.Series(words_all)
    off_s, cnt_s = pl.Series(offs).gather(sector_idx), pl.Series(counts).gather(sector_idx)
    # name patterns: 柳州市鑫达… / 广西柳州鑫达… / 广西鑫达… / 柳州鑫达…
    city_short = city.str.strip_suffix("市")
    pending = pl.Series(pl.repeat(True, n, dtype=pl.Boolean, eager=True))
    name = pl.Series(pl.repeat(None, n, dtype=pl.String, eager=True))
    brand = pl.Series(pl.repeat(None, n, dtype=pl.String, eager=True))
    nc = len(chars)
    for attempt in range(12):
        c1, c2, c3 = (chars.gather(rng.integers(0, nc, n)) for _ in range(3))
        c2 = pl.select(pl.when(c2 == c1).then(c3).otherwise(c2)).to_series()
        b = pl.select(pl.concat_str([c1, c2, pl.when(attempt >= 4).then(c3).otherwise(pl.lit(""))])).to_series()
        wi = off_s + (rng.uniform(n) * cnt_s).floor().cast(pl.Int64).clip(0, None)
        wi = pl.select(pl.min_horizontal(wi, off_s + cnt_s - 1)).to_series()
        pre = rng.integers(0, 4, n)
        head = pl.select(
            pl.when(pre == 0).then(city).when(pre == 1).then(pl.concat_str([pl.lit("广西"), city_short]))
            .when(pre == 2).then(pl.lit("广西")).otherwise(city_short)).to_series()
        suffix = pl.select(pl.when(big | (rng.uniform(n) < 0.08)).then(pl.lit("股份有限公司"))
                           .otherwise(pl.lit("有限公司"))).to_series()
        cand = pl.select(pl.concat_str([head, b, words.gather(wi), suffix])).to_series()
        if attempt == 11:  # last resort: a numbered branch
            cand = pl.select(pl.concat_str([cand, pl.lit("（"), pl.Series(range(n)).cast(pl.String), pl.lit("）")])).to_series()
        f = pl.DataFrame({"name": name, "brand": brand, "cand": cand, "b": b, "p": pending}).with_columns(
            name=pl.when(pl.col("p")).then(pl.col("cand")).otherwise(pl.col("name")),
            brand=pl.when(pl.col("p")).then(pl.col("b")).otherwise(pl.col("brand")))
        # keep the first occurrence of each name, prefer rows already settled
        order = f.with_row_index("i").with_columns(settled=~pl.col("p")).sort(["settled", "i"], descending=[True, False])
        dup_idx = order.filter(pl.col("name").is_duplicated() & ~pl.col("name").is_first_distinct())["i"]
        name, brand = f["name"], f["brand"]
        pending = pl.Series(pl.repeat(False, n, dtype=pl.Boolean, eager=True)).scatter(dup_idx, True) if len(dup_idx) else \
            pl.Series(pl.repeat(False, n, dtype=pl.Boolean, eager=True))
        if not pending.any():
            break
    return name.alias("name"), brand.alias("brand")


def _enterprise_params(rng: _Rng, n_above: int, n_below: int, liuzhou_share: float) -> pl.DataFrame:
    n = n_above + n_below
    cities = list(regions.CITIES)
    other = sum(regions.CITIES[c][1] for c in cities if c != regions.LIUZHOU)
    codes, names, city_of, weights = [], [], [], []
    for ci, c in enumerate(cities):
        cw = liuzhou_share if c == regions.LIUZHOU else regions.CITIES[c][1] / other * (1.0 - liuzhou_share)
        cs = regions.CITIES[c][2]
        tot = sum(w for _, _, w in cs)
        for code, name, w in cs:
            codes.append(code)
            names.append(name)
            city_of.append(ci)
            weights.append(cw * w / tot)
    cty = rng.choice(weights, n)
    city_idx = pl.Series(city_of).gather(cty)
    county_code = pl.Series(codes).gather(cty)
    city = pl.Series(cities).gather(city_idx)
    sector_idx = rng.choice_by_group(city_idx, [SECTOR_MIX[c] for c in cities])
    # industry class within sector
    classes = [[k for k, v in regions.INDUSTRIES.items() if v[1] == s] for s in SECTORS]
    cls_w = [[_CLASS_WEIGHT.get(k, 1.0) for k in cl] for cl in classes]
    width = max(len(c) for c in classes)
    cls_local = rng.choice_by_group(sector_idx, cls_w)
    flat_codes = pl.Series([cl[j] if j < len(cl) else cl[-1] for cl in classes for j in range(width)])
    industry_code = flat_codes.gather(sector_idx * width + cls_local)

    sp = [_SECTOR_PARAMS[s] for s in SECTORS]

    def per_sector(key, i=None):
        vals = [p[key] if i is None else p[key][i] for p in sp]
        return pl.Series(vals, dtype=pl.Float64).gather(sector_idx)

    above = pl.Series(range(n)) < n_above
    # size: 2022 annual output in 元. 规上: Pareto(α=1.1) × sector factor × lognormal noise, ≥ 2100万;
    # near-threshold 规下: uniform 1200–2100万.
    u = rng.uniform(n)
    pareto = 2.5e7 * (1.0 - u) ** (-1.0 / 1.1) * (rng.normal(n) * 0.25).exp()
    pareto = pl.select(pl.when(u > 0.5).then(pareto * per_sector("size")).otherwise(pareto)).to_series()
    size = pl.select(pl.when(above).then(pareto.clip(2.1e7, 1.5e11))
                     .otherwise(1.2e7 + rng.uniform(n) * 0.9e7)).to_series()

    # entry (新建投产, no base) and exit
    ue = rng.uniform(n)
    entrant = above & (ue < 0.06)
    t0 = pl.select(pl.when(entrant).then(rng.integers(1, 18, n)).otherwise(0)).to_series()
    exiting = ~entrant & (rng.uniform(n) < 0.035)
    t1 = pl.select(pl.when(exiting).then(rng.integers(4, N_Q, n)).otherwise(N_Q)).to_series()
    entry_q_start = pl.select(pl.date(2022 + t0 // 4, (t0 % 4) * 3 + 1, 1).cast(pl.Int32)).to_series()
    entry_day = entry_q_start + rng.integers(0, 60, n).cast(pl.Int32)
    est_old = _date_days(date(1988, 1, 1)) + (rng.uniform(n) ** 0.6 * (_date_days(date(2021, 6, 30)) -
                                                                        _date_days(date(1988, 1, 1)))).floor()
    est_new = entry_day.cast(pl.Float64) - 180 - (rng.uniform(n) * 900).floor()
    established = pl.select(pl.when(entrant).then(est_new).otherwise(est_old)).to_series().cast(pl.Int32)

    # growth: trend + yearly shocks + macro; log levels per year
    g = rng.normal(n) * 0.10 + 0.05
    macro = {2023: 0.02, 2024: 0.03, 2025: 0.04, 2026: 0.03}
    lvl = [size.log()]
    for y in YEARS[1:]:
        lvl.append(lvl[-1] + g + macro[y] + rng.normal(n) * 0.08)

    sector = pl.Series(SECTORS).gather(sector_idx)
    big = size > 2e9
    soe_p = pl.select(pl.when(sector.is_in(["钢铁", "电力", "石化"])).then(0.3).otherwise(0.05)
                      + pl.when(size > 5e9).then(0.3).otherwise(0.0)).to_series()
    own_lo, own_hi = per_sector("own", 0), per_sector("own", 1)
    df = pl.DataFrame({
        "i": pl.Series(range(n), dtype=pl.Int64), "county_code": county_code, "city": city,
        "sector_idx": sector_idx, "sector": sector, "industry_code": industry_code, "above_group": above,
        "size": size, "entrant": entrant, "t0": t0, "t1": t1, "entry_day": entry_day, "established": established,
        "is_state_owned": rng.uniform(n) < soe_p,
        **{f"lvl{k}": lvl[k] for k in range(5)},
        "rev_ratio": 0.9 + rng.uniform(n) * 0.15,
        "margin": rng.normal(n) * 0.045 + 0.05,
        "kwh": per_sector("kwh") * (rng.normal(n) * 0.3).exp(),
        "own_share": own_lo + rng.uniform(n) * (own_hi - own_lo),
        "emp_base": (size / per_sector("prod") * (rng.normal(n) * 0.35).exp()).clip(20, 60000),
        "exporter": rng.uniform(n) < per_sector("export") * 1.3,
        "export_share": 0.05 + rng.uniform(n) ** 1.5 * 0.6,
        "nme_u": rng.uniform(n),
        "rd_u": rng.uniform(n),
        "rd_int": 0.008 + rng.uniform(n) * 0.045,
        "high_tech_p": per_sector("high_tech"),
        "two_high_p": per_sector("two_high") * 0.4,
        "hj_u": rng.uniform(n),
    })
    df = df.with_columns(
        modern=(pl.col("established") >= _date_days(date(2015, 10, 1))),
        big=big,
    )
    df = df.with_columns(credit_code=_credit_codes(rng, df["county_code"], df["modern"]))
    nm, brand = _names(rng, df["city"], df["sector_idx"], df["big"])
    df = df.with_columns(name=nm, brand=brand)

    # edge cases around thresholds: only for enterprises active throughout
    ue2 = rng.uniform(n)
    stable = (pl.col("t0") == 0) & (pl.col("t1") == N_Q)
    q_level_fen = (pl.col("lvl2").exp() / 4 * 100)  # 2024 quarterly level in 分
    df = df.with_columns(edge_u=ue2, edge_t_pick=rng.integers(0, 8, n), edge_d=rng.integers(0, 5, n),
                         edge_k=rng.integers(1, 3, n))
    # thresholds 500/1000/2500/5000万 per quarter: nearest in log space
    thr = [500 * WAN, 1000 * WAN, 2500 * WAN, 5000 * WAN]
    nearest = pl.lit(thr[0])
    for a, b in zip(thr, thr[1:]):
        nearest = pl.when(q_level_fen > math.sqrt(a * b)).then(pl.lit(b)).otherwise(nearest)
    jan_sep_near = (pl.col("lvl1").exp() < 3.2e7) | (pl.col("lvl2").exp() < 3.2e7)
    df = df.with_columns(
        edge_kind=pl.when(stable & jan_sep_near & (pl.col("edge_u") < 0.10)).then(3)
        .when(stable & (pl.col("edge_u") < 0.05)).then(pl.col("edge_k"))
        .otherwise(0),
        edge_T=nearest.cast(pl.Int64),
    )
    # target quarter: the Q4s of 2023–2025 and 2026Q3 are favoured; Q3 for the 前三季度 kind
    q_choices = pl.Series([7, 11, 11, 15, 15, 18, 9, 13], dtype=pl.Int64)
    q3_choices = pl.Series([6, 10, 10, 14, 14, 18, 10, 14], dtype=pl.Int64)
    deltas = pl.Series([-1, 0, 1, -10000, 10000], dtype=pl.Int64)  # 分: −1分, exact, +1分, ±100元
    df = df.with_columns(
        edge_t=pl.when(pl.col("edge_kind") == 3).then(q3_choices.gather(df["edge_t_pick"]))
        .otherwise(q_choices.gather(df["edge_t_pick"])),
        edge_delta=deltas.gather(df["edge_d"]),
    )
    return df


# ----------------------------------------------------------------------------------------------- panels

def _panel_chunk(rng: _Rng, ent: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Indicators (long) for a chunk of enterprises, and the true (i, t) values used for aggregates."""
    seasons = pl.Series([x for s in SECTORS for x in _SECTOR_PARAMS[s]["season"]], dtype=pl.Float64)
    w = ent.select("i", "credit_code", "county_code", "sector_idx", "t0", "t1", "entrant", "lvl0", "lvl1", "lvl2",
                   "lvl3", "lvl4", "rev_ratio", "margin", "kwh", "own_share", "emp_base", "exporter",
                   "export_share", "nme_u", "rd_u", "rd_int", "high_tech_p", "edge_kind", "edge_T", "edge_t",
                   "edge_delta").with_columns(t=pl.int_ranges(0, N_Q)).explode("t")
    m = w.height
    w = w.with_columns(
        y=pl.col("t") // 4,
        season=seasons.gather(w["sector_idx"] * 4 + w["t"] % 4),
        z=rng.normal(m) * 0.045,
    )
    lvl = pl.when(pl.col("y") == 0).then("lvl0").when(pl.col("y") == 1).then("lvl1").when(
        pl.col("y") == 2).then("lvl2").when(pl.col("y") == 3).then("lvl3").otherwise("lvl4")
    age = pl.col("t") - pl.col("t0")
    ramp = (pl.when(~pl.col("entrant")).then(1.0).when(age == 0).then(0.45).when(age == 1).then(0.7)
            .when(age == 2).then(0.9).otherwise(1.0))
    left = pl.col("t1") - pl.col("t")
    decline = (pl.when(pl.col("t1") == N_Q).then(1.0).when(left == 1).then(0.6).when(left == 2).then(0.7)
               .when(left == 3).then(0.8).when(left == 4).then(0.9).otherwise(1.0))
    w = w.with_columns(
        active=(pl.col("t") >= pl.col("t0")) & (pl.col("t") < pl.col("t1")),
        out_yuan=lvl.exp() / 4 * pl.col("season") * pl.col("z").exp() * ramp * decline,
        ramp=ramp,
    ).with_columns(output=(pl.col("out_yuan") * 100).round().cast(pl.Int64).clip(100, None))
    # threshold edge cases (exact values in 分)
    o = pl.col("output")
    k, te, d = pl.col("edge_kind"), pl.col("edge_t"), pl.col("edge_delta")
    d1 = pl.when(d.abs() > 1).then(d.sign()).otherwise(d)  # growth edges: −1/0/+1 分
    prev4 = (o.shift(4) // 10) * 10
    jan_sep = 1500 * WAN + d - o.shift(1) - o.shift(2)
    w = w.with_columns(output=(
        pl.when((k == 1) & (pl.col("t") == te)).then(pl.col("edge_T") + d)
        .when((k == 2) & (pl.col("t") == te)).then(prev4 * 11 // 10 + d1)
        .when((k == 2) & (pl.col("t") == te - 4)).then((o // 10) * 10)
        .when((k == 3) & (pl.col("t") == te) & (jan_sep > 0)).then(jan_sep)
        .otherwise(o)))
    w = w.with_columns(
        revenue=(pl.col("output") * pl.col("rev_ratio") * (rng.normal(m) * 0.02).exp()).round().cast(pl.Int64),
        emp=(pl.col("emp_base") * ((lvl - pl.col("lvl0")) * 0.3).exp() * pl.col("ramp").sqrt()
             * (rng.normal(m) * 0.02).exp()).round().clip(10, None),
    )
    w = w.with_columns(
        profit=(pl.col("revenue") * (pl.col("margin") + rng.normal(m) * 0.03)).round().cast(pl.Int64),
        power=(pl.col("output") * pl.col("kwh") * (rng.normal(m) * 0.05).exp()).round().cast(pl.Int64),
        employees=(pl.col("emp") * 100).cast(pl.Int64),
        new_jobs=((pl.col("emp") * rng.uniform(m) * 0.06).round() * 100).cast(pl.Int64),
        export=(pl.col("output") * pl.col("export_share") * (rng.normal(m) * 0.15).exp()).round().cast(pl.Int64),
        nme_q=rng.uniform(m),
        rd_expense=(pl.col("revenue") * pl.col("rd_int") * (rng.normal(m) * 0.2).exp()).round().cast(pl.Int64),
    ).with_columns(
        purchased_power=(pl.col("power") * pl.col("own_share")).round().cast(pl.Int64),
        new_market_export=pl.when((pl.col("nme_u") < 0.12) & (pl.col("nme_q") < 0.5))
        .then((pl.col("export") * (0.05 + pl.col("nme_q") * 0.9)).round().cast(pl.Int64)).otherwise(0),
        report_jobs=rng.uniform(m) < 0.65,
        has_rd=pl.col("rd_u") < (pl.col("high_tech_p") + 0.3),
    )
    truth = w.filter(pl.col("active")).select("i", "county_code", "t", "output", "revenue")
    present = {
        "output": None, "revenue": None, "profit": None, "power": None, "purchased_power": None,
        "employees": None, "new_jobs": pl.col("report_jobs"), "export": pl.col("exporter"),
        "new_market_export": pl.col("exporter"), "rd_expense": pl.col("has_rd"),
    }
    periods = pl.Series(PERIODS)
    w = w.filter(pl.col("active")).select(
        "i", "t", "credit_code", "edge_kind", "report_jobs", "exporter", "has_rd",
        *[c for c in INDICATORS])
    w = w.with_columns(period=periods.gather(w["t"]))
    parts = []
    for j, ind in enumerate(INDICATORS):
        f = w
        if present[ind] is not None:
            f = f.filter(present[ind])
        u = rng.uniform(f.height)
        f = f.with_columns(u=u).filter((pl.col("u") >= 0.012) | (pl.col("edge_kind") > 0))
        parts.append(f.select(
            "i", "t", pl.lit(j, dtype=pl.Int8).alias("j"), "credit_code", "period",
            pl.lit(ind).alias("indicator"),
            pl.when((pl.col("u") < 0.015) & (pl.col("edge_kind") == 0)).then(None).otherwise(pl.col(ind))
            .cast(pl.Int64).alias("value")))
    long = pl.concat(parts).drop("i", "t", "j")  # order: indicator, then enterprise, then period
    return long, truth


# ----------------------------------------------------------------------------------------------- the rest

def _scale_status(ent: pl.DataFrame, annual: pl.DataFrame) -> pl.DataFrame:
    """规上 status per year: 2022 = the generated population; later years: prior-year revenue ≥ 2000万元
    (annualised if the enterprise was active only part of that year); 新建投产 enter in their first year."""
    rev = annual.pivot(on="y", index="i", values=["rev", "nq"], aggregate_function="sum")
    base = ent.select("i", "credit_code", "above_group", "entrant", "t0", "entry_day", "established").join(
        rev, on="i", how="left")
    rows = []
    hist = pl.date(pl.max_horizontal(pl.col("established").cast(pl.Date).dt.year() + 1, pl.lit(2008))
                   .clip(None, 2022), 1, 1)
    for yi, y in enumerate(YEARS):
        nq = pl.col(f"nq_{yi}").fill_null(0)
        entry_year = pl.col("entrant") & (pl.col("t0") // 4 == yi)
        if yi == 0:
            above = pl.when(entry_year).then(True).otherwise(pl.col("above_group") & ~pl.col("entrant"))
            entered = pl.when(entry_year).then(pl.col("entry_day").cast(pl.Date)).when(above).then(hist)
        else:
            pr = pl.col(f"rev_{yi - 1}").fill_null(0) * 4 / pl.col(f"nq_{yi - 1}").fill_null(0).clip(1, None)
            above = pl.when(entry_year).then(True).otherwise(pr >= SCALE_LINE_FEN)
            entered = (pl.when(entry_year).then(pl.col("entry_day").cast(pl.Date))
                       .when(above & pl.col("_pa")).then(pl.col("_pe"))
                       .when(above).then(pl.date(y, 1, 1)))
        base = base.with_columns(_a=above, _e=entered)
        rows.append(base.filter(nq > 0).select("credit_code", pl.lit(y, dtype=pl.Int32).alias("year"),
                                               pl.col("_a").alias("above_scale"),
                                               pl.col("_e").alias("entered_scale_on")))
        base = base.with_columns(_pa=pl.col("_a").fill_null(False), _pe=pl.col("_e"))
    return pl.concat(rows)


def _periods_of_year(y: int) -> list[int]:
    return [t for t in range(N_Q) if 2022 + t // 4 == y]


def _designations(rng: _Rng, ent: pl.DataFrame, annual: pl.DataFrame) -> pl.DataFrame:
    n = ent.height
    cc = ent["credit_code"]
    est = ent["established"]
    parts = []

    def add(mask: pl.Series, code: str, start: pl.Series, end: pl.Series | None = None):
        f = pl.DataFrame({"credit_code": cc, "start": start,
                          "end": end if end is not None else pl.Series(pl.repeat(None, n, dtype=pl.Date, eager=True))})
        parts.append(f.filter(mask).select("credit_code", pl.lit(code).alias("designation"),
                                           pl.col("start").cast(pl.Date), pl.col("end").cast(pl.Date)))

    # 全区产值前500: list for year y (by y's output), published end of March y+1, valid until the next list
    top = min(500, n)
    for y in YEARS[:-1]:
        yi = y - 2022
        ids = annual.filter(pl.col("y") == yi).sort(["out", "i"], descending=[True, False]).head(top)["i"]
        mask = pl.Series(pl.repeat(False, n, dtype=pl.Boolean, eager=True)).scatter(ids, True)
        start = pl.Series(pl.repeat(date(y + 1, 3, 31), n, dtype=pl.Date, eager=True))
        end = None if y == YEARS[-2] else pl.Series(pl.repeat(date(y + 2, 3, 30), n, dtype=pl.Date, eager=True))
        add(mask, "top500_output", start, end)

    size = ent["size"]
    rank = size.rank("ordinal", descending=True) / n  # 0 = largest
    # 自治区工业龙头企业 (~2%, among the largest)
    batches = pl.Series([date(2021, 12, 31), date(2023, 12, 29), date(2025, 6, 30)])
    add((rank < 0.15) & (rng.uniform(n) < 0.13), "gx_leading", batches.gather(rng.integers(0, 3, n)))
    # 小巨人 (~1%): manufacturing niche champions, 3-year term, 60% renewed (end open)
    lg_batches = pl.Series([date(2019, 5, 31), date(2020, 11, 13), date(2021, 7, 19), date(2022, 8, 11),
                            date(2023, 7, 14), date(2024, 9, 20)])
    lg_start = lg_batches.gather(rng.integers(0, 6, n))
    lg_end = pl.select(pl.when(rng.uniform(n) < 0.6).then(None).otherwise(
        lg_start.dt.offset_by("3y").dt.offset_by("-1d"))).to_series()
    is_mfg_tech = ent["sector"].is_in(["汽车", "机械", "电子信息", "医药", "有色金属", "石化", "其他"])
    add(is_mfg_tech & (rank > 0.02) & (rng.uniform(n) < 0.018), "little_giant", lg_start, lg_end)
    # 单项冠军 (~0.2%): large manufacturers
    sc_batches = pl.Series([date(2016, 11, 30), date(2018, 12, 12), date(2020, 12, 10), date(2022, 11, 24),
                            date(2023, 12, 22)])
    add(is_mfg_tech & (rank < 0.1) & (rng.uniform(n) < 0.035), "single_champion", sc_batches.gather(rng.integers(0, 5, n)))
    # 链主 (~0.3%): the largest in chain sectors
    chain = ent["sector"].is_in(["汽车", "机械", "钢铁", "有色金属", "制糖", "电子信息", "石化"])
    add(chain & (rank < 0.01) & (rng.uniform(n) < 0.6), "chain_leader",
        pl.Series(pl.repeat(date(2023, 6, 30), n, dtype=pl.Date, eager=True)))
    # 两高目录 (~3%, sector based), 独立计量 (~90%)
    add(rng.uniform(n) < ent["two_high_p"], "two_high", pl.Series(pl.repeat(date(2022, 6, 1), n, dtype=pl.Date, eager=True)))
    im_start = _dates(est.clip(_date_days(date(2015, 1, 1)), None))
    add(rng.uniform(n) < 0.9, "independent_metering", im_start)

    # 3-year certificates with renewals: 高新技术 (~15%), 专精特新中小企业 (~6%)
    def certificates(code: str, mask: pl.Series, first_lo: date, first_hi: date, renew_p: float):
        s0 = _date_between(rng, first_lo, first_hi, n).cast(pl.Int32).clip(est + 365, None)
        s = _dates(s0)
        alive = mask & (s <= LAST_DAY)
        for _ in range(4):
            e = s.dt.offset_by("3y").dt.offset_by("-1d")
            add(alive, code, s, e)
            s = s.dt.offset_by("3y")
            alive = alive & (rng.uniform(n) < renew_p) & (s <= LAST_DAY)

    certificates("high_tech", rng.uniform(n) < ent["high_tech_p"] * 0.95, date(2016, 11, 1), date(2025, 12, 15), 0.8)
    certificates("specialized_sme", (rank > 0.05) & (rng.uniform(n) < 0.065), date(2019, 6, 1), date(2025, 10, 31), 0.7)
    out = pl.concat(parts).filter(pl.col("start") <= LAST_DAY)
    return out.unique(["credit_code", "designation", "start"], keep="first", maintain_order=True)


def _credit_records(rng: _Rng, ent: pl.DataFrame) -> pl.DataFrame:
    n = ent.height
    parts = []
    for p in (0.04, 0.006):
        k = rng.choice([0.30, 0.25, 0.15, 0.15, 0.10, 0.05], n)
        f = pl.DataFrame({"credit_code": ent["credit_code"], "kind": pl.Series(CREDIT_KINDS).gather(k),
                          "date": _date_between(rng, date(2022, 1, 1), LAST_DAY, n),
                          "serious": (k == 5) | (rng.uniform(n) < 0.15), "m": rng.uniform(n) < p})
        parts.append(f.filter("m").drop("m"))
    return pl.concat(parts).unique(["credit_code", "kind", "date"], keep="first", maintain_order=True)


def _projects(rng: _Rng, ent: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = ent.height
    k = rng.choice([0.76, 0.195, 0.038, 0.007], n)
    p = ent.select("i", "credit_code", "county_code", "industry_code", "sector_idx", "brand", "size", "t0", "t1",
                   "entry_day").with_columns(k=k).filter(pl.col("k") > 0).with_columns(
        j=pl.int_ranges(0, pl.col("k"))).explode("j")
    m = p.height
    reg = _date_between(rng, date(2022, 1, 1), LAST_DAY, m)
    p = p.with_columns(registered_on=reg, u_type=rng.uniform(m), z=rng.normal(m), u_edge=rng.uniform(m),
                       dur=rng.integers(2, 9, m), done=0.85 + rng.uniform(m) * 0.15, qty=rng.integers(1, 50, m))
    p = p.with_columns(tq=_quarter_of_days(pl.col("registered_on").cast(pl.Int32))).filter(
        (pl.col("tq") >= pl.col("t0")) & (pl.col("tq") < pl.col("t1")))
    m = p.height
    inv_yuan = (8e7 * (pl.col("size") / 1e8) ** 0.3 * (pl.col("z") * 0.9).exp()).clip(5e6, 8e9)
    inv_fen = ((inv_yuan / 1e4).round() * WAN).cast(pl.Int64)
    products = pl.Series([_SECTOR_PARAMS[s]["product"] for s in SECTORS])
    p = p.with_columns(
        project_type=pl.when(pl.col("u_type") < 0.4).then(pl.lit("新建")).otherwise(pl.lit("技术改造")),
        total_investment_fen=pl.when(pl.col("u_edge") < 0.02).then(pl.lit(50_000 * WAN))
        .when(pl.col("u_edge") < 0.04).then(pl.lit(20_000 * WAN)).otherwise(inv_fen),
        seq=pl.int_range(0, m),
        product=products.gather(p["sector_idx"]),
    ).with_columns(
        project_id=pl.concat_str([pl.col("registered_on").dt.year().cast(pl.String), pl.lit("-"), "county_code",
                                  pl.lit("-"), pl.col("industry_code").str.slice(0, 2), pl.lit("-03-"),
                                  pl.col("seq").cast(pl.String).str.zfill(6)]),
        name=pl.concat_str(["brand", pl.lit("年产"), pl.col("qty").cast(pl.String), "product",
                            pl.when(pl.col("project_type") == "新建").then(pl.lit("新建项目"))
                            .otherwise(pl.lit("技术改造项目"))]),
    )
    projects = p.select(list(SCHEMAS["projects"]))
    # quarterly investment: spread over `dur` quarters with random weights, total × completion
    q = p.select("project_id", "total_investment_fen", "done", "dur", "tq").with_columns(
        k=pl.int_ranges(0, pl.col("dur"))).explode("k")
    q = q.with_columns(wt=0.3 + rng.uniform(q.height) * 0.7).with_columns(
        share=pl.col("wt") / pl.col("wt").sum().over("project_id"), t=pl.col("tq") + pl.col("k"))
    q = q.filter(pl.col("t") < N_Q).with_columns(
        invest_fen=(pl.col("total_investment_fen") * pl.col("done") * pl.col("share")).round().cast(pl.Int64),
        period=_pick(pl.col("t"), PERIODS))
    inv = q.select("project_id", "period", "invest_fen")
    return projects, inv


def _events(rng: _Rng, ent: pl.DataFrame) -> pl.DataFrame:
    n = ent.height
    base = ent.select("credit_code", "t0", "t1", "exporter")
    parts = []
    for y in (2023, 2024, 2025, 2026):
        end = date(y, 12, 31) if y < 2026 else LAST_DAY
        for kind, prob in (("promo_event", 0.08), ("large_expo", 0.10), ("intl_certification", 0.02),
                           ("liquidity_loan", 0.05), ("hire", 0.04)):
            u = rng.uniform(n)
            z1, z2 = rng.normal(n), rng.normal(n)
            u2, u3 = rng.uniform(n), rng.uniform(n)
            f = base.with_columns(u=u, z1=z1, z2=z2, u2=u2, u3=u3,
                                  date=_date_between(rng, date(y, 1, 1), end, n))
            p = prob * 2.5 if kind == "intl_certification" else prob
            f = f.filter(pl.when(pl.col("exporter")).then(pl.col("u") < p).otherwise(
                pl.col("u") < (prob * 0.5 if kind == "intl_certification" else prob)))
            yuan = lambda median, sd, lo, hi: ((pl.lit(median) * (pl.col("z1") * sd).exp()).clip(lo, hi) * 100).round().cast(pl.Int64)  # noqa: E731
            if kind == "promo_event":
                cost = pl.when(pl.col("u2") < 0.05).then(None).otherwise(yuan(2.5e5, 0.8, 2e4, 3e6))
                amount = pl.lit(None, dtype=pl.Int64)
                detail = _pick((pl.col("u3") * 3).cast(pl.Int64).clip(0, 2), ["新品发布会", "产品订货会", "经销商大会"])
            elif kind == "large_expo":
                cost = pl.when(pl.col("u2") < 0.03).then(None).otherwise(yuan(6e4, 0.9, 5e3, 1e6))
                amount = pl.when(pl.col("u2") > 0.8).then(None).otherwise(
                    ((pl.lit(4e4) * (pl.col("z2") * 0.8).exp()).clip(5e3, 8e5) * 100).round().cast(pl.Int64))
                detail = _pick((pl.col("u3") * len(EXPOS)).cast(pl.Int64).clip(0, len(EXPOS) - 1), list(EXPOS))
            elif kind == "intl_certification":
                cost = pl.when(pl.col("u2") < 0.05).then(None).otherwise(yuan(1.5e5, 0.7, 1e4, 1.5e6))
                amount = pl.lit(None, dtype=pl.Int64)
                detail = _pick((pl.col("u3") * 4).cast(pl.Int64).clip(0, 3), ["CE认证", "UL认证", "CB认证", "FCC认证"])
            elif kind == "liquidity_loan":
                cost = pl.lit(None, dtype=pl.Int64)
                amount = (((pl.lit(500.0) * (pl.col("z1") * 0.9).exp()).clip(50, 10000)).round() * WAN).cast(pl.Int64)
                detail = pl.lit("桂惠贷·工业流动资金贷，期限12个月")
            else:
                cost = pl.lit(None, dtype=pl.Int64)
                amount = ((pl.col("u2") ** 2 * 195 + 5).round() * 100).cast(pl.Int64)
                detail = pl.lit("新招用员工（签订劳动合同并缴纳社保）")
            f = f.with_columns(tq=_quarter_of_days(pl.col("date").cast(pl.Int32))).filter(
                (pl.col("tq") >= pl.col("t0")) & (pl.col("tq") < pl.col("t1")))
            parts.append(f.select("credit_code", pl.lit(kind).alias("kind"), "date", cost.cast(pl.Int64).alias("cost_fen"),
                                  amount.cast(pl.Int64).alias("amount_fen"), detail.cast(pl.String).alias("detail")))
    ev = pl.concat(parts).sort(["date", "credit_code", "kind"])
    ev = ev.with_columns(event_id=pl.concat_str([pl.lit("EV"), pl.int_range(1, ev.height + 1).cast(pl.String).str.zfill(8)]))
    return ev.select(list(SCHEMAS["events"]))


def _county_targets(rng: _Rng, truth_county: pl.DataFrame, projects: pl.DataFrame,
                    inv: pl.DataFrame) -> pl.DataFrame:
    lz = [c.code for c in regions.counties_of(regions.LIUZHOU)]
    tq = [PERIODS.index(p) for p in ("2026Q1", "2026Q2", "2026Q3")]
    grid = pl.DataFrame({"county_code": [c for c in lz for _ in tq], "t": [t for _ in lz for t in tq]},
                        schema={"county_code": pl.String, "t": pl.Int64})
    out = truth_county.group_by("county_code", "t").agg(pl.col("output").sum())
    pi = inv.join(projects.select("project_id", "county_code"), on="project_id").with_columns(
        t=pl.col("period").replace_strict(PERIODS, list(range(N_Q)), return_dtype=pl.Int64)
    ).group_by("county_code", "t").agg(pl.col("invest_fen").sum())
    g = grid.join(out, on=["county_code", "t"], how="left").join(
        out.with_columns(t=pl.col("t") + 4).rename({"output": "out_ly"}), on=["county_code", "t"], how="left").join(
        pi, on=["county_code", "t"], how="left").join(
        pi.with_columns(t=pl.col("t") + 4).rename({"invest_fen": "inv_ly"}), on=["county_code", "t"], how="left")
    m = g.height
    g = g.with_columns(ug=rng.uniform(m), ui=rng.uniform(m))
    wan_round = lambda e: ((e / WAN).round() * WAN).cast(pl.Int64)  # noqa: E731
    return g.sort("county_code", "t").select(
        "county_code", _pick(pl.col("t"), PERIODS).alias("period"),
        wan_round(pl.max_horizontal(pl.col("inv_ly").fill_null(0), pl.lit(5000 * WAN)) * (1.05 + pl.col("ui") * 0.1))
        .alias("invest_target_fen"),
        pl.col("invest_fen").fill_null(0).cast(pl.Int64).alias("invest_done_fen"),
        wan_round(pl.col("out_ly").fill_null(0) * (1.06 + pl.col("ug") * 0.06)).alias("output_target_fen"),
        pl.col("output").fill_null(0).cast(pl.Int64).alias("output_done_fen"),
    )


# ----------------------------------------------------------------------------------------------- public API

def generate(n_enterprises: int = 10_000, seed: int = 2024, liuzhou_share: float = 0.13,
             below_scale_share: float = 0.15, chunk_size: int = 100_000,
             indicator_sink=None) -> dict[str, pl.DataFrame]:
    """All tables of docs/data-model.md for `n_enterprises` 规上 industrial enterprises (plus
    `below_scale_share` × n near-threshold 规下 ones), deterministic from `seed` (and `chunk_size`).

    `indicator_sink`, if given, receives the `indicators` table chunk by chunk (a callable taking a frame) and
    the returned `indicators` frame is empty — this bounds memory for very large n (see `write_synthetic`)."""
    if n_enterprises < 1:
        raise ValueError("n_enterprises must be ≥ 1")
    rng = _Rng(seed)
    n_below = int(round(n_enterprises * below_scale_share))
    ent = _enterprise_params(rng, n_enterprises, n_below, liuzhou_share)

    ind_parts, truth_parts, annual_parts = [], [], []
    lz_codes = [c.code for c in regions.counties_of(regions.LIUZHOU)]
    for start in range(0, ent.height, chunk_size):
        chunk = ent.slice(start, chunk_size)
        long, truth = _panel_chunk(_Rng(rng.seed()), chunk)
        if indicator_sink is not None:
            indicator_sink(long.select([pl.col(c).cast(t) for c, t in SCHEMAS["indicators"].items()]))
        else:
            ind_parts.append(long)
        annual_parts.append(truth.group_by("i", y=pl.col("t") // 4).agg(
            out=pl.col("output").sum(), rev=pl.col("revenue").sum(), nq=pl.len().cast(pl.Int64)))
        truth_parts.append(truth.filter(pl.col("county_code").is_in(lz_codes) & (pl.col("t") >= 12))
                           .select("county_code", "t", "output"))
        del long, truth
    indicators = (pl.concat(ind_parts, rechunk=False) if ind_parts
                  else pl.DataFrame(schema=SCHEMAS["indicators"]))
    annual = pl.concat(annual_parts).with_columns(pl.col("y").cast(pl.Int64))
    truth_county = pl.concat(truth_parts)

    scale = _scale_status(ent, annual)
    desig = _designations(rng, ent, annual)
    credit = _credit_records(rng, ent)
    projects, inv = _projects(rng, ent)
    events = _events(rng, ent)
    targets = _county_targets(rng, truth_county, projects, inv)
    enterprises = ent.select("credit_code", "name", "county_code", "industry_code", "sector",
                             pl.col("established").cast(pl.Date), "is_state_owned")
    tables = {
        "counties": _counties_frame(), "enterprises": enterprises, "scale_status": scale, "designations": desig,
        "credit_records": credit, "indicators": indicators, "projects": projects, "project_investment": inv,
        "events": events, "county_targets": targets,
    }
    return {name: tables[name].select([pl.col(c).cast(t) for c, t in SCHEMAS[name].items()]) for name in TABLES}


def write_parquet(tables: dict[str, pl.DataFrame], directory: str | Path) -> None:
    """Write each table to `<directory>/<table>.parquet`."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_parquet(d / f"{name}.parquet", compression="zstd", statistics=True)


def read_parquet(directory: str | Path) -> dict[str, pl.DataFrame]:
    """Read every `<table>.parquet` of the data model present in `directory`, cast to the contract's dtypes."""
    d = Path(directory)
    out = {}
    for name in TABLES:
        p = d / f"{name}.parquet"
        if p.exists():
            f = pl.read_parquet(p)
            out[name] = f.select([pl.col(c).cast(t) for c, t in SCHEMAS[name].items()])
    return out


def write_synthetic(directory: str | Path, n_enterprises: int = 10_000, seed: int = 2024,
                    **kwargs) -> dict[str, int]:
    """generate(…) straight to `<directory>/<table>.parquet`, streaming the indicators chunk by chunk
    (memory bounded by one chunk plus the small tables). Returns the row count of each table."""
    import pyarrow.parquet as pq

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state: dict = {"writer": None, "rows": 0}

    def sink(frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if state["writer"] is None:
            state["writer"] = pq.ParquetWriter(d / "indicators.parquet", table.schema, compression="zstd")
        state["writer"].write_table(table)
        state["rows"] += frame.height

    try:
        tables = generate(n_enterprises, seed, indicator_sink=sink, **kwargs)
    finally:
        if state["writer"] is not None:
            state["writer"].close()
    if state["writer"] is None:
        tables["indicators"].write_parquet(d / "indicators.parquet")
    rest = {k: v for k, v in tables.items() if k != "indicators"}
    write_parquet(rest, d)
    counts = {k: v.height for k, v in rest.items()}
    counts["indicators"] = state["rows"]
    return counts


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - convenience CLI
    import argparse

    ap = argparse.ArgumentParser(description="Generate the synthetic Guangxi enterprise tables as Parquet.")
    ap.add_argument("directory")
    ap.add_argument("-n", "--enterprises", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--liuzhou-share", type=float, default=0.13)
    a = ap.parse_args(argv)
    counts = write_synthetic(a.directory, a.enterprises, a.seed, liuzhou_share=a.liuzhou_share)
    print(counts)


if __name__ == "__main__":  # pragma: no cover
    main()
