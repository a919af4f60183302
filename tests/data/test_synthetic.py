import polars as pl
import pytest

from huiqi.core import regions
from huiqi.data.credit_code import is_valid, org_code_valid
from huiqi.data.synthetic import (INDICATORS, PERIODS, SCHEMAS, TABLES, WAN, generate, read_parquet,
                                  write_parquet, write_synthetic)

N = 2000


@pytest.fixture(scope="module")
def tables():
    return generate(N, seed=11)


def test_deterministic(tables):
    again = generate(N, seed=11)
    for name in TABLES:
        assert tables[name].equals(again[name]), name
    other = generate(N, seed=12)
    assert not tables["enterprises"].equals(other["enterprises"])
    assert not tables["indicators"].equals(other["indicators"])


def test_schemas_exact(tables):
    assert set(tables) == set(SCHEMAS)
    for name, frame in tables.items():
        assert dict(frame.schema) == SCHEMAS[name], name
        assert frame.height > 0, name


def test_keys_unique(tables):
    keys = {"counties": ["county_code"], "enterprises": ["credit_code"], "scale_status": ["credit_code", "year"],
            "designations": ["credit_code", "designation", "start"], "credit_records": ["credit_code", "kind", "date"],
            "indicators": ["credit_code", "period", "indicator"], "projects": ["project_id"],
            "project_investment": ["project_id", "period"], "events": ["event_id"],
            "county_targets": ["county_code", "period"]}
    for name, key in keys.items():
        f = tables[name]
        assert f.select(key).is_duplicated().sum() == 0, name


def test_enterprises(tables):
    e = tables["enterprises"]
    assert e.height == N + round(N * 0.15)
    codes = e["credit_code"].to_list()
    assert all(is_valid(c) and org_code_valid(c) for c in codes)
    assert e["name"].n_unique() == e.height
    assert all(n.endswith("有限公司") for n in e["name"].to_list())
    assert set(e["county_code"]) <= set(regions.COUNTY_BY_CODE)
    assert (e["credit_code"].str.slice(2, 6) == e["county_code"]).all()  # area = the county
    assert set(e["sector"]) <= set(regions.SECTORS) and e["sector"].n_unique() == len(regions.SECTORS)
    assert all(regions.sector_of(c) == s for c, s in e.select("industry_code", "sector").iter_rows())
    assert all(regions.is_industrial(c) for c in e["industry_code"].to_list())
    lz = e["county_code"].is_in([c.code for c in regions.counties_of("柳州市")]).mean()
    assert 0.10 < lz < 0.16
    # every table refers to known enterprises / counties
    known = set(codes)
    for name in ("scale_status", "designations", "credit_records", "indicators", "projects", "events"):
        assert set(tables[name]["credit_code"].unique()) <= known, name
    assert set(tables["projects"]["county_code"]) <= set(regions.COUNTY_BY_CODE)


def test_quarterly_coverage_and_indicators(tables):
    ind = tables["indicators"]
    assert sorted(ind["period"].unique()) == sorted(PERIODS)
    assert PERIODS[0] == "2022Q1" and PERIODS[-1] == "2026Q3"
    assert set(ind["indicator"].unique()) == set(INDICATORS)
    out = ind.filter(pl.col("indicator") == "output")
    per_ent = out.group_by("credit_code").agg(pl.col("period").min().alias("first"), pl.col("period").max().alias("last"))
    assert (per_ent["first"] > "2022Q1").sum() > 0  # new enterprises entering mid-panel
    assert (per_ent["last"] < "2026Q3").sum() > 0  # exits
    # revenue ≈ output × 0.9–1.05
    w = ind.filter(pl.col("indicator").is_in(["output", "revenue"])).pivot(
        on="indicator", index=["credit_code", "period"], values="value").drop_nulls()
    ratio = (w["revenue"] / w["output"]).median()
    assert 0.9 < ratio < 1.05
    assert (ind.filter(pl.col("indicator") == "profit")["value"] < 0).sum() > 0
    # heavy tail: a few giants
    annual = out.filter(pl.col("period").str.starts_with("2024")).group_by("credit_code").agg(pl.col("value").sum())
    assert annual["value"].max() > 50 * 100 * WAN  # > 50亿元
    assert annual["value"].median() < 2 * 10_000 * WAN  # median < 2亿元


def test_missing_is_absent_or_null_never_zero(tables):
    ind = tables["indicators"]
    assert ind["value"].null_count() > 0
    # absent rows: enterprise-quarters with revenue but no output
    o = ind.filter(pl.col("indicator") == "output").select("credit_code", "period")
    r = ind.filter(pl.col("indicator") == "revenue").select("credit_code", "period")
    assert r.join(o, on=["credit_code", "period"], how="anti").height > 0
    for k in ("output", "revenue", "power", "purchased_power", "employees", "export", "rd_expense"):
        assert (ind.filter(pl.col("indicator") == k)["value"] == 0).sum() == 0, k
    ev = tables["events"]
    assert ev.filter(pl.col("kind") == "promo_event")["cost_fen"].null_count() > 0


def test_threshold_edge_cases(tables):
    out = tables["indicators"].filter(pl.col("indicator") == "output")
    thresholds = [500 * WAN, 1000 * WAN, 2500 * WAN, 5000 * WAN]
    vals = out["value"]
    assert vals.is_in(thresholds).sum() > 0
    assert vals.is_in([t - 1 for t in thresholds] + [t + 1 for t in thresholds]).sum() > 0
    w = out.pivot(on="period", index="credit_code", values="value")
    exact10 = sum(w.filter(pl.col(p) * 10 == pl.col(p_ly) * 11).height
                  for p, p_ly in (("2023Q4", "2022Q4"), ("2024Q4", "2023Q4"), ("2025Q4", "2024Q4"), ("2026Q3", "2025Q3")))
    assert exact10 > 0
    near = w.filter(pl.col("2024Q4").is_between(4500 * WAN, 5500 * WAN)).height
    assert near >= 20
    js = out.filter(pl.col("period").is_in(["2024Q1", "2024Q2", "2024Q3"])).group_by("credit_code").agg(
        pl.col("value").sum(), pl.len())
    js = js.filter(pl.col("len") == 3)
    assert js.filter(pl.col("value").is_between(1300 * WAN, 1700 * WAN)).height >= 20


def test_scale_status_consistent_with_revenue(tables):
    ss = tables["scale_status"]
    assert set(ss["year"].unique()) == {2022, 2023, 2024, 2025, 2026}
    rev = tables["indicators"].filter(pl.col("indicator") == "revenue").with_columns(
        year=pl.col("period").str.slice(0, 4).cast(pl.Int32) + 1).group_by("credit_code", "year").agg(
        pl.col("value").sum().alias("rev_prev"), pl.len().alias("n"), pl.col("value").null_count().alias("nulls"))
    j = ss.join(rev, on=["credit_code", "year"], how="inner").filter((pl.col("n") == 4) & (pl.col("nulls") == 0))
    assert j.height > 1000
    assert (j["above_scale"] == (j["rev_prev"] >= 2000 * WAN)).all()
    # 规上 rows have an 入库 date; 规下 (near-threshold) ones exist, some become 规上 (小升规)
    assert ss.filter(pl.col("above_scale"))["entered_scale_on"].null_count() == 0
    assert ss.filter(~pl.col("above_scale"))["entered_scale_on"].null_count() == ss.filter(~pl.col("above_scale")).height
    assert ss.filter((pl.col("entered_scale_on") == pl.date(pl.col("year"), 1, 1)) & (pl.col("year") > 2022)).height > 0


def test_designations(tables):
    d = tables["designations"]
    n = tables["enterprises"].height
    counts = dict(d.group_by("designation").agg(pl.col("credit_code").n_unique()).iter_rows())
    assert set(counts) == {"top500_output", "gx_leading", "little_giant", "single_champion", "specialized_sme",
                           "high_tech", "chain_leader", "two_high", "independent_metering"}
    assert 0.85 < counts["independent_metering"] / n < 0.95
    assert 0.10 < counts["high_tech"] / n < 0.20
    assert d.filter(pl.col("designation") == "top500_output").group_by("start").len()["len"].to_list() == [500] * 4
    assert (d.filter(pl.col("end").is_not_null()).select((pl.col("end") >= pl.col("start")).all()).item())


def test_projects_events_targets(tables):
    p, inv = tables["projects"], tables["project_investment"]
    assert 0.2 < p.height / tables["enterprises"].height < 0.4
    assert set(p["project_type"]) == {"新建", "技术改造"}
    assert set(inv["project_id"]) <= set(p["project_id"])
    assert set(inv["period"]) <= set(PERIODS)
    assert p["registered_on"].min().year == 2022 and p["registered_on"].max().year == 2026
    ev = tables["events"]
    assert set(ev["kind"]) == {"promo_event", "large_expo", "intl_certification", "liquidity_loan", "hire"}
    assert ev["date"].min().year == 2023
    ct = tables["county_targets"]
    assert ct.height == 30 and set(ct["period"]) == {"2026Q1", "2026Q2", "2026Q3"}
    assert set(ct["county_code"]) == {c.code for c in regions.counties_of("柳州市")}
    assert (ct["output_target_fen"] > 0).all()


def test_parquet_round_trip(tables, tmp_path):
    write_parquet(tables, tmp_path / "a")
    back = read_parquet(tmp_path / "a")
    for name in TABLES:
        assert back[name].equals(tables[name]), name
    counts = write_synthetic(tmp_path / "b", 300, seed=3)
    streamed = read_parquet(tmp_path / "b")
    ref = generate(300, seed=3)
    assert counts["indicators"] == ref["indicators"].height
    for name in TABLES:
        assert streamed[name].equals(ref[name]), name


def test_schemas_match_shared_columns_module():
    columns = pytest.importorskip("huiqi.data.columns")
    t = columns.TABLES
    for name, table in (t.items() if isinstance(t, dict) else [(x.name, x) for x in t]):
        assert {c.name: c.dtype for c in table.columns} == SCHEMAS[name], name


def test_regions():
    assert len(regions.CITIES) == 14 and len(regions.COUNTIES) == 111
    lz = {c.code: c.name for c in regions.counties_of("柳州市")}
    assert lz == {"450202": "城中区", "450203": "鱼峰区", "450204": "柳南区", "450205": "柳北区", "450206": "柳江区",
                  "450222": "柳城县", "450223": "鹿寨县", "450224": "融安县", "450225": "融水苗族自治县",
                  "450226": "三江侗族自治县"}
    for city, (code, _, cs) in regions.CITIES.items():
        assert all(c[0][:4] == code[:4] for c in cs), city
    assert regions.sector_of("3670") == "汽车" and regions.sector_of("1340") == "制糖"
    assert regions.sector_of("1311") == "食品" and regions.sector_of("3899") == "其他"
    assert regions.is_manufacturing("1340") and not regions.is_manufacturing("4411")
    assert regions.is_industrial("0916") and regions.is_industrial("4610") and not regions.is_industrial("5110")
