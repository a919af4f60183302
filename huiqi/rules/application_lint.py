"""Lint of the 申报事项 files: they say what the text says, as the rules must.

Checks: the file's document exists; every quote is verbatim in its clause (whitespace ignored) and the clause
belongs to the file's document; every linked measure exists; every window lies inside the document's validity
(``valid_from``/``valid_to`` from the library; a missing date is unbounded).
"""

from __future__ import annotations

from pathlib import Path

from huiqi.policies.library import Library, default_library, normalize
from huiqi.rules import application
from huiqi.rules.application import Cited, LoadedApplications, load_applications
from huiqi.rules.lint import Finding
from huiqi.rules.loader import RuleSource, default_rules


def lint_applications(directory: Path | None = None, rules: RuleSource | None = None,
                      library: Library | None = None) -> list[Finding]:
    directory = directory or application.APPLICATIONS_DIR  # read at call time: tests point it elsewhere
    library = library or default_library()
    measure_ids = {m.id for m, _ in (rules or default_rules()).measures()}
    findings: list[Finding] = []
    for f in load_applications(directory):
        findings += _file(f, library, measure_ids)
    return findings


def _file(f: LoadedApplications, library: Library, measure_ids: set[str]) -> list[Finding]:
    out: list[Finding] = []
    name = f.path.name
    try:
        doc = library.document(f.data.document)
    except KeyError as e:
        return [Finding(name, f.line("document"), None, str(e).strip("'\""))]
    for i, p in enumerate(f.data.programmes):
        def add(loc: tuple, message: str) -> None:
            out.append(Finding(name, f.line("programmes", i, *loc), p.id, message))

        for m in p.measures:
            if m not in measure_ids:
                add(("measures",), f"关联措施 {m} 不存在")
        items: list[tuple[tuple, Cited]] = []
        for key in ("who", "windows", "materials", "steps", "phones", "emails", "payout"):
            items += [((key, j), c) for j, c in enumerate(getattr(p, key))]
        items += [((key,), getattr(p, key)) for key in ("office", "address") if getattr(p, key)]
        for loc, c in items:
            if not c.clause.startswith(doc.id + ":"):
                add(loc, f"条款 {c.clause} 不属于文件 {doc.id}")
                continue
            try:
                clause = library.clause(c.clause)
            except KeyError as e:
                add(loc, str(e).strip("'\""))
                continue
            if normalize(c.quote) not in normalize(clause.text):
                where = "在文件其他条款中" if doc.contains(c.quote) else "在原文中找不到"
                add(loc, f"引文与条款 {c.clause} 不一致（{where}）：{c.quote[:40]}…")
        for j, w in enumerate(p.windows):
            for label, day in (("开始", w.opens), ("截止", w.closes)):
                if day is None:
                    continue
                if doc.valid_from and day < doc.valid_from:
                    add(("windows", j), f"申报窗口“{w.name}”{label}日期 {day} 早于文件生效日 {doc.valid_from}")
                if doc.valid_to and day > doc.valid_to:
                    add(("windows", j), f"申报窗口“{w.name}”{label}日期 {day} 晚于文件有效期 {doc.valid_to}")
    return out
