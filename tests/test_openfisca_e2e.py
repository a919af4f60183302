"""The end-to-end openfisca-core benchmark (benchmarks/bench_openfisca_e2e.py) runs and its amounts agree.

Skipped when openfisca_core is not installed (it is only in the optional ``bench``/``test`` extras).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("openfisca_core")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_openfisca_e2e as e2e  # noqa: E402
import openfisca_peer as peer  # noqa: E402
import polars as pl  # noqa: E402

WAN = peer.WAN


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from huiqi.data.panel import write_panel
    from huiqi.data.synthetic import write_synthetic

    directory = tmp_path_factory.mktemp("e2e")
    write_synthetic(directory, 3_000)
    write_panel(directory)
    return directory


def test_end_to_end_script_runs_and_amounts_agree(tiny_data):
    proc = subprocess.run([sys.executable, str(BENCH / "bench_openfisca_e2e.py"), "--data", str(tiny_data)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "identical in both" in proc.stdout and "| yes" in proc.stdout
    assert "DIFFER" not in proc.stdout


def test_peer_pays_something_on_the_tiny_data(tiny_data, tmp_path):
    # identical amounts must not be identical emptiness
    figures = e2e.run_peer(tiny_data, tmp_path / "awards.parquet")
    awards = pl.read_parquet(tmp_path / "awards.parquet")
    assert figures["awards"] == awards.height > 0
    assert set(awards["measure_id"]) == set(e2e.MEASURES)


def test_compare_reports_a_one_fen_difference_and_a_missing_award():
    huiqi = pl.DataFrame({"credit_code": ["A", "B"], "measure_id": ["gx2024q4-21", "gx2024q4-22b"],
                          "huiqi_fen": [12_345, 500]})
    same = pl.DataFrame({"credit_code": ["A", "B"], "measure_id": ["gx2024q4-21", "gx2024q4-22b"],
                         "amount_fen": [12_345, 500]})
    assert e2e.compare(huiqi, same) == []
    off = same.with_columns(pl.Series("amount_fen", [12_344, 500]))
    assert [d.split(":")[0] for d in e2e.compare(huiqi, off)] == ["gx2024q4-21"]
    assert [d.split(":")[0] for d in e2e.compare(huiqi, same.head(1))] == ["gx2024q4-22b"]


def test_peer_pays_the_002_measures_to_industrial_enterprises_only():
    from openfisca_core.simulations import SimulationBuilder

    tbs = peer.build_tax_benefit_system(industrial_input=True)
    sim = SimulationBuilder().build_default_simulation(tbs, count=2)
    inputs = {"is_industrial": np.array([True, False]), "output_q": np.array([1000 * WAN] * 2),
              "output_q_ly": np.array([500 * WAN] * 2), "promo_event_held_q": np.array([True] * 2),
              "promo_event_cost_q": np.array([10 * WAN] * 2), "large_expo_attended_q": np.array([True] * 2),
              "expo_booth_fee_q": np.array([2 * WAN] * 2), "new_market_export_q": np.array([200 * WAN] * 2)}
    for name, values in inputs.items():
        sim.set_input(name, "2024", values)
    got = {m: sim.calculate(peer.variable_name(m), "2024").tolist() for m in e2e.MEASURES}
    assert got == {"gx2024q4-21": [5 * WAN, 0], "gx2024q4-22a": [WAN, 0], "gx2024q4-22b": [2 * WAN, 0]}
