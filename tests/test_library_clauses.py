"""Clause splitting: bold markdown headings split like plain ones; every other document keeps its clause IDs."""

from __future__ import annotations

from huiqi.policies.library import TEXTS, _split_clauses, default_library
from huiqi.rules.lint import Linter
from huiqi.rules.loader import load_rules


def test_hb36_bold_headings_split_into_clauses():
    """hb36 五、—八、 are typeset ``## **五、大力推动数商兴农**``; each is its own clause, not part of 四、."""
    doc = default_library().document("hb36")
    ids = [c.id for c in doc.clauses]
    assert ids == [f"hb36:{n}" for n in range(11)]
    assert doc.clause("hb36:5").text.lstrip("# *").startswith("五、大力推动数商兴农")
    assert "数商兴农" not in doc.clause("hb36:4").text
    assert doc.clause("hb36:8").label == "八、"


def test_other_documents_keep_their_clause_ids():
    """Only hb36 changed: every other document splits exactly as the splitter did before bold headings."""
    lib = default_library()
    for doc in lib:
        if doc.id == "hb36":
            continue
        lines = (TEXTS / doc.source_file).read_text(encoding="utf-8").splitlines()
        body = lines[doc.lines[0] - 1: doc.lines[1]]
        legacy = _split_clauses(doc.id, body, doc.lines[0], bold_headings=False)
        assert [(c.id, c.lines) for c in doc.clauses] == [(c.id, c.lines) for c in legacy], doc.id


def test_every_clause_id_used_by_rule_files_resolves_and_quotes_are_in_it():
    """Every clause a rule file cites exists, and the linter finds each quote in its clause (huiqi lint)."""
    lib = default_library()
    for f in load_rules().files:
        r = f.rules
        cited = [q["clause"] for q in r.defaults.quotes] + [c for m in r.measures for c in m.clauses]
        cited += [p.clause for m in r.measures for p in m.parameters if p.clause]
        cited += [p.clause for p in r.parameters if p.clause]
        for clause_id in cited:
            lib.clause(clause_id)  # raises KeyError when an ID no longer exists
    findings = Linter().run()
    assert not findings, [str(x) for x in findings][:5]
