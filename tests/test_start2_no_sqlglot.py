"""START2-1: sqlglot is imported only when an expression has to be read. A process whose compiled plan and
explanation templates come from the cache (`huiqi check`, `huiqi screen` on the demo data, run a second time)
never imports it, and its outputs are byte for byte those of a cold run and of a run with the cache off. The
stored templates (sqlglot-free, pickled) word the same texts as the expression trees walked per entity."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from huiqi.engine import explain
from huiqi.engine.explain import Explainer, GapTemplate, worded_formula
from huiqi.engine.expressions import parse
from huiqi.policies.library import default_library
from huiqi.services.calculator import default_ruleset

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = default_library()

# runs the CLI, then says on stderr whether sqlglot was imported (after everything the command did)
PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nSQLGLOT=%s\\n" % ("sqlglot" in sys.modules)))
from huiqi.interfaces.cli import main
sys.argv[0] = "huiqi"
main()
"""


def _huiqi(args: list[str], cache: str) -> tuple[bytes, bool]:
    env = {**os.environ, "HUIQI_CACHE_DIR": cache, "PYTHONPATH": str(ROOT), "COLUMNS": "160"}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, env=env, cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr.decode()[-2000:]  # check exits 1 when nothing is met
    imported = done.stderr.decode().rsplit("SQLGLOT=", 1)[1].strip()
    return done.stdout, imported == "True"


def test_importing_the_commands_does_not_import_sqlglot():
    code = ("import sys, huiqi.interfaces.cli, huiqi.services.screening, huiqi.services.calculator, "
            "huiqi.engine.explain_columns, huiqi.services.reason_columns; print('sqlglot' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert done.stdout.strip() == "False"


def test_a_warm_check_never_imports_sqlglot_and_answers_the_same(tmp_path):
    args = ["check", str(ROOT / "examples" / "enterprise_2024q4.yaml"), "--format", "json"]
    cache = str(tmp_path / "cache")
    cold, cold_sqlglot = _huiqi(args, cache)
    warm, warm_sqlglot = _huiqi(args, cache)
    off, _ = _huiqi(args, "off")
    assert cold_sqlglot  # the first process compiles (and stores) the plan and the templates
    assert not warm_sqlglot
    assert cold == warm == off
    assert list((tmp_path / "cache").glob("tmpl-*.pickle"))


@pytest.mark.slow
def test_a_warm_screen_of_the_demo_data_never_imports_sqlglot_and_writes_the_same(tmp_path):
    from huiqi.data.synthetic import generate

    data = tmp_path / "data"
    data.mkdir()
    for name, frame in generate(800, seed=2024).items():
        frame.write_parquet(data / f"{name}.parquet")
    cache = str(tmp_path / "cache")
    outs = {}
    for run, setting in (("cold", cache), ("warm", cache), ("off", "off")):
        out = tmp_path / run
        _, imported = _huiqi(["screen", "--period", "2024Q4", "--data", str(data), "--out", str(out)], setting)
        outs[run] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        if run == "warm":
            assert not imported
    assert outs["cold"] == outs["warm"] == outs["off"]
    assert outs["cold"]


def _conditions_and_amounts():
    ruleset = default_ruleset()
    conditions, amounts = set(), set()
    for measure, _source in ruleset.measures.values():
        conditions.update(c.when for c in measure.conditions)
        if measure.kind in ("money", "facility"):
            amounts.add(measure.amount)
    return ruleset, sorted(conditions), sorted(amounts)


RULESET, CONDITIONS, AMOUNTS = _conditions_and_amounts()
LABELS = {n: p.label for n, p in RULESET.parameters.items()}
VALUES = RULESET.resolve_parameters(None)
NUMERIC = [f.name for f in RULESET.dictionary if f.type in ("money", "number")]


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(NUMERIC), st.integers(-10**12, 10**12), max_size=len(NUMERIC)))
def test_a_stored_gap_template_words_every_condition_as_the_tree_walk(facts):
    """Pickled and loaded (closures rebuilt from the value programs, no sqlglot node kept), every rule condition's
    gap is the text ``Explainer.gap`` gives by walking the tree."""
    like = Explainer(RULESET.dictionary, LIBRARY, {}, VALUES, LABELS)
    ex = Explainer(RULESET.dictionary, LIBRARY, facts, VALUES, LABELS)
    for text in CONDITIONS:
        stored = pickle.loads(pickle.dumps(GapTemplate(text, like)))
        assert stored(ex) == ex.gap(text), text


def test_a_gap_template_holds_no_sqlglot_node():
    like = Explainer(RULESET.dictionary, LIBRARY, {}, VALUES, LABELS)
    body = b"".join(pickle.dumps(GapTemplate(text, like)) for text in CONDITIONS)
    assert b"sqlglot" not in body


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(NUMERIC), st.integers(-10**12, 10**12), max_size=len(NUMERIC)))
def test_a_stored_formula_words_every_amount_as_describe(facts):
    like = Explainer(RULESET.dictionary, LIBRARY, {}, VALUES, LABELS)
    ex = Explainer(RULESET.dictionary, LIBRARY, facts, VALUES, LABELS)
    for amount in AMOUNTS:
        template = worded_formula(like, amount)
        expected = ex.describe(parse(amount))
        assert template is not None and template.render(ex) == expected, amount
        assert pickle.loads(pickle.dumps(template)).render(ex) == expected


def test_stored_templates_are_keyed_by_parameters_and_a_damaged_file_compiles_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path))
    default_ruleset()  # the built-in rules loaded through the cache: plans may be stored
    explain.forget_templates()
    like = Explainer(RULESET.dictionary, LIBRARY, {}, VALUES, LABELS)
    other = Explainer(RULESET.dictionary, LIBRARY, {}, {**VALUES, "__a_new_parameter": 1}, LABELS)
    first = explain.stored_templates(like)
    path = first.path
    assert path is not None and explain.stored_templates(other).path != path
    amount = AMOUNTS[0]
    template = worded_formula(like, amount)
    assert not path.exists()  # written once, at exit or on flush
    explain.flush_templates()
    assert path.exists() and ("formula", amount) in first.templates
    explain.forget_templates()
    assert ("formula", amount) in explain.stored_templates(like).templates  # read back
    path.write_bytes(path.read_bytes()[:-10])  # truncated: its SHA-256 no longer matches
    explain.forget_templates()
    again = worded_formula(like, amount)
    assert again.pieces == template.pieces
    explain.forget_templates()


def test_the_store_follows_changed_parameter_values_in_the_same_dictionary_object(tmp_path, monkeypatch):
    """The last store is found again by equality, not identity: values changed in place get their own store."""
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path))
    default_ruleset()
    explain.forget_templates()
    values = dict(VALUES)
    like = Explainer(RULESET.dictionary, LIBRARY, {}, values, LABELS)
    first = explain.stored_templates(like)
    values["__a_new_parameter"] = 1
    assert explain.stored_templates(like) is not first
    del values["__a_new_parameter"]
    assert explain.stored_templates(like) is first
    explain.forget_templates()
