"""The web's screening jobs read their results through award_list.read_results (KEYS-1): after a restart (the run
no longer in memory) the result pages, the summary and the CSV download are what they were — from the keyed files
and from a job folder an earlier version wrote (names inline in results.parquet)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from huiqi.services.award_list import ENTITIES, RESULTS, read_results

from .conftest import sqlite_web


@pytest.fixture(scope="module")
def web(demo_dir, tmp_path_factory):
    with sqlite_web(demo_dir, tmp_path_factory, "keys") as w:
        yield w


def _views(client, job_id: str) -> dict:
    pages = [client.get(f"/api/screenings/{job_id}/results",
                        params={"page": 1, "page_size": 500, **extra}).json()
             for extra in ({}, {"status": "待补充信息"}, {"q": "有限公司"}, {"sort": "entity_id", "desc": False})]
    summary = {k: sorted(v, key=json.dumps) if isinstance(v, list) else v  # groups of equal amounts: any order
               for k, v in client.get(f"/api/screenings/{job_id}/summary").json().items()}
    return {"pages": pages, "summary": summary,
            "csv": client.get(f"/api/screenings/{job_id}/export.csv").content,
            "rows": client.get(f"/workbench/jobs/{job_id}/rows").text}


def test_results_after_a_restart_are_the_same_from_either_format(web):
    c = web.client("admin")
    job = web.screening(c)
    folder = web.state.runs_dir / job["id"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert ENTITIES in manifest["files"] and RESULTS in manifest["files"]
    in_memory = _views(c, job["id"])
    assert in_memory["pages"][0]["total"] > 0 and in_memory["csv"].count(b"\n") > 1
    web.state.screenings.runs.clear()  # as after a restart, or on another worker: read from the files
    assert _views(c, job["id"]) == in_memory
    # a job folder of an earlier version: one results.parquet with the names inline
    joined = read_results(folder)
    (folder / ENTITIES).unlink()
    joined.write_parquet(folder / RESULTS)
    web.state.screenings.runs.clear()
    assert _views(c, job["id"]) == in_memory
    # the officer's CSV keeps its columns: names and codes, no entity_key
    header = in_memory["csv"].decode("utf-8-sig").splitlines()[0].split(",")
    assert "entity_key" not in header and {"entity_id", "name", "credit_code", "county_name"} <= set(header)


def test_a_job_folder_missing_its_entity_table_is_refused_in_words(web):
    c = web.client("admin")
    job = web.screening(c)
    web.state.screenings.runs.clear()
    (web.state.runs_dir / job["id"] / ENTITIES).unlink()
    r = c.get(f"/api/screenings/{job['id']}/results")
    assert r.status_code == 410
    assert "请重新筛查" in r.text and "Traceback" not in r.text
    assert pl.read_parquet(web.state.runs_dir / job["id"] / RESULTS).height > 0
