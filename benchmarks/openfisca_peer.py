"""A benchmark peer: six huiqi measures written by hand as openfisca-core variables.

Measures (semantics read from huiqi/rules/files/gx2023.yaml and gx2024q4.yaml, rates at their default 1%):
  gx2023-01    (evaluated for 2023M02)       春节抢抓生产 1—2月产值增量奖励, cap 100万元
  gx2023-02    (2023Q1..2023Q4, each)        增产增效 当季产值增量奖励, 500万元 (annual cap used as single-quarter cap)
  gx2023-03    (2023Q1..2023Q4, each)        新建入规企业无基数产值奖励, 500万元
  gx2024q4-21  (2024Q4)                      促销活动费用 50%, cap 30万元
  gx2024q4-22a (2024Q4)                      大型展会展位费 50%, cap 5万元
  gx2024q4-22b (2024Q4)                      新开拓境外市场出口额 1%, cap 50万元

Modelling choices (see docs/benchmarks.md, "huiqi vs openfisca-core"):
  * one single (person-like) entity ``enterprise`` built with ``build_entity(..., is_person=True)``;
  * every variable has ``definition_period = YEAR``: one simulation per evaluation period (2023M02,
    2023Q1 … 2023Q4, 2024Q4), exactly as huiqi evaluates each period on its own frame; inputs are set and
    amounts calculated for that period's calendar year ("2023" or "2024"). (ETERNITY was tried first:
    openfisca-core 46 cannot look up a formula for the eternity period — Variable.get_formula fails on its
    instant — so ETERNITY works for inputs only.) The quarter/month the facts belong to is thus not visible
    to OpenFisca; it is carried by which simulation the facts are fed to;
  * money is an integer number of 分 held in a **float64** array. Stock openfisca-core stores ``value_type =
    float`` as float32 (exact only up to 2**24 分 = 167,772.16 元), so the money variables override the
    instance's ``dtype`` to float64 (exact for integers up to 2**53). ``money_dtype=numpy.float32`` builds the
    stock behaviour, for comparison;
  * exact integer-valued arithmetic only: ``x * 1%`` is ``x // 100``, ``x * 50%`` is ``x // 2`` (floor, as huiqi);
    ``growth(a, b) >= 12%`` is ``b > 0 and a * 100 >= b * 112``; caps are ``numpy.minimum``;
  * an amount is paid only when every condition holds and the capped amount is > 0 (huiqi: amount ≤ 0 ⇒ 不符合).
    Each formula returns the amount in 分, 0 where not paid (huiqi's null amount compares as 0).
  * OpenFisca has no "unknown" value: an input that is not set is 0 / False. huiqi reports 待补充信息 instead.
"""

from __future__ import annotations

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.periods import DateUnit
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

FEN = 100                 # 1 元 = 100 分
WAN = 10_000 * FEN        # 1 万元 in 分
YI = 100_000_000 * FEN    # 1 亿元 in 分

PERIODS: dict[str, list[str]] = {
    "2023M02": ["gx2023-01"],
    "2023Q1": ["gx2023-02", "gx2023-03"],
    "2023Q2": ["gx2023-02", "gx2023-03"],
    "2023Q3": ["gx2023-02", "gx2023-03"],
    "2023Q4": ["gx2023-02", "gx2023-03"],
    "2024Q4": ["gx2024q4-21", "gx2024q4-22a", "gx2024q4-22b"],
}

MONEY_INPUTS = ["output_q", "output_q_ly", "output_ytd", "output_ytd_ly",
                "promo_event_cost_q", "expo_booth_fee_q", "new_market_export_q"]
BOOL_INPUTS = ["is_top500_output", "is_manufacturing", "is_gx_leading_enterprise", "is_little_giant",
               "is_single_champion", "is_new_in_statistics", "gx2023_covid900_benefit",
               "promo_event_held_q", "large_expo_attended_q"]

# the fields each measure reads (as in the rule files)
MEASURE_INPUTS: dict[str, list[str]] = {
    "gx2023-01": ["is_top500_output", "is_manufacturing", "is_gx_leading_enterprise", "is_little_giant",
                  "is_single_champion", "output_ytd", "output_ytd_ly", "gx2023_covid900_benefit"],
    "gx2023-02": ["is_top500_output", "is_manufacturing", "is_gx_leading_enterprise", "is_little_giant",
                  "is_single_champion", "output_q", "output_q_ly", "output_ytd", "output_ytd_ly"],
    "gx2023-03": ["is_new_in_statistics", "output_q"],
    "gx2024q4-21": ["promo_event_held_q", "output_q", "output_q_ly", "promo_event_cost_q"],
    "gx2024q4-22a": ["large_expo_attended_q", "output_q", "expo_booth_fee_q"],
    "gx2024q4-22b": ["new_market_export_q", "output_q"],
}


def variable_name(measure_id: str) -> str:
    """OpenFisca variable names are Python identifiers: gx2023-01 → gx2023_01_amount."""
    return measure_id.replace("-", "_") + "_amount"


def inputs_for(period: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in PERIODS[period]:
        seen.update(dict.fromkeys(MEASURE_INPUTS[m]))
    return list(seen)


# -- the formulas (numpy, exact on integer-valued float64) ------------------------------------------------------
def _growth_at_least(this, last, num: int, den: int):
    """growth(this, last) ≥ num/den, without division: last > 0 and this·den ≥ last·(den + num)."""
    return (last > 0) & (this * den >= last * (den + num))


def _paid(eligible, amount):
    """huiqi: 符合 needs every condition and a capped amount > 0; otherwise the amount is null (→ 0 here)."""
    return np.where(eligible & (amount > 0), amount, 0)


def _big_enterprise(e, period):
    """产值排全区前500名企业中的制造业企业、自治区工业和信息化厅认定的工业龙头企业."""
    return (e("is_top500_output", period) & e("is_manufacturing", period)) | e("is_gx_leading_enterprise", period)


def _giant_or_champion(e, period):
    """工业和信息化部认定的专精特新“小巨人”企业及单项冠军企业."""
    return e("is_little_giant", period) | e("is_single_champion", period)


def gx2023_01(e, period):
    ytd, ytd_ly = e("output_ytd", period), e("output_ytd_ly", period)
    category = (_big_enterprise(e, period) & (ytd > 5000 * WAN)) | (_giant_or_champion(e, period) & (ytd > 2000 * WAN))
    eligible = category & _growth_at_least(ytd, ytd_ly, 12, 100) & ~e("gx2023_covid900_benefit", period)
    amount = np.minimum(np.floor_divide(ytd - ytd_ly, 100), 100 * WAN)   # 1% of the increase, ≤ 100万元
    return _paid(eligible, amount)


def gx2023_02(e, period):
    q, q_ly = e("output_q", period), e("output_q_ly", period)
    ytd, ytd_ly = e("output_ytd", period), e("output_ytd_ly", period)
    category = (_big_enterprise(e, period) & (q > 2 * YI)) | (_giant_or_champion(e, period) & (q > 5000 * WAN))
    eligible = category & _growth_at_least(ytd, ytd_ly, 12, 100)
    amount = np.minimum(np.floor_divide(q - q_ly, 100), 500 * WAN)      # 1% of the quarter's increase, ≤ 500万元
    return _paid(eligible, amount)


def gx2023_03(e, period):
    q = e("output_q", period)
    eligible = e("is_new_in_statistics", period) & (q > 3000 * WAN)
    amount = np.minimum(np.floor_divide(q, 100), 500 * WAN)             # 1% of 无基数 output, ≤ 500万元
    return _paid(eligible, amount)


def gx2024q4_21(e, period):
    q, q_ly = e("output_q", period), e("output_q_ly", period)
    eligible = e("promo_event_held_q", period) & (q >= 500 * WAN) & _growth_at_least(q, q_ly, 10, 100)
    amount = np.minimum(np.floor_divide(e("promo_event_cost_q", period), 2), 30 * WAN)   # 50%, ≤ 30万元
    return _paid(eligible, amount)


def gx2024q4_22a(e, period):
    eligible = e("large_expo_attended_q", period) & (e("output_q", period) >= 500 * WAN)
    amount = np.minimum(np.floor_divide(e("expo_booth_fee_q", period), 2), 5 * WAN)      # 50%, ≤ 5万元
    return _paid(eligible, amount)


def gx2024q4_22b(e, period):
    export = e("new_market_export_q", period)
    eligible = (export >= 100 * WAN) & (e("output_q", period) >= 500 * WAN)
    amount = np.minimum(np.floor_divide(export, 100), 50 * WAN)          # 1%, ≤ 50万元
    return _paid(eligible, amount)


FORMULAS = {"gx2023-01": gx2023_01, "gx2023-02": gx2023_02, "gx2023-03": gx2023_03,
            "gx2024q4-21": gx2024q4_21, "gx2024q4-22a": gx2024q4_22a, "gx2024q4-22b": gx2024q4_22b}


# -- the tax-benefit system -------------------------------------------------------------------------------------
INDUSTRIAL_ONLY = ("gx2024q4-21", "gx2024q4-22a", "gx2024q4-22b")  # 002 第21/22条: 工业企业 only


def _industrial(formula):
    """The formula, paid only to 工业企业 (``is_industrial``): for populations that are not all industrial."""
    def wrapped(e, period):
        return np.where(e("is_industrial", period), formula(e, period), 0)
    return wrapped


def build_tax_benefit_system(money_dtype=np.float64, industrial_input: bool = False) -> TaxBenefitSystem:
    """One entity, 16 input variables, 6 formula variables (amounts in 分).

    ``industrial_input``: one more input, ``is_industrial``, and the 002 measures pay only where it is true
    (the end-to-end benchmark reads a mixed population; the evaluation benchmark's is industrial only)."""
    enterprise = build_entity("enterprise", "enterprises", "企业", is_person=True)
    tbs = TaxBenefitSystem([enterprise])

    class _Money(Variable):
        """value_type float, stored as ``money_dtype`` (float64 unless the stock float32 is asked for)."""

        def __init__(self, baseline_variable=None):
            super().__init__(baseline_variable)
            self.dtype = money_dtype

    def add(name: str, base, value_type, label: str, formula=None):
        attrs = {"value_type": value_type, "entity": enterprise, "definition_period": DateUnit.YEAR,
                 "label": label}
        if formula is not None:
            attrs["formula"] = formula  # a plain function: OpenFisca calls formula(population, period)
        tbs.add_variable(type(name, (base,), attrs))

    for name in MONEY_INPUTS:
        add(name, _Money, float, f"{name}（分）")
    for name in BOOL_INPUTS:
        add(name, Variable, bool, name)
    if industrial_input:
        add("is_industrial", Variable, bool, "is_industrial")
    for mid, formula in FORMULAS.items():
        if industrial_input and mid in INDUSTRIAL_ONLY:
            formula = _industrial(formula)
        add(variable_name(mid), _Money, float, f"{mid} 奖补金额（分）", formula)
    return tbs


def run(tbs: TaxBenefitSystem, period: str, inputs: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Build the population, set every input, calculate every measure of ``period``.

    ``inputs`` holds numpy arrays (money: int64 分; flags: bool); set_input converts them to the variable dtype.
    Returns {measure id: amount array in 分 (the variable's dtype)}.
    """
    year = period[:4]
    simulation = SimulationBuilder().build_default_simulation(tbs, count=n)
    for name in inputs_for(period):
        simulation.set_input(name, year, inputs[name])
    return {mid: simulation.calculate(variable_name(mid), year) for mid in PERIODS[period]}
