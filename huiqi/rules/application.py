"""申报事项 as data: how to apply for a programme — who, when, what to hand in, to whom, whom to call.

One YAML file per source document under ``applications/`` (beside the rule files). Every descriptive item
carries a verbatim ``quote`` and the ``clause`` it comes from, as measures do; ``huiqi lint`` checks them
(huiqi/rules/application_lint.py). Dates in ``windows`` are read from the quote by the author; lint checks
they lie inside the document's validity.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from huiqi.rules.loader import RuleFileError, _line_of, read_validated

APPLICATIONS_DIR = Path(__file__).parent / "applications"

_ENUMERATOR = re.compile(r"^[-\s]*(?:[（(][一二三四五六七八九十\d]+[）)]|\d{1,2}[.、．]|[一二三四五六七八九十]+、)")

# who a programme is for, by industry; matched against GB/T 4754 codes in the calendar service
Industry = Literal["工业", "制造业", "软件和信息技术服务业"]


class Cited(BaseModel):
    """A descriptive item: what people read (``text``, the quote when omitted) and its authority."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    quote: str
    clause: str

    @property
    def label(self) -> str:
        """The text, or the quote without its list numbering (（一）, 1., 2、) and trailing ；, for lists."""
        return self.text or _ENUMERATOR.sub("", self.quote).rstrip("；;")


class Window(Cited):
    """An application window or deadline. ``opens``/``closes`` empty = not stated (以通知为准 / 常年)."""

    name: str = "申报"
    opens: date | None = None
    closes: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.opens and self.closes and self.opens > self.closes:
            raise ValueError(f"申报窗口“{self.name}”的开始日期晚于截止日期")
        return self


class Programme(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    measures: list[str] = []          # linked measure IDs (rules/files)
    region: str | None = None         # a 设区市 the programme is limited to; None = the whole of Guangxi
    industries: list[Industry] = []   # empty = any industry
    who: list[Cited] = []             # 申报主体与条件
    windows: list[Window] = []
    materials: list[Cited] = []
    steps: list[Cited] = []
    office: Cited | None = None       # 受理/主管部门
    address: Cited | None = None
    phones: list[Cited] = []          # 咨询电话
    emails: list[Cited] = []          # 电子邮箱 (where the text gives no phone, e.g. hb54)
    payout: list[Cited] = []          # 兑现安排 as the text states it (申报/拨付)


class ApplicationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str
    programmes: list[Programme]


class LoadedApplications:
    def __init__(self, path: Path, data: ApplicationFile, node: yaml.Node):
        self.path, self.data, self.node = path, data, node

    def line(self, *loc) -> int | None:
        return _line_of(self.node, loc)


def load_file(path: Path) -> LoadedApplications:
    data, node = read_validated(path, ApplicationFile)
    return LoadedApplications(path, data, node)


def load_applications(directory: Path = APPLICATIONS_DIR) -> list[LoadedApplications]:
    files = [load_file(p) for p in sorted(directory.glob("*.yaml"))]
    seen: dict[str, Path] = {}
    for f in files:
        for p in f.data.programmes:
            if p.id in seen:
                raise RuleFileError(f.path, None, f"申报事项编号 {p.id} 重复（已在 {seen[p.id].name}）")
            seen[p.id] = f.path
    return files


@lru_cache(maxsize=1)
def default_applications() -> tuple[tuple[str, Programme], ...]:
    """(document id, programme) for every programme, in file order."""
    return tuple((f.data.document, p) for f in load_applications() for p in f.data.programmes)
