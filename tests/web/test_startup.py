"""Start-up without the work it need not do each time (docs/decisions.md START-*): the same accounts, schema and
rule line numbers as before."""

from __future__ import annotations

import re
import shutil

import polars as pl
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from huiqi.interfaces.web import auth, db
from huiqi.interfaces.web.state import DEMO_PASSWORD_HASHES, DEMO_PASSWORDS, WebState
from huiqi.migrations import SCRIPTS, upgrade


# -- START-2: precomputed argon2 hashes -------------------------------------------------------------------
@pytest.mark.parametrize("username", sorted(DEMO_PASSWORDS))
def test_each_precomputed_demo_hash_is_its_password_with_the_hashers_parameters(username):
    hasher = PasswordHasher()  # the library's defaults, as auth's hasher
    stored = DEMO_PASSWORD_HASHES[username]
    assert hasher.verify(stored, DEMO_PASSWORDS[username])
    assert not hasher.check_needs_rehash(stored)
    assert auth.stored_hash(stored, DEMO_PASSWORDS[username]) == stored


def test_the_dummy_hash_is_a_real_hash_of_the_dummy_password():
    """Unknown users are verified against it so that their login takes as long as a known user's."""
    hasher = PasswordHasher()
    assert hasher.verify(auth._DUMMY_HASH, auth.DUMMY_PASSWORD)
    assert not hasher.check_needs_rehash(auth._DUMMY_HASH)


def test_a_hash_with_weaker_parameters_is_made_afresh():
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash("Some-Password-1")
    fresh = auth.stored_hash(weak, "Some-Password-1")
    assert fresh != weak and not PasswordHasher().check_needs_rehash(fresh)
    assert auth.verify_password(fresh, "Some-Password-1")


def test_seeded_demo_accounts_log_in_with_their_passwords(tmp_path, demo_dir):
    state = WebState(f"sqlite:///{tmp_path / 'web.db'}", demo_dir, tmp_path / "work", announce=lambda _t: None)
    try:
        for username, password in DEMO_PASSWORDS.items():
            row = auth.get_user(state.engine, username)
            if row is None:  # the enterprise account exists only when the data has an enterprise
                continue
            assert auth.verify_password(row.password_hash, password)
            assert not auth.verify_password(row.password_hash, password + "x")
    finally:
        state.shutdown()


# -- START-4: the schema revision read without Alembic -----------------------------------------------------
def test_newest_revision_is_alembics_head_and_each_script_is_named_after_its_revision():
    from alembic.script import ScriptDirectory

    from huiqi.migrations import config

    assert db.newest_revision() == ScriptDirectory.from_config(config("sqlite://")).get_current_head()
    for script in sorted((SCRIPTS / "versions").glob("[0-9]*.py")):
        revision = re.search(r'^revision = "([^"]+)"', script.read_text(encoding="utf-8"), re.M).group(1)
        assert revision == script.stem


def test_schema_is_current_only_at_the_newest_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    engine = db.make_engine(url)
    try:
        assert not db.schema_is_current(engine)  # a new database
        upgrade(url, engine)
        assert db.schema_is_current(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003_payout'"))
        assert not db.schema_is_current(engine)  # an older schema: upgraded at start
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM alembic_version"))
        assert not db.schema_is_current(engine)
    finally:
        engine.dispose()


def test_a_web_start_on_an_older_schema_still_migrates(tmp_path, demo_dir):
    url = f"sqlite:///{tmp_path / 'web.db'}"
    WebState(url, demo_dir, tmp_path / "work", announce=lambda _t: None).shutdown()
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE web_precomputed"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003_payout'"))
    engine.dispose()
    state = WebState(url, demo_dir, tmp_path / "work", announce=lambda _t: None)
    try:
        with state.engine.connect() as conn:
            assert sa.inspect(conn).has_table("web_precomputed")
        assert db.schema_is_current(state.engine)
    finally:
        state.shutdown()


# -- START-3: rule files' node trees composed only when a line is asked for ----------------------------------
def test_line_numbers_from_a_cache_hit_equal_a_fresh_loads(tmp_path, monkeypatch):
    from huiqi.rules import cache
    from huiqi.rules.fields import FIELDS_DIR
    from huiqi.rules.loader import RULES_DIR, load_rules

    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "files"
    shutil.copytree(RULES_DIR, rules)
    cache.load(rules, FIELDS_DIR)
    hit, _ = cache.load(rules, FIELDS_DIR)
    fresh = load_rules(rules)
    assert all(f.node is None for f in hit.files)  # nothing composed yet
    for cached, loaded in zip(hit.files, fresh.files, strict=True):
        for measure in loaded.rules.measures:
            assert cached.measure_line(measure.id) == loaded.measure_line(measure.id)
            assert cached.measure_line(measure.id, "amount") == loaded.measure_line(measure.id, "amount")
        assert cached.line("parameters") == loaded.line("parameters")


# -- START-5: the search index after start-up ----------------------------------------------------------------
def test_the_server_builds_the_search_index_once_it_is_up(tmp_path, demo_dir, monkeypatch):
    import time

    from fastapi.testclient import TestClient

    from huiqi.interfaces.web import app as app_module

    built = []
    monkeypatch.setattr(app_module, "SEARCH_INDEX_AFTER_S", 0.0)
    monkeypatch.setattr(WebState, "build_search_index", staticmethod(lambda: built.append(True)))
    app = app_module.create_app(f"sqlite:///{tmp_path / 'web.db'}", demo_dir, tmp_path / "work",
                                announce=lambda _t: None)
    assert not built  # not before the server answers
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 5
        while not built and time.monotonic() < deadline:
            time.sleep(0.01)
    assert built == [True]


def test_a_search_before_the_index_is_built_still_answers(tmp_path, demo_dir, monkeypatch):
    from fastapi.testclient import TestClient

    from huiqi.interfaces.web import app as app_module

    monkeypatch.setattr(app_module, "SEARCH_INDEX_AFTER_S", 3600.0)
    app = app_module.create_app(f"sqlite:///{tmp_path / 'web.db'}", demo_dir, tmp_path / "work",
                                announce=lambda _t: None)
    with TestClient(app) as client:
        r = client.get("/api/search", params={"q": "技改", "limit": 3})
    assert r.status_code == 200 and r.json()["hits"]


def test_a_restart_imports_neither_alembic_nor_pyarrow_nor_the_search_segmenter(tmp_path, demo_dir):
    """What START-4/5/7 took off the start-up path stays off it: a restart on a current database, up to warming the
    calculator, imports none of them (a child interpreter: this one has imported them all already)."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'web.db'}"
    WebState(url, demo_dir, tmp_path / "work", announce=lambda _t: None).shutdown()
    code = ("import sys; from huiqi.interfaces.web import create_app; from huiqi.interfaces.cli_serve import "
            "warm_calculator; app = create_app(sys.argv[1], sys.argv[2], sys.argv[3], announce=lambda _t: None); "
            "warm_calculator(app); app.state.web.shutdown(); "
            "print(sorted(m for m in ('alembic', 'pyarrow', 'rjieba', 'argon2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, url, str(demo_dir), str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "['argon2']"  # the hasher itself, for logins


# -- START-10: the demo enterprise chosen from its candidates' facts alone ------------------------------------
def _all_facts_filtered(tables, codes, period):
    from huiqi.services.facts import enterprise_facts

    return enterprise_facts(tables, period).filter(pl.col("credit_code").is_in(codes))


@pytest.mark.parametrize("period", ["2024Q4", "2024Q2", "2023Q4", "2026Q3"])
def test_candidates_facts_equal_the_registers_facts_filtered(demo_dir, period):
    from huiqi.data.synthetic import read_parquet
    from huiqi.interfaces.web.state import DEMO_COUNTY, candidate_facts

    tables = read_parquet(demo_dir)
    codes = tables["enterprises"].filter(pl.col("county_code") == DEMO_COUNTY)["credit_code"].to_list()
    assert codes
    assert_frame_equal(candidate_facts(tables, codes, period), _all_facts_filtered(tables, codes, period))


@given(seed=st.integers(0, 10_000), take=st.integers(1, 40))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_candidates_facts_equal_the_registers_facts_filtered(seed, take):
    import random

    from huiqi.data.synthetic import generate
    from huiqi.interfaces.web.state import candidate_facts

    tables = generate(300, seed=seed)
    codes = tables["enterprises"]["credit_code"].to_list()
    codes = random.Random(seed).sample(codes, min(take, len(codes)))
    assert_frame_equal(candidate_facts(tables, codes, "2024Q4"), _all_facts_filtered(tables, codes, "2024Q4"))


def test_the_demo_enterprise_is_the_one_the_whole_registers_facts_choose(tmp_path, demo_dir):
    from huiqi.engine.evaluate import MET, col
    from huiqi.interfaces.web.state import DEFAULT_PERIOD, DEMO_COUNTY

    state = WebState(f"sqlite:///{tmp_path / 'web.db'}", demo_dir, tmp_path / "work", announce=lambda _t: None)
    try:
        codes = state.enterprises.filter(pl.col("county_code") == DEMO_COUNTY)["credit_code"].to_list()
        frame = state.enterprise_facts(DEFAULT_PERIOD).filter(pl.col("credit_code").is_in(codes))  # the old way
        ev = state.ruleset.evaluate(frame, DEFAULT_PERIOD, keep=["entity_id"])
        money = [cm.id for cm in ev.plan if cm.measure.kind == "money"]
        met = ev.frame.filter(pl.any_horizontal([pl.col(col(m, "status")) == MET for m in money])).sort("entity_id")
        assert met.height and state.demo_enterprise() == met["entity_id"][0]
    finally:
        state.shutdown()
