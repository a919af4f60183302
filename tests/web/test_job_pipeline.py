"""The web's screening job writes its workbook from the paid rows while the full listing and the data files are
built beside it (docs/decisions.md PIPE-3): its folder holds the same bytes as the sequential path — the finished
run, then its workbook, then its tables — and the run it keeps is the finished one."""

from __future__ import annotations

import hashlib
from pathlib import Path

from polars.testing import assert_frame_equal

from huiqi.services.award_list import write_excel, write_tables

from .conftest import sqlite_web


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


def test_a_job_folder_is_what_the_sequential_path_writes(demo_dir, tmp_path_factory, tmp_path):
    with sqlite_web(demo_dir, tmp_path_factory, "pipeline") as web:
        c = web.client("admin")
        done = web.screening(c)
        jobs = web.state.screenings
        job = jobs.job(done["id"])
        kept = jobs.runs.get(done["id"])
        prior_jobs = kept.manifest["prior_jobs"]
        sequential = jobs.screen(dict(web.state.tables), job, web.state.data_hash, prior_jobs)
        xlsx = write_excel(sequential, tmp_path / f"拟兑现名单_{job['period']}.xlsx")
        write_tables(sequential, tmp_path, [xlsx])
        assert _digests(web.state.runs_dir / done["id"]) == _digests(tmp_path)
        assert_frame_equal(kept.results, sequential.results)
        assert kept.manifest == sequential.manifest
