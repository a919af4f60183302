"""The policy library: every source document as a record, split into clauses with stable IDs.

Documents are registered in ``documents.yaml``; their text is the project's own copy under ``texts/``.
A clause ID is ``<document id>:<numbering path>``, where the path is the arabic form of the document's own
numbering (一、→ 1, （二）→ 2, 3. → 3, 第四条 → 4), e.g. ``gx2024q4:6.21`` for section 六, item 21. Text before
the first numbered heading is clause ``<doc>:0`` (title and preamble).

Quotes are matched after removing whitespace: the source files break lines and put spaces around numbers
("5000 万元（含）"), which is typesetting, not wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent
TEXTS = HERE / "texts"

STATUS_DRAFT, STATUS_IN_FORCE, STATUS_EXPIRED = "征求意见稿", "有效", "已失效"
STATUS_NOT_YET, STATUS_UNSTATED = "尚未施行", "未载明有效期"
STATUSES = (STATUS_IN_FORCE, STATUS_EXPIRED, STATUS_UNSTATED, STATUS_NOT_YET, STATUS_DRAFT)

# the fixed topic vocabulary of documents.yaml (a typo there is a load error, so the 主题 filter stays exact)
TOPICS = (
    "稳增长", "增产增效", "投资", "技术改造", "设备更新", "开拓市场", "展会", "外贸", "电子商务", "降成本", "用电",
    "融资", "贴息", "税收", "人才", "就业", "创业", "科技创新", "数字化", "绿色低碳", "质量品牌", "标准", "知识产权",
    "中小企业", "优质企业", "民营经济", "营商环境", "工业用地", "招商引资", "产业规划", "政策服务",
)

_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_numeral(text: str) -> int:
    """一 → 1, 十二 → 12, 二十八 → 28 (the numerals used in clause headings)."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return total + current


_CN = "[一二三四五六七八九十百]+"
# (level, pattern) — level orders the nesting: 章 > 条/一、 > （一） > 1. > （1）
_HEADINGS = [
    (0, re.compile(rf"^第({_CN})章")),
    (1, re.compile(rf"^第({_CN})条")),
    (1, re.compile(rf"^({_CN})、")),
    (2, re.compile(rf"^（({_CN})）")),
    (3, re.compile(r"^(\d{1,2})[.．、](?!\d)")),
    (4, re.compile(r"^[（(](\d{1,2})[）)]")),
]


def normalize(text: str) -> str:
    """The comparison form of a text: all whitespace removed."""
    return re.sub(r"\s+", "", text)


@dataclass
class Clause:
    id: str
    document_id: str
    label: str  # the document's own numbering, e.g. "六、21."
    path: tuple[int, ...]
    lines: tuple[int, int]  # first and last line in the source file (1-based, inclusive)
    text: str

    @property
    def heading(self) -> str:
        """The first sentence-ish part of the clause, for lists."""
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return first[:60]


@dataclass
class Document:
    id: str
    title: str
    wenhao: str | None
    issuer: str | None
    level: str
    source_file: str
    lines: tuple[int, int] | None
    issued: date | None  # 成文日期, only when the text prints it
    valid_from: date | None  # 施行日期
    valid_to: date | None  # 有效期止
    draft: bool
    topics: list[str]
    note: str | None
    department: str | None = None  # 主管部门 as the text lists it
    issued_year: int | None = None  # 成文年份: the printed date's year, else the 文号's
    validity_basis: str | None = None  # the words the dates above come from
    supersedes: list[str] = field(default_factory=list)  # IDs or 文号 this text says it replaces
    superseded_by: list[Document] = field(default_factory=list, repr=False)  # filled by the Library
    clauses: list[Clause] = field(default_factory=list, repr=False)
    text: str = field(default="", repr=False)

    @property
    def year(self) -> int | None:
        """The 政策库's 年份: 成文年份 where the text gives it (落款日期 or 文号), else the year the title names
        (“2024年四季度”), else the year of the stated start; None when the text gives none of these."""
        if self.issued or self.issued_year:
            return self.issued.year if self.issued else self.issued_year
        m = re.search(r"(20\d{2})\s*年", self.title)
        if m:
            return int(m.group(1))
        return self.valid_from.year if self.valid_from else None

    def replaced_by(self, as_of: date | None = None) -> Document | None:
        """The first document of the library that says it replaces this one and is in force on ``as_of``."""
        as_of = as_of or date.today()
        for newer in self.superseded_by:
            start = newer.valid_from or newer.issued
            if not newer.draft and start is not None and start <= as_of:
                return newer
        return None

    def status(self, as_of: date | None = None) -> str:
        """The status on a date (today by default), from the dates the text states — never from guesses:
        征求意见稿 for a draft; 已失效 once a later document of the library replaces it or after its stated end;
        尚未施行 before its stated start; 有效 within a stated end; otherwise 未载明有效期 (the text states no end,
        and we do not claim it is still in force)."""
        as_of = as_of or date.today()
        if self.draft:
            return STATUS_DRAFT
        if self.replaced_by(as_of) is not None:
            return STATUS_EXPIRED
        if self.valid_to and as_of > self.valid_to:
            return STATUS_EXPIRED
        if self.valid_from and as_of < self.valid_from:
            return STATUS_NOT_YET
        if self.valid_to:
            return STATUS_IN_FORCE
        return STATUS_UNSTATED

    def status_reason(self, as_of: date | None = None) -> str:
        """Why the status is what it is, in Chinese, for the 政策库."""
        newer = self.replaced_by(as_of)
        if newer is not None:
            return f"已被《{newer.title}》{f'（{newer.wenhao}）' if newer.wenhao else ''}替代"
        if self.validity_basis:
            return f"依据：{self.validity_basis}" + ("" if self.valid_to else "；文本未载明有效期止")
        return "文本未载明施行日期和有效期"

    def clause(self, clause_id: str) -> Clause:
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise KeyError(f"文件 {self.id} 中没有条款 {clause_id}")

    def contains(self, quote: str) -> bool:
        return normalize(quote) in normalize(self.text)


_BOLD = re.compile(r"^(?:\*\*|__)\s*")


def _heading_text(raw: str, bold_headings: bool) -> str:
    """A line as the heading patterns see it: markdown heading marks (``##``) and, unless the document keeps its
    legacy IDs, bold marks (``## **五、…**``) removed — bold is typesetting, like the ``#``."""
    text = raw.lstrip("#").strip()
    return _BOLD.sub("", text) if bold_headings else text


def _split_clauses(doc_id: str, lines: list[str], first_line_no: int, bold_headings: bool = True) -> list[Clause]:
    stack: list[tuple[int, int, str]] = []  # (level, number, marker)
    clauses: list[Clause] = []
    current: dict = {"path": (), "label": "", "start": first_line_no, "buf": []}

    def flush(end_line: int) -> None:
        text = "\n".join(current["buf"]).strip("\n")
        if not text.strip() and current["path"]:
            return
        path = current["path"]
        cid = f"{doc_id}:{'.'.join(map(str, path)) if path else '0'}"
        # the same numbering can recur (a 解读 restating an article); keep IDs unique and stable by order
        n, base = 2, cid
        while any(c.id == cid for c in clauses):
            cid, n = f"{base}~{n}", n + 1
        clauses.append(Clause(cid, doc_id, current["label"], path, (current["start"], end_line), text))

    for offset, raw in enumerate(lines):
        line_no = first_line_no + offset
        stripped = _heading_text(raw, bold_headings)
        for level, pattern in _HEADINGS:
            m = pattern.match(stripped)
            if m:
                flush(line_no - 1)
                number = chinese_numeral(m.group(1))
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, number, m.group(0)))
                current = {"path": tuple(s[1] for s in stack), "label": "".join(s[2] for s in stack),
                           "start": line_no, "buf": [raw]}
                break
        else:
            current["buf"].append(raw)
    flush(first_line_no + len(lines) - 1)
    return clauses


def _to_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class Library:
    """All registered documents, loaded once."""

    def __init__(self, registry: Path = HERE / "documents.yaml"):
        # libyaml when present (the same safe YAML, ten times faster: every CLI run reads this registry)
        raw = yaml.load(registry.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["documents"]
        self.documents: dict[str, Document] = {}
        file_cache: dict[str, list[str]] = {}
        for entry in raw:
            name = entry["source_file"]
            if name not in file_cache:
                file_cache[name] = (TEXTS / name).read_text(encoding="utf-8").splitlines()
            all_lines = file_cache[name]
            span = tuple(entry["lines"]) if entry.get("lines") else (1, len(all_lines))
            body = all_lines[span[0] - 1: span[1]]
            topics = list(entry.get("topics") or [])
            unknown = [t for t in topics if t not in TOPICS]
            if unknown:
                raise ValueError(f"政策文件登记表中 {entry['id']} 的主题“{'、'.join(unknown)}”不在主题词表中")
            doc = Document(
                id=entry["id"], title=entry["title"], wenhao=entry.get("wenhao"), issuer=entry.get("issuer"),
                level=entry["level"], source_file=name, lines=span, issued=_to_date(entry.get("issued")),
                valid_from=_to_date(entry.get("valid_from")), valid_to=_to_date(entry.get("valid_to")),
                draft=bool(entry.get("draft")), topics=topics, note=entry.get("note"),
                department=entry.get("department"), issued_year=entry.get("issued_year"),
                validity_basis=entry.get("validity_basis"), supersedes=list(entry.get("supersedes") or []),
            )
            doc.text = "\n".join(body)
            # bold_headings: false — documents whose clause IDs were cited before bold headings were recognised
            # keep them (see docs/decisions.md TIME-3)
            doc.clauses = _split_clauses(doc.id, body, span[0], bool(entry.get("bold_headings", True)))
            self.documents[doc.id] = doc
        # a document is superseded only where a later text of the library says so (by ID or 文号)
        by_key = {k: d for d in self.documents.values() for k in (d.id, d.wenhao) if k}
        for newer in self.documents.values():
            for key in newer.supersedes:
                if key in by_key and by_key[key] is not newer:
                    by_key[key].superseded_by.append(newer)

    def __iter__(self):
        return iter(self.documents.values())

    def __len__(self) -> int:
        return len(self.documents)

    def document(self, doc_id: str) -> Document:
        try:
            return self.documents[doc_id]
        except KeyError:
            raise KeyError(f"没有编号为 {doc_id} 的政策文件") from None

    def clause(self, clause_id: str) -> Clause:
        doc_id = clause_id.split(":", 1)[0]
        return self.document(doc_id).clause(clause_id)


@lru_cache(maxsize=1)
def default_library() -> Library:
    return Library()
