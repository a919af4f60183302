"""Shared test helpers: evaluate one entity's facts (in 元, as a person writes them) against the rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

# Markers for a fast inner loop (registered in pyproject.toml). They are given here, by what a test needs, so a
# test file never has to remember them:  bash test.sh -m "not slow and not browser and not postgres and not office"
_BROWSER_FILES = ("test_browser.py", "test_payout_browser.py")
_SLOW_FILES = ("test_openfisca_peer.py", "test_openfisca_e2e.py", "test_atomic_screen.py", "test_spark_partition.py",
               "test_openapi_contract.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        params = set(map(str, callspec.params.values())) if callspec else set()
        if item.path.name in _BROWSER_FILES:
            item.add_marker(pytest.mark.browser)
        if "postgres_url" in names or "postgres" in params:
            item.add_marker(pytest.mark.postgres)
        if "soffice" in names:
            item.add_marker(pytest.mark.office)
        if item.path.name in _SLOW_FILES or item.path.name in _BROWSER_FILES:
            item.add_marker(pytest.mark.slow)

from huiqi.engine.evaluate import RuleSet, col
from huiqi.engine.inputs import facts_frame


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return RuleSet()


@pytest.fixture(scope="session")
def run(ruleset):
    """run(measure_id, facts, period, params=None, entity=None) → (status, amount in 元 as Decimal or None).

    The amount is after cap, rounding and minimum (before exclusivity); use run_full for everything.
    """

    def _run(measure_id: str, facts: dict, period: str, params: dict | None = None, entity: str | None = None):
        measure, _ = ruleset.measures[measure_id]
        ev = ruleset.evaluate(facts_frame([facts]), period, entity=entity or measure.entity, params=params,
                              measures=[measure_id])
        row = ev.frame.row(0, named=True)
        status = row[col(measure_id, "status")]
        amount = row.get(col(measure_id, "amount"))
        return status, (None if amount is None else Decimal(amount) / 100)

    return _run


@pytest.fixture(scope="session")
def run_full(ruleset):
    """run_full(facts, period, entity='enterprise', params=None, measures=None) → the result row as a dict."""

    def _run(facts: dict, period: str, entity: str = "enterprise", params: dict | None = None, measures=None):
        ev = ruleset.evaluate(facts_frame([facts]), period, entity=entity, params=params, measures=measures)
        return ev.frame.row(0, named=True)

    return _run


# What `huiqi serve --workers N` writes into os.environ before its exec (cli_serve.serve); a test that runs it in
# process with the exec replaced must not leave them behind: HUIQI_PREPARED=1 left in the test process made every
# later server a test starts skip seeding the demo accounts (a 401 at login, seen in CI).
SERVE_ENVIRONMENT = ("HUIQI_DB", "HUIQI_DATA", "HUIQI_WORK", "HUIQI_PREPARED", "HUIQI_TRUSTED_PROXIES",
                     "_RJEM_MALLOC_CONF")


@pytest.fixture
def serve_environment(monkeypatch):
    """None of SERVE_ENVIRONMENT set during the test, and each as it was afterwards (monkeypatch.delenv of an
    absent variable records nothing, so a value the code sets would stay: set first, then delete)."""
    for name in SERVE_ENVIRONMENT:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return monkeypatch
