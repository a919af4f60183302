"""The openfisca-core benchmark peer computes exactly huiqi's amounts (benchmarks/openfisca_peer.py).

Skipped when openfisca_core is not installed (it is only in the optional ``bench`` extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("openfisca_core")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_openfisca as bench  # noqa: E402
import openfisca_peer as peer  # noqa: E402

WAN, YI = peer.WAN, peer.YI


@pytest.fixture(scope="module")
def tbs():
    return peer.build_tax_benefit_system()


def both(ruleset, tbs, period, inputs):
    n = len(next(iter(inputs.values())))
    h, _ = bench.run_huiqi(ruleset, period, inputs, n)
    o = bench.run_openfisca(tbs, period, inputs, n)
    return h, o


def test_synthetic_population_identical(ruleset, tbs):
    n = 20_000
    data, _ = bench.generate(n, seed=11)
    h = {p: bench.run_huiqi(ruleset, p, data[p], n)[0] for p in peer.PERIODS}
    o = {p: bench.run_openfisca(tbs, p, data[p], n) for p in peer.PERIODS}
    assert bench.compare(h, o) == []
    # the data actually exercises every measure
    for m in peer.FORMULAS:
        assert sum(int((h[p][m] > 0).sum()) for p in peer.PERIODS if m in peer.PERIODS[p]) > 0, m


def _flags(n, **on):
    names = ["is_top500_output", "is_manufacturing", "is_gx_leading_enterprise", "is_little_giant",
             "is_single_champion", "is_new_in_statistics", "gx2023_covid900_benefit"]
    return {f: np.array(on.get(f, [False] * n), dtype=bool) for f in names}


def test_boundaries_2023(ruleset, tbs):
    # gx2023-01 (2023M02): 小巨人, 超过2000万 strict; growth ≥ 12% inclusive; cap 100万元; 900号 excludes
    ly = np.array([2500 * WAN, 2500 * WAN, 1785 * WAN, 20000 * WAN, 2500 * WAN, 2500 * WAN], dtype=np.int64)
    ytd = np.array([2800 * WAN, 2800 * WAN - 1, 2000 * WAN, 40000 * WAN, 2800 * WAN + 99, 2800 * WAN], dtype=np.int64)
    n = len(ly)
    flags = _flags(n, is_little_giant=[True] * n, gx2023_covid900_benefit=[False] * 5 + [True])
    inputs = {f: flags[f] for f in peer.inputs_for("2023M02") if f in flags}
    inputs.update(output_ytd=ytd, output_ytd_ly=ly)
    h, o = both(ruleset, tbs, "2023M02", inputs)
    expected = [300 * WAN // 100, 0, 0, 100 * WAN, (300 * WAN + 99) // 100, 0]
    assert h["gx2023-01"].tolist() == expected
    assert o["gx2023-01"].astype(np.int64).tolist() == expected

    # gx2023-02 / -03 (2023Q1): 超过2亿 strict for top-500 manufacturers; 新建入规 超过3000万 strict
    q = np.array([2 * YI, 2 * YI + 100, 3000 * WAN, 3000 * WAN + 1], dtype=np.int64)
    q_ly = np.array([YI, YI, 0, 0], dtype=np.int64)
    n = len(q)
    flags = _flags(n, is_top500_output=[True, True, False, False], is_manufacturing=[True] * n,
                   is_new_in_statistics=[False, False, True, True])
    inputs = {f: flags[f] for f in peer.inputs_for("2023Q1") if f in flags}
    inputs.update(output_q=q, output_q_ly=q_ly, output_ytd=q, output_ytd_ly=q_ly)
    h, o = both(ruleset, tbs, "2023Q1", inputs)
    assert h["gx2023-02"].tolist() == [0, (YI + 100) // 100, 0, 0]
    assert h["gx2023-03"].tolist() == [0, 0, 0, (3000 * WAN + 1) // 100]
    for m in ("gx2023-02", "gx2023-03"):
        assert o[m].astype(np.int64).tolist() == h[m].tolist()


def test_boundaries_2024q4(ruleset, tbs):
    # 500万（含）, growth 10%（含）, 50% of an odd cost floors to 分, caps 30万 / 5万 / 50万, export 100万（含）
    q = np.array([500 * WAN, 500 * WAN - 1, 1100 * WAN, 1100 * WAN - 1, 900 * WAN], dtype=np.int64)
    q_ly = np.array([400 * WAN, 400 * WAN, 1000 * WAN, 1000 * WAN, 0], dtype=np.int64)
    inputs = {
        "output_q": q, "output_q_ly": q_ly,
        "promo_event_held_q": np.array([True] * 5),
        "promo_event_cost_q": np.array([12_345, 12_345, 80 * WAN, 12_345, 12_345], dtype=np.int64),
        "large_expo_attended_q": np.array([True] * 5),
        "expo_booth_fee_q": np.array([7, 7, 20 * WAN, 3, 0], dtype=np.int64),
        "new_market_export_q": np.array([100 * WAN, 100 * WAN, 10000 * WAN, 100 * WAN - 1, 100 * WAN],
                                        dtype=np.int64),
    }
    h, o = both(ruleset, tbs, "2024Q4", inputs)
    assert h["gx2024q4-21"].tolist() == [6172, 0, 30 * WAN, 0, 0]
    assert h["gx2024q4-22a"].tolist() == [3, 0, 5 * WAN, 1, 0]
    assert h["gx2024q4-22b"].tolist() == [WAN, 0, 50 * WAN, 0, WAN]
    for m in peer.PERIODS["2024Q4"]:
        assert o[m].astype(np.int64).tolist() == h[m].tolist()
