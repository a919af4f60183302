"""The floor: the least a program can do to pay 2024Q4's four paying measures, in plain Polars.

The same columns (the indicator panel's output and new-market exports, the events table), the same arithmetic
in integer 分 with the same floors and caps as the rule files say (gx2024q4-21, -22a, -22b, -23), and nothing
else: no rule files, no three-valued statuses, no other measures, no explanations, no award-list files. What
`huiqi screen` spends above this is the price of being general (every measure, every status, every reason).

Run: .venv/bin/python benchmarks/floor_screen.py DATA_DIR   → one JSON line: seconds and paid rows/total per measure
     … DATA_DIR --excel OUT.xlsx   also writes the paid rows (code, name, county code, measure, 元) with Polars'
     own ``write_excel``: the least a script can do to hand an officer a workbook, for context beside the floor
     (bench_cli_screen.py prints both; the issue's target is against the floor without it)
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import polars as pl

WAN = 10_000 * 100  # 1万元 in 分


def floor(directory: Path, excel: Path | None = None) -> dict:
    q, q_ly, start, end = "2024Q4", "2023Q4", pl.date(2024, 10, 1), pl.date(2024, 12, 31)
    panel = pl.scan_parquet(directory / "indicator_panel.parquet")
    this = panel.filter(pl.col("period") == q).select("credit_code", pl.col("output").alias("output_q"),
                                                      pl.col("new_market_export").alias("nme_q"))
    last = panel.filter(pl.col("period") == q_ly).select("credit_code", pl.col("output").alias("output_q_ly"))
    events = pl.scan_parquet(directory / "events.parquet").filter(pl.col("date").is_between(start, end))

    def cost(kind: str, name: str) -> pl.LazyFrame:  # a cost is unknown if any of the quarter's costs is
        return events.filter(pl.col("kind") == kind).group_by("credit_code").agg(
            pl.when(pl.col("cost_fen").is_null().any()).then(None).otherwise(pl.col("cost_fen").sum()).alias(name))

    loans = events.filter(pl.col("kind") == "liquidity_loan").group_by("credit_code").agg(
        pl.col("amount_fen").sum().alias("principal"))
    facts = (pl.scan_parquet(directory / "enterprises.parquet").select("credit_code")
             .join(this, on="credit_code", how="left").join(last, on="credit_code", how="left")
             .join(cost("promo_event", "promo_cost"), on="credit_code", how="left")
             .join(cost("large_expo", "booth_fee"), on="credit_code", how="left")
             .join(loans, on="credit_code", how="left"))
    def capped(x: pl.Expr, cap: int) -> pl.Expr:  # null stays null (min_horizontal would skip it)
        return pl.when(x > cap).then(cap).otherwise(x)

    big = pl.col("output_q") >= 500 * WAN
    growth = (pl.col("output_q_ly") > 0) & (pl.col("output_q") * 10 >= pl.col("output_q_ly") * 11)
    awards = facts.select(
        "credit_code",
        # 第21条: 50% of the promotion cost, ≤ 30万; 500万 output and 10% growth
        pl.when(big & growth).then(capped(pl.col("promo_cost") // 2, 30 * WAN)).alias("gx2024q4-21"),
        # 第22条: 50% of the booth fee, ≤ 5万; 1% of new-market exports of 100万 or more, ≤ 50万
        pl.when(big).then(capped(pl.col("booth_fee") // 2, 5 * WAN)).alias("gx2024q4-22a"),
        pl.when(big & (pl.col("nme_q") >= 100 * WAN)).then(capped(pl.col("nme_q") // 100, 50 * WAN))
        .alias("gx2024q4-22b"),
        # 第23条: 2% a year on loans drawn in the quarter, one year, ≤ 150万
        capped(pl.col("principal") * 2 // 100, 150 * WAN).alias("gx2024q4-23"),
    ).unpivot(index="credit_code", variable_name="measure_id", value_name="final_fen") \
        .filter(pl.col("final_fen") > 0).collect()
    if excel is not None:
        named = awards.join(pl.read_parquet(directory / "enterprises.parquet",
                                            columns=["credit_code", "name", "county_code"]), on="credit_code", how="left")
        named.select(pl.col("credit_code").alias("统一社会信用代码"), pl.col("name").alias("企业名称"),
                     pl.col("county_code").alias("县区代码"), pl.col("measure_id").alias("政策措施"),
                     (pl.col("final_fen") / 100).alias("金额（元）")  # Excel's numbers are doubles
                     ).write_excel(excel, worksheet="拟兑现名单", column_formats={"金额（元）": "#,##0.00"})
    return {m: {"rows": r, "total_fen": t} for m, r, t in awards.group_by("measure_id").agg(
        pl.len(), pl.col("final_fen").sum()).sort("measure_id").iter_rows()}


def main() -> None:
    directory = Path(sys.argv[1])
    excel = Path(sys.argv[3]) if sys.argv[2:3] == ["--excel"] else None
    t = time.perf_counter()
    paid = floor(directory, excel)
    print(json.dumps({"seconds": round(time.perf_counter() - t, 3), "paid": paid,
                      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}))


if __name__ == "__main__":
    main()
