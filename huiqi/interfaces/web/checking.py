"""The 政策计算器 request as the web runs it: the period checked, the active parameter set overlaid with the
request's own, then one evaluation (directly, or gathered with concurrent ones by services.calculator_batch).

Used by the JSON API and the calculator page alike; a refusal is a `WebError` 422 in Chinese.
"""

from __future__ import annotations

from functools import lru_cache

from huiqi.engine.evaluate import ParameterError
from huiqi.engine.inputs import InputError
from huiqi.interfaces.web.presenters import check_json, check_payload
from huiqi.interfaces.web.state import WebError, WebState


def period_ok(state: WebState, period: str) -> None:
    try:
        _parsed(period)
    except ValueError as e:
        raise WebError(422, str(e)) from None


@lru_cache(maxsize=256)
def _parsed(period: str):
    """Period.parse, remembered for the few periods clients ask about (a refusal raises and is not remembered, so
    its message is the parser's every time); bounded against a client sending many different valid periods."""
    from huiqi.core.periods import Period

    return Period.parse(period)


def engine_params(state: WebState, params: dict | None) -> dict:
    """The active parameter set overlaid with the request's own (checked: a refusal is a 422 in Chinese)."""
    base = state.active_set()["values"]
    return state.params_for_engine({**base, **state.validate_values(params or {})}) if params else \
        state.params_for_engine(base)


def run_check(state: WebState, facts: dict, period: str, entity: str, params: dict | None) -> dict:
    return check_payload(check_results(state, facts, period, entity, params), period, entity)


def check_results(state: WebState, facts: dict, period: str, entity: str, params: dict | None) -> list:
    """One check's results (MeasureResult objects, the caller's own), directly in this thread."""
    period_ok(state, period)
    merged = engine_params(state, params)
    try:
        return state.check(facts, period, entity, merged)
    except (InputError, ParameterError) as e:
        raise WebError(422, str(e)) from None


def calc_batcher(state: WebState):
    """The process's calculator batcher (huiqi.services.calculator_batch), created on first use."""
    from huiqi.services.calculator_batch import CheckBatcher

    return state.attached("calc_batcher", lambda: CheckBatcher(state.ruleset, state.library))


async def batched_check(state: WebState, facts: dict, period: str, entity: str, params: dict | None,
                        finish=None):
    """One check through the batcher: gathered with concurrent ones into one evaluation in a worker thread.

    ``finish(request, results)`` also runs in that thread (default: the JSON response body as bytes)."""
    from huiqi.services.calculator import CheckRequest

    period_ok(state, period)
    request = CheckRequest(facts, period, entity, engine_params(state, params))
    if finish is None:
        def finish(req, results):
            return check_json(results, req.period, req.entity, shared=True)  # the batcher's results: shared
    try:
        return await calc_batcher(state).submit(request, finish)
    except (InputError, ParameterError) as e:
        raise WebError(422, str(e)) from None


def stored_facts(state: WebState, credit_code: str, period: str) -> dict:
    period_ok(state, period)
    row = state.facts_row(credit_code, period)
    if row is None:
        raise WebError(404, f"没有企业 {credit_code} 在 {period} 的数据")
    return state.facts_for_check(row)
