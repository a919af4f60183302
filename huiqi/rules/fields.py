"""The data dictionary: every input field a rule may read, with its Chinese label, unit and period.

Fields are period-relative: ``output_q`` is 当季工业总产值 of whatever quarter is being evaluated, and
``output_q_ly`` the same quarter a year earlier. The services layer fills them from stored indicators.

Internally every number is an integer in hundredths (money in 分, other quantities ×100), so all
arithmetic and every threshold comparison is exact.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

FIELDS_DIR = Path(__file__).parent / "fields"
SCALE = 100  # internal integer = value × 100 (元 → 分)

FieldType = Literal["money", "number", "bool", "date", "text"]


class FieldDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str  # Chinese label, as an officer would write it in a spreadsheet header
    type: FieldType
    unit: str | None = None  # 元 for money; 千瓦时, 人, 平方米 … for numbers
    period: str | None = None  # 当季 / 上年同季 / 本年累计 / 上年同期累计 / 全年 / 事件日期 / 状态 …
    entity: str = "enterprise"
    source: str | None = None  # where the bureau gets it (shown for 待补充信息)
    aliases: list[str] = []
    note: str | None = None


class DataDictionary:
    def __init__(self, fields: dict[str, FieldDef]):
        self.fields = fields
        self._by_label: dict[str, str] = {}
        for f in fields.values():
            for key in (f.name, f.label, *f.aliases):
                self._by_label[key] = f.name

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def __getitem__(self, name: str) -> FieldDef:
        return self.fields[name]

    def __iter__(self):
        return iter(self.fields.values())

    def resolve(self, key: str) -> str | None:
        """A field name from its name, Chinese label or alias."""
        return self._by_label.get(key)


def load_dictionary(directory: Path = FIELDS_DIR) -> DataDictionary:
    fields: dict[str, FieldDef] = {}
    origin: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, spec in (raw.get("fields") or {}).items():
            definition = FieldDef(name=name, **spec)
            if name in fields and fields[name] != definition:
                raise ValueError(f"{path.name}: 字段 {name} 与 {origin[name]} 中的定义不一致")
            fields[name] = definition
            origin[name] = path.name
    return DataDictionary(fields)


@lru_cache(maxsize=1)
def default_dictionary() -> DataDictionary:
    from huiqi.rules.cache import load  # with the rules: validated once per content, then unpickled

    return load()[1]
