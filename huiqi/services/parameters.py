"""Parameter values as people and forms write them, checked against the rule set: one owner for the web's 参数与预算,
its screening jobs, the calculator's overrides and the sandbox's baseline (issue 11 item 3).

Values are kept as exact text (``"0.05"``, ``"10000000"``, ``"true"``) — the way the parameter sets store them — and
turned into what the engine takes by ``for_engine``. Refusals are ``Refused`` with one Chinese reason per field.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from huiqi.engine.evaluate import ParameterError, RuleSet
from huiqi.services.errors import Refused

BUDGET_POLICIES = {"pro_rata": "按比例核减", "ranked": "按金额从高到低"}


def check_policy(policy: str | None) -> None:
    if policy is not None and policy not in BUDGET_POLICIES:
        raise Refused(422, "超预算处理方式只能是 pro_rata（按比例核减）或 ranked（按金额从高到低）")


def for_engine(ruleset: RuleSet, values: dict[str, str]) -> dict[str, object]:
    """Stored text → the engine's values (a yes/no parameter as a bool, numbers stay exact text)."""
    out: dict[str, object] = {}
    for name, text in values.items():
        p = ruleset.parameters.get(name)
        out[name] = (text == "true") if p is not None and p.kind == "bool" else text
    return out


def validate(ruleset: RuleSet, values: Any) -> dict[str, str]:
    """Overrides as text, checked by the rule set (names, numbers, the text's bounds); every error at once."""
    if not isinstance(values, dict):
        raise Refused(422, "参数取值应为“参数名: 取值”的对象")
    from huiqi.services.form_values import parse_form

    unknown = [n for n in values if n not in ruleset.parameters]
    if unknown:
        raise Refused(422, f"没有名为 {unknown[0]} 的参数")
    # one input language (5%, 0.05, 1,000万元, 1000万 …): services.form_values
    clean, errors = parse_form(values, {n: p.kind for n, p in ruleset.parameters.items()})
    for n, text in clean.items():  # the text's bounds, per field, so every one is reported
        try:
            ruleset.resolve_parameters(for_engine(ruleset, {n: text}))
        except ParameterError:
            p = ruleset.parameters[n]
            over = p.max is not None and Fraction(text) > Fraction(str(p.max))
            errors[n] = f"超过文件规定的上限{p.max}" if over else f"低于下限{p.min}"
    if errors:
        labels = {n: p.label for n, p in ruleset.parameters.items()}
        raise Refused(422, "；".join(f"{labels[n]}：{e}" for n, e in errors.items()), fields=errors)
    try:
        ruleset.resolve_parameters(for_engine(ruleset, clean))
    except ParameterError as e:
        raise Refused(422, str(e)) from None
    return clean


def budget_parameters(ruleset: RuleSet) -> list[str]:
    names: list[str] = []
    for m, f in ruleset.measures_for():
        for n in (m.budget_parameter, f.rules.defaults.budget_parameter):
            if n and n not in names:
                names.append(n)
    return sorted(names)


def parameter_rows(ruleset: RuleSet, values: dict[str, str]) -> list[dict]:
    """Every settable parameter with its label, bounds, clause and the value in force (set, or the file's default)."""
    budgets = set(budget_parameters(ruleset))
    out = []
    for name, p in ruleset.parameters.items():
        out.append({"name": name, "label": p.label, "kind": p.kind, "default": p.default, "max": p.max, "min": p.min,
                    "clause": p.clause, "quote": p.quote, "note": p.note, "is_budget": name in budgets,
                    "value": values.get(name), "effective": values.get(name, None if p.default is None else str(p.default))})
    return out
