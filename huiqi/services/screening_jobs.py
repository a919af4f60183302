"""Screening jobs (免申即享 as a background job): the use case of the web's 工作台, the same call as the CLI's
``huiqi screen`` — including ``prior``, the awards already made in earlier quarters of the same year, so annual caps
and exclusive groups hold across periods in the web as on the command line (issue 11 item 3).

A job is a row of ``web_screening_jobs`` (status, progress, manifest), its files a folder ``runs_dir/<job id>/``
(renamed into place when complete). The job table is the shared state of every ``serve --workers N`` process: the
latest finished run of a quarter, and what earlier quarters paid, are read from it, never from one process's
memory. ``after_run`` steps (the 驾驶舱 report, the sandbox presets) are the job's last steps, shown in its progress
like the others: when a job is done, the first visit of those pages reads instead of computing (item 6). A step
that fails is written to the audit log and leaves the page to compute on its first visit; the award list stands.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import polars as pl
import sqlalchemy as sa

from huiqi.data.app_tables import approvals, screening_jobs
from huiqi.engine.allocate import AllocationOptions
from huiqi.engine.evaluate import ParameterError, RuleSet
from huiqi.services import parameters
from huiqi.services.caching import Cache
from huiqi.services.errors import Refused

STATUS_QUEUED, STATUS_RUNNING, STATUS_DONE, STATUS_FAILED = "排队中", "运行中", "已完成", "失败"
STEP_DONE = "完成"
EXTRA_STEPS = 2  # writing the files after the screening proper


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def prior_awards(results: list[tuple[str, pl.DataFrame]]) -> pl.DataFrame | None:
    """What earlier runs (period, results) paid, per entity, measure and period: ``prior`` of the allocation step (the CLI's
    ``--prior`` sums a results.parquet the same way; the period column lets a year measure see that it was paid
    within its own year)."""
    frames = [r.select("entity_id", "measure_id", pl.lit(period, pl.String).alias("period"), "final_fen")
              for period, r in results if r.height]
    if not frames:
        return None
    return (pl.concat(frames).group_by("entity_id", "measure_id", "period")
            .agg(pl.col("final_fen").sum().alias("prior_fen")).sort("period", "entity_id", "measure_id"))


class ScreeningJobs:
    def __init__(self, engine: sa.Engine, runs_dir: Path, ruleset: RuleSet, *,
                 audit: Callable[..., None], county_names: Callable[[], dict[str, str]]):
        self.engine = engine
        self.runs_dir = runs_dir
        self.ruleset = ruleset
        self.audit = audit
        self.county_names = county_names
        self.after_run: list[tuple[str, Callable[[dict, Any], None]]] = []  # (progress text, (job, run) → None)
        self.runs = Cache("screening runs", 3)  # per process: a ScreeningRun is rebuilt from its inputs if absent
        self._worker: ThreadPoolExecutor | None = None
        self._worker_lock = threading.Lock()  # one worker thread, even when two jobs are started at once

    # ------------------------------------------------------------------------------------------- the table
    def _update(self, job_id: str, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(screening_jobs.update().where(screening_jobs.c.id == job_id).values(**values))

    def fail_interrupted(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(screening_jobs.update().where(
                screening_jobs.c.status.in_([STATUS_QUEUED, STATUS_RUNNING])).values(
                status=STATUS_FAILED, error="服务重启，任务中断，请重新发起筛查", finished_at=_now()))

    def job(self, job_id: str) -> dict:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(screening_jobs).where(screening_jobs.c.id == job_id)).first()
            if r is None:
                raise Refused(404, f"没有编号为 {job_id} 的筛查任务")
            appr = conn.execute(sa.select(approvals).where(approvals.c.job_id == job_id)
                                .order_by(approvals.c.id)).all()
        return self.as_dict(r, appr)

    def as_dict(self, r, approved=()) -> dict:
        names = self.county_names() if approved else {}
        return {
            "id": r.id, "period": r.period, "parameter_set_id": r.parameter_set_id,
            "parameter_set_version": r.parameter_set_version, "params": json.loads(r.params_json),
            "measures": json.loads(r.measures_json) if r.measures_json else None, "budget_policy": r.budget_policy,
            "status": r.status, "step": r.step, "done": r.done, "total": r.total,
            "percent": int(100 * r.done / r.total) if r.total else 0, "error": r.error, "run_id": r.run_id,
            "manifest": json.loads(r.manifest_json) if r.manifest_json else None, "created_by": r.created_by,
            "created_at": _aware(r.created_at).isoformat(),
            "finished_at": _aware(r.finished_at).isoformat() if r.finished_at else None,
            "approvals": [{"scope": a.scope, "scope_label": "全部" if a.scope == "all" else names.get(a.scope, a.scope),
                           "by": a.by, "at": _aware(a.at).isoformat(), "note": a.note} for a in approved],
        }

    def jobs(self, limit: int = 50) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(screening_jobs).order_by(screening_jobs.c.created_at.desc())
                                .limit(limit)).all()
        return [self.as_dict(r) for r in rows]

    def finished(self, job_id: str) -> dict:
        job = self.job(job_id)
        if job["status"] != STATUS_DONE:
            raise Refused(409, f"筛查任务 {job_id} 尚未完成（当前：{job['status']}）")
        return job

    def latest_finished(self, period: str) -> str | None:
        """The run that stands for a quarter: its newest approved job, else its newest finished one."""
        with self.engine.connect() as conn:
            q = sa.select(screening_jobs.c.id).where(screening_jobs.c.period == period,
                                                     screening_jobs.c.status == STATUS_DONE)
            approved = conn.execute(q.where(screening_jobs.c.id.in_(sa.select(approvals.c.job_id)))
                                    .order_by(screening_jobs.c.finished_at.desc())).scalar()
            return approved or conn.execute(q.order_by(screening_jobs.c.finished_at.desc())).scalar()

    # ---------------------------------------------------------------------------------------------- prior
    def prior_jobs(self, period: str) -> list[str]:
        """The jobs whose awards a screening of ``period`` must respect: for each earlier quarter of the same
        year, the run that stands for it (latest_finished)."""
        from huiqi.core.periods import Period

        p = Period.parse(period)
        earlier = Period.quarters(p.year, p.quarter - 1) if p.quarter else []
        return [j for j in (self.latest_finished(q) for q in earlier) if j is not None]

    def prior_for(self, job_ids: list[str]) -> pl.DataFrame | None:
        from huiqi.services.award_list import RESULTS

        frames = []
        for jid in job_ids:
            if not (self.runs_dir / jid / RESULTS).exists():
                raise Refused(409, "本年度此前季度的筛查结果文件已不存在，无法按年度累计封顶：请先重新筛查该季度")
            frames.append((self.job(jid)["period"], self._read(jid, ["entity_id", "measure_id", "final_fen"])))
        return prior_awards(frames)

    def _read(self, job_id: str, columns: list[str] | None = None) -> pl.DataFrame:
        """A job folder's results, in either file format (award_list.read_results); a folder whose files do not
        belong together is refused in words, not with a stack trace."""
        from huiqi.services.award_list import read_results

        try:
            return read_results(self.runs_dir / job_id, columns)
        except ValueError as e:  # read_results' own words (files of two different runs)
            raise Refused(410, f"该次筛查的结果文件无法读取：{e}。请重新筛查") from None
        except (OSError, pl.exceptions.PolarsError):
            raise Refused(410, "该次筛查的结果文件已损坏或不完整，请重新筛查") from None

    # ---------------------------------------------------------------------------------------------- start
    def start(self, actor, period: str, pset: dict, measures: list[str] | None, budget_policy: str | None,
              tables: dict, data_hash: str, ip: str | None = None) -> str:
        from huiqi.core.periods import QUARTER, Period

        try:
            p = Period.parse(period)
        except ValueError as e:
            raise Refused(422, str(e)) from None
        if p.kind != QUARTER:
            raise Refused(422, f"筛查期间应为季度（如 2024Q4），得到“{period}”")
        policy = budget_policy or pset["budget_policy"]
        parameters.check_policy(policy)
        if measures:
            unknown = [m for m in measures if m not in self.ruleset.measures]
            if unknown:
                raise Refused(422, f"没有这些措施：{'、'.join(unknown)}")
        if not self.ruleset.measures_for(period, None, measures or None):
            raise Refused(422, f"{period} 没有适用的措施")
        job_id = secrets.token_hex(6)
        with self.engine.begin() as conn:
            conn.execute(screening_jobs.insert().values(
                id=job_id, period=period, parameter_set_id=pset["id"], parameter_set_version=pset["version"],
                params_json=_json(pset["values"]), measures_json=_json(measures) if measures else None,
                budget_policy=policy, status=STATUS_QUEUED, step="排队等待", done=0, total=1,
                created_by=actor.username, created_at=_now()))
            self.audit(actor, "筛查", job_id, {"period": period, "parameter_set": pset["id"],
                                                "parameter_set_version": pset["version"], "budget_policy": policy,
                                                "measures": measures}, ip, conn=conn)
        self._executor().submit(self.run_job, job_id, dict(tables), data_hash)  # a snapshot of the tables
        return job_id

    def _executor(self) -> ThreadPoolExecutor:
        with self._worker_lock:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="huiqi-screening")
            return self._worker

    def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------------------------------------ run
    def screen(self, tables: dict, job: dict, data_hash: str, prior_jobs: list[str], progress=None, *,
               paid_first: bool = False):
        """The screening of a job: ``services.screening.screen`` with the CLI's arguments, ``prior`` included.
        ``paid_first``: a PaidFirst (docs/decisions.md PIPE-3) whose early run and :meth:`finished` run are this."""
        from huiqi.services.screening import screen

        prior = self.prior_for(prior_jobs)
        run = screen(tables, job["period"], params=parameters.for_engine(self.ruleset, job["params"]),
                     measures=job["measures"], options=AllocationOptions(job["budget_policy"], prior),
                     ruleset=self.ruleset, progress=progress, data_hash=data_hash, paid_first=paid_first)
        if paid_first:
            run.early.manifest["prior_jobs"] = prior_jobs
            return run
        return self.finished_run(run, prior_jobs)

    @staticmethod
    def finished_run(run, prior_jobs: list[str]):
        """A job's run as it is kept and written: the earlier runs it respected and the files' row order."""
        from huiqi.services.award_list import sort_results

        run.manifest["prior_jobs"] = prior_jobs  # which earlier runs' awards it respected (a re-run reads the same)
        run.results = sort_results(run.results)  # the files' order, also before a restart (pages, API)
        return run

    def run_job(self, job_id: str, tables: dict, data_hash: str) -> None:
        from huiqi.services.award_list import file_entry, write_data_files, write_excel, write_manifest

        job = self.job(job_id)

        def progress(desc: str, done: int, total: int) -> None:
            self._update(job_id, step=desc, done=done, total=total + EXTRA_STEPS)

        try:
            self._update(job_id, status=STATUS_RUNNING, step="开始", done=0, total=10 + EXTRA_STEPS)
            prior_jobs = self.prior_jobs(job["period"])
            staged = self.screen(tables, job, data_hash, prior_jobs, progress, paid_first=True)
            with self.engine.connect() as conn:
                total = conn.execute(sa.select(screening_jobs.c.total)
                                     .where(screening_jobs.c.id == job_id)).scalar_one() or 10 + EXTRA_STEPS
            # into a fresh folder renamed into place when complete: a crash never leaves half a job folder
            stage = self.runs_dir / f".{job_id}.tmp"
            shutil.rmtree(stage, ignore_errors=True)
            self._update(job_id, step="写出拟兑现名单（Excel）与结果表", done=total - 2)

            def listed() -> tuple:  # the full run and its data files, beside the workbook (PIPE-3)
                run = self.finished_run(staged.full(), prior_jobs)
                return run, write_data_files(run, stage)

            # the workbook from the paid rows on this thread while the full listing and the tables are built on a
            # second one (mostly Polars, outside the GIL); the manifest last (award_list.write_tables, in two)
            with ThreadPoolExecutor(1, thread_name_prefix="huiqi-job-tables") as pool:
                tables_done = pool.submit(listed)
                xlsx = write_excel(staged.early, stage / f"拟兑现名单_{job['period']}.xlsx")
                run, entries = tables_done.result()
            self._update(job_id, step="写出结果表", done=total - 1)
            write_manifest(run, stage, {xlsx: file_entry(xlsx), **entries})
            os.rename(stage, self.runs_dir / job_id)
            self.runs.put(job_id, run)
            for i, (label, step) in enumerate(self.after_run):
                self._update(job_id, step=label, done=total + i, total=total + len(self.after_run))
                try:
                    step(job, run)
                except Exception:  # a page precomputed later is only slower; the award list stands
                    self.audit(None, "预先计算失败", job_id, {"step": label, "trace": traceback.format_exc()[-2000:]})
            total += len(self.after_run)
            self._update(job_id, status=STATUS_DONE, step=STEP_DONE, done=total, total=total,
                         run_id=run.manifest["run_id"], manifest_json=_json(run.manifest), finished_at=_now())
            self.audit(None, "筛查完成", job_id, {"run_id": run.manifest["run_id"],
                                                 "paid_total_fen": run.manifest["paid_total_fen"],
                                                 "prior_jobs": run.manifest["prior_jobs"]})
        except Exception as e:  # the job records why; the worker stays alive
            msg = (e.message if isinstance(e, Refused) else str(e) if isinstance(e, (ParameterError, ValueError))
                   else f"{type(e).__name__}: {e}")
            self._update(job_id, status=STATUS_FAILED, error=msg, finished_at=_now())
            self.audit(None, "筛查失败", job_id, {"error": msg, "trace": traceback.format_exc()[-2000:]})

    # ------------------------------------------------------------------------------------------- results
    def results(self, job_id: str) -> pl.DataFrame:
        self.finished(job_id)
        run = self.runs.get(job_id)
        if run is not None:
            return run.results
        from huiqi.services.award_list import RESULTS

        if not (self.runs_dir / job_id / RESULTS).exists():
            raise Refused(410, "该次筛查的结果文件已不存在，请重新筛查")
        return self._read(job_id)

    def run_for(self, job_id: str, tables: dict, data_hash: str):
        """The ScreeningRun (kept in memory; after a restart, or on another worker, re-run from the same inputs —
        the same earlier runs included — if the data are the same)."""
        job = self.finished(job_id)

        def rebuild():
            if job["manifest"] and job["manifest"].get("data_hash") != data_hash:
                raise Refused(409, "数据已在这次筛查之后变更，无法重现该次名单的分县区文件；请重新筛查")
            prior_jobs = (job["manifest"] or {}).get("prior_jobs") or []
            run = self.screen(dict(tables), job, data_hash, prior_jobs)
            if run.manifest["run_id"] != job["run_id"]:
                raise Refused(409, "重新计算的运行编号与原记录不一致（规则或数据已变更），请重新筛查")
            return run

        return self.runs.get_or_build(job_id, rebuild)
