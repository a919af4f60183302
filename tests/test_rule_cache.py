"""The rule-loading cache (huiqi/rules/cache.py): a hit gives the same rules, an edit misses it."""

import shutil

import pytest

from huiqi.rules import cache
from huiqi.rules.fields import FIELDS_DIR
from huiqi.rules.loader import RULES_DIR, RuleFileError, load_rules


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "files"
    shutil.copytree(RULES_DIR, rules)
    return rules, tmp_path / "cache"


def test_cache_hit_equals_a_fresh_load(dirs):
    rules, where = dirs
    first, dictionary = cache.load(rules, FIELDS_DIR)
    assert len(list(where.glob("rules-*.pickle"))) == 1
    second, dictionary2 = cache.load(rules, FIELDS_DIR)
    fresh = load_rules(rules)
    assert second.version == first.version == fresh.version
    assert [f.rules for f in second.files] == [f.rules for f in fresh.files]
    assert [f.name for f in dictionary2] == [f.name for f in dictionary]
    # line marks (for file:line messages) are recomposed on a hit
    f = second.files[0]
    assert f.measure_line(f.rules.measures[0].id) == fresh.files[0].measure_line(f.rules.measures[0].id)


def test_edited_rule_file_misses_the_cache(dirs):
    """A changed rule file is validated afresh, never served from the cache (a broken edit still fails)."""
    rules, where = dirs
    cache.load(rules, FIELDS_DIR)
    victim = sorted(rules.glob("*.yaml"))[0]
    victim.write_text(victim.read_text(encoding="utf-8") + "\nbogus_key: 1\n", encoding="utf-8")
    with pytest.raises(RuleFileError):
        cache.load(rules, FIELDS_DIR)


def test_damaged_cache_is_ignored(dirs):
    rules, where = dirs
    source, _ = cache.load(rules, FIELDS_DIR)
    for p in where.glob("rules-*.pickle"):
        p.write_bytes(b"not a pickle")
    assert cache.load(rules, FIELDS_DIR)[0].version == source.version
