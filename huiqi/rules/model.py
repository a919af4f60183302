"""Schema of a rule file (one per policy document). See docs/rule-authoring.md for the officer's view.

A rule file is YAML: the document it encodes, document-level layers (periods, gates, rounding, budget),
operator parameters, and one entry per measure. Conditions, amounts, caps and minimums are SQL expressions
(parsed by sqlglot) over the fields of the data dictionary, with a few named helpers: wan(), yi(), pct(),
growth(), ratio(), param().
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Entity = Literal["enterprise", "project", "county", "person", "bank", "parcel"]
Rounding = Literal["none", "floor_wan", "floor_yuan"]
ParamKind = Literal["rate", "money", "number", "bool"]

ENTITY_LABELS = {
    "enterprise": "企业", "project": "项目", "county": "县区", "person": "个人", "bank": "金融机构", "parcel": "地块",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(Strict):
    """A number the text leaves open ("一定比例", "分行业分类") or states only as an upper bound."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    kind: ParamKind
    default: float | int | str | bool | None = None  # None → 参数待定 until an operator sets it
    max: float | int | str | None = None  # "不超过…" upper bound: an override may not exceed it
    min: float | int | str | None = None
    clause: str | None = None
    quote: str | None = None
    note: str | None = None


class Condition(Strict):
    id: str
    text: str  # the condition in the text's own words, e.g. "当季产值达到5000万元（含）以上"
    when: str  # SQL boolean expression
    note: str | None = None


class ExclusiveGroup(Strict):
    id: str
    members: list[str]  # measure IDs, of this or other rule files (resolved across all files)
    choice: Literal["best", "applicant"] = "best"  # applicant: the engine proposes the best, the applicant may pick
    clause: str
    quote: str
    note: str | None = None


JurisdictionLevel = Literal["国家", "自治区", "设区市", "县区"]
_CODE_DIGITS = {"国家": 0, "自治区": 2, "设区市": 4, "县区": 6}


class Jurisdiction(Strict):
    """Where a document applies: the engine gates every measure of the file on the entity's 所在县区.

    ``code`` is the leading part of the 6-digit administrative division code (GB/T 2260): none for 国家, "45"
    for 自治区 (广西), 4 digits for a 设区市 ("4502" 柳州市), 6 for a 县区. 国家 and 自治区 documents apply to
    every Guangxi entity (no gate); 设区市 and 县区 documents only inside that area.
    """

    level: JurisdictionLevel
    code: str = Field("", pattern=r"^(|45|45\d{2}|45\d{4})$")
    name: str

    @model_validator(mode="after")
    def _code_matches_level(self) -> "Jurisdiction":
        if len(self.code) != _CODE_DIGITS[self.level]:
            raise ValueError(f"适用地域“{self.level}”的区划代码应为{_CODE_DIGITS[self.level]}位，得到“{self.code}”")
        return self

    @property
    def gated(self) -> bool:
        return self.level in ("设区市", "县区")


class ImpliedNumber(Strict):
    number: str
    reason: str


class Measure(Strict):
    id: str
    name: str
    clause: str | list[str]
    quote: str | list[str]
    entity: Entity
    # money: an award (paid, summed, budgeted); eligibility: yes/no only; facility: an amount that is granted
    # but is not an award (a bridge loan's usable amount, hb46) — computed like money, never paid or summed
    kind: Literal["money", "eligibility", "facility"] = "money"
    periods: list[str] | None = None  # data periods it applies to; None → the document defaults
    conditions: list[Condition] = []
    amount: str | None = None  # SQL numeric expression in 元 (money measures)
    cap: str | None = None  # per entity per period, 元
    cap_year: str | None = None  # per entity per calendar year, cumulative across periods (allocation layer)
    minimum: str | None = None  # "低于5万元的不给予奖励"
    rounding: Rounding | None = None  # None → document default
    exclusive_group: str | None = None
    stacking: str | None = None  # what we decided where the text is silent on stacking
    budget_parameter: str | None = None
    parameters: list[Parameter] = []
    # numbers the text implies but does not print as digits (e.g. ranks 2–4 of "前五名"), each with its reason
    implied_numbers: list[ImpliedNumber] = []
    class_: Literal["F", "P"] = Field("F", alias="class")
    catalog_id: str | None = None
    notes: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def clauses(self) -> list[str]:
        return [self.clause] if isinstance(self.clause, str) else list(self.clause)

    @property
    def quotes(self) -> list[str]:
        return [self.quote] if isinstance(self.quote, str) else list(self.quote)

    @field_validator("conditions")
    @classmethod
    def _unique_condition_ids(cls, value: list[Condition]) -> list[Condition]:
        ids = [c.id for c in value]
        if len(ids) != len(set(ids)):
            raise ValueError(f"条件编号重复: {ids}")
        return value


class DocumentDefaults(Strict):
    periods: list[str] = []
    valid_from: date | None = None
    valid_to: date | None = None
    # "year": besides ``periods``, every calendar year inside [valid_from, valid_to] (open-ended if valid_to is
    # None) — for standing policies with no end date (hb43)
    recurring: Literal["year"] | None = None
    rounding: Rounding = "none"
    gates: list[Condition] = []  # applicant gates for every measure of the document (e.g. 004 六（二）)
    gates_apply_to: list[Entity] = ["enterprise", "project"]
    gate_clause: str | None = None
    gate_quote: str | None = None
    budget_parameter: str | None = None
    # 001: "涉及奖补资金比例和限额均为上限": every rate and limit of the document is a ceiling, so an amount
    # computed from one is 参数待定 until the operator sets the rate (lint enforces it; see RULES-3)
    rates_are_upper_bounds: bool = False
    quotes: list[dict] = []  # document-level quotes backing these layers: [{clause, quote}]


class RuleFile(Strict):
    document: str
    title: str
    jurisdiction: Jurisdiction | None = None  # required by lint on every file (RULES-1)
    defaults: DocumentDefaults = DocumentDefaults()
    parameters: list[Parameter] = []
    exclusive_groups: list[ExclusiveGroup] = []
    measures: list[Measure]
    not_encoded: list[dict] = []  # measures deliberately not encoded: [{catalog_id, reason}]
