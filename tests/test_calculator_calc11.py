"""CALC11: a memo miss whose row columns equal a remembered result's is made from that result (its gaps, reason and
explanation worded again by the one wording). Every answer must stay byte for byte against the plain path (Polars,
every result explained afresh from the expression trees)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web import presenters
from huiqi.interfaces.web.presenters import json_bytes
from huiqi.services import calculator
from huiqi.services.calculator import CheckRequest, check_many

from tests.test_calculator_calc10 import LIBRARY, _answers
from tests.test_calculator_rows import _facts, _number


@pytest.fixture
def counted(monkeypatch):
    """How many misses ``_varied`` made (a result) or refused (None)."""
    seen = Counter()
    varied = calculator._varied

    def wrapped(*args):
        result = varied(*args)
        seen["made" if result is not None else "refused"] += 1
        return result

    monkeypatch.setattr(calculator, "_varied", wrapped)
    return seen


@pytest.fixture(scope="module")
def enterprises(ruleset):
    """Demo enterprises' facts for 2024Q4 as the web's facts page gives them (as benchmarks/bench_check.py)."""
    from decimal import Decimal

    from huiqi.data.synthetic import generate
    from huiqi.services.facts import enterprise_facts

    dictionary = ruleset.dictionary
    return [{k: v if isinstance(v, bool) else str(Decimal(v) / 100 if dictionary[k].type in ("money", "number") else v)
             for k, v in row.items() if v is not None and k in dictionary and dictionary[k].entity == "enterprise"}
            for row in enterprise_facts(generate(40, seed=11), "2024Q4").iter_rows(named=True)]


def test_varied_output_answers_byte_for_byte_through_check_many(ruleset, enterprises, counted):
    """What the web sends: enterprises with 当季工业总产值 varied per request, in batches of 8 through check_many
    (the memo's own results) and check_json — against the plain path, and most misses made by _varied."""
    calculator._MEMO.clear()
    requests = [CheckRequest({**enterprises[i % len(enterprises)], "output_q": f"{900_000 + 7_919 * i}.01"}, "2024Q4")
                for i in range(120)]
    for k in range(0, len(requests), 8):
        group = requests[k:k + 8]
        fast = [presenters.check_json(r, "2024Q4", "enterprise", shared=True)
                for r in check_many(group, ruleset, LIBRARY, shared=True)]
        plain = [json_bytes(presenters.check_payload(r, "2024Q4", "enterprise")) for r in
                 calculator._evaluate_rows([calculator.normalized_facts(q.facts, ruleset.dictionary) for q in group],
                                           "2024Q4", "enterprise", None, ruleset, LIBRARY, None, fast=False)]
        assert fast == plain
    assert counted["made"] > 100


@pytest.mark.parametrize("period", ("2024Q4", "2023Q4", "2026Q3"))
def test_one_fact_set_with_varied_money_fields_answers_as_the_plain_path(ruleset, period, counted):
    """Generated facts, then the same facts with every money figure drawn again (at the thresholds ±2 分 or
    anywhere, some missing): the later rows' misses are made from the first rows' results."""
    plan = ruleset.plan(period, "enterprise", ruleset.resolve_parameters())
    money = sorted(f for f in frozenset().union(*(cm.fields for cm in plan)) if ruleset.dictionary[f].type == "money")

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_facts(ruleset, period), st.lists(st.dictionaries(st.sampled_from(money), st.one_of(st.none(), _number()),
                                                             max_size=6), min_size=1, max_size=7))
    def inner(base, changes):
        rows = [{k: v for k, v in {**base, **change}.items() if v is not None} for change in [{}, *changes]]
        want = _answers(ruleset, rows, period, fast=False)
        calculator._MEMO.clear()
        assert _answers(ruleset, rows, period, fast=True) == want
        assert _answers(ruleset, rows[::-1], period, fast=True) == want[::-1]

    inner()
    assert counted["made"] > 0


def _a_varied_pair(ruleset, enterprises):
    calculator._MEMO.clear()
    rows = [calculator.normalized_facts({**enterprises[0], "output_q": f"{v}.01"}, ruleset.dictionary)
            for v in (1_000_000, 2_000_000)]
    first, second = calculator._evaluate_rows(rows, "2024Q4", "enterprise", None, ruleset, LIBRARY, None, shared=True)
    pairs = [(a, b) for a, b in zip(first, second) if a is not b and a.missing is b.missing and a.reason != b.reason]
    assert pairs, "no measure words the varied 产值"
    return pairs[0]


def test_varied_keeps_the_fixed_values_and_words_the_texts_again(ruleset, enterprises):
    """A made result shares every value but its conditions and texts with its sibling, and its gaps are this
    entity's."""
    a, b = _a_varied_pair(ruleset, enterprises)
    for name, value in a.__dict__.items():
        if name not in ("conditions", "reason", "explanation"):
            assert getattr(b, name) is value, name
    assert [c.gap for c in a.conditions] != [c.gap for c in b.conditions]
