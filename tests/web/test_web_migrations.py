"""The web application migrates its database at start-up through the one Alembic path (issue 11)."""

from __future__ import annotations

from huiqi.interfaces.web.state import WebState


def test_web_application_starts_on_a_migrated_database(tmp_path, demo_dir):
    url = f"sqlite:///{tmp_path / 'web.db'}"
    state = WebState(url, demo_dir, tmp_path / "work", announce=lambda _t: None)
    with state.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == "0005_data_version"
