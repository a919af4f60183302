"""What the web application holds: the database, the enterprise data in memory, parameter sets, accounts — the
store of the web layer. The use cases are services: screening jobs (huiqi.services.screening_jobs, the CLI's call
with the earlier quarters' awards), parameter validation (huiqi.services.parameters), scenarios
(huiqi.services.scenarios); the methods here that carry their old names only hand over to them.

The enterprise data is the demo data (Parquet, ``data_dir``) overlaid with every import (kept in the same
database through huiqi.data.store.Store, so imports survive a restart). Kept per process (docs/architecture.md):
the tables, the facts and calculator caches (huiqi.services.caching), the last three ScreeningRuns; shared
through the database: jobs, parameter sets, precomputed dashboard and sandbox results, sandbox records, and the
data's version, which each process watches to reload the data another process imported (SYNC-1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from huiqi.core import money
from huiqi.data.columns import TABLES
from huiqi.engine.evaluate import MET, RuleSet, col
from huiqi.interfaces.web import auth, db
from huiqi.policies.library import Library, default_library
from huiqi.rules.fields import SCALE
from huiqi.services import parameters
from huiqi.services.caching import Cache
from huiqi.services.errors import Refused
from huiqi.services.precomputed import Precomputed
from huiqi.services.screening_jobs import (  # noqa: F401  (re-exported: pages and tests read them here)
    STATUS_DONE, STATUS_FAILED, STATUS_QUEUED, STATUS_RUNNING, STEP_DONE, ScreeningJobs,
)

DEFAULT_PERIOD = "2024Q4"
DEMO_COUNTY = "450204"  # 柳州市柳南区
DEMO_PASSWORDS = {  # demo only — documented in docs/web.md; change them (or the accounts) before real use
    "admin": "Huiqi-Admin-2024",
    "liunan": "Liunan-Officer-2024",
    "qiye": "Qiye-Demo-2024",
}
# their argon2 hashes, made once (auth.stored_hash; tests verify each against its password): hashing three passwords
# was ~0.75 s of a first start. The passwords are public, so a shared salt reveals nothing.
DEMO_PASSWORD_HASHES = {
    "admin": "$argon2id$v=19$m=65536,t=3,p=4$bMENeEawz02XbfO/2GMSPg$Y3RHGv4Ef3Ar90ofgxLDgzjPZZNZtHhzNFex6ffuilI",
    "liunan": "$argon2id$v=19$m=65536,t=3,p=4$pT29gzLkeggNwq6nO+RiAg$59JWbEkEli6rPESLKf+KciBbOaT2dtDELo6lVDCco+g",
    "qiye": "$argon2id$v=19$m=65536,t=3,p=4$tNVElo3fs83JR9Rv6hjL8w$uGeksgOHvaob+h1hO6b0vvoAkajLHDza4wLi6KRlFA0",
}


# the result cache's budget (JSON answers, by their bytes): ~400 calculator answers or thousands of searches
ANSWER_CACHE_BYTES = 64 * 2**20
ACTIVE_SET_TTL = 1.0  # seconds a worker process trusts its copy of the active parameter set
DATA_WATCH_S = 1.0  # how often a served process asks the database whether another process changed the data


# a use case's refusal (huiqi.services.errors): the web renders it as {"detail": …} or as an error page
WebError = Refused


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def yuan_text(fen: int | None) -> str | None:
    return money.yuan_text(fen)  # one rounding rule for every display (huiqi.core.money)


def wan_text(fen: int | None) -> str | None:
    return money.wan_text(fen)


class WebState:
    settings = auth.DEFAULT_SETTINGS  # create_app sets the deployment's (trusted proxies, login limits)

    def __init__(self, db_url: str, data_dir: str | Path, work_dir: str | Path | None = None, *,
                 seed_demo: bool = True, announce=print, recover_jobs: bool = True):
        self.db_url = db_url
        self.data_dir = Path(data_dir)
        self.work_dir = Path(work_dir) if work_dir else self.data_dir.parent / "web"
        self.runs_dir = self.work_dir / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        for stray in self.runs_dir.glob(".*.tmp"):  # job folders a crash left half-written (never shown)
            shutil.rmtree(stray, ignore_errors=True)
        self.engine = db.make_engine(db_url)
        from huiqi.data.store import Store

        if not db.schema_is_current(self.engine):
            from huiqi.migrations import upgrade

            upgrade(db_url, self.engine)  # every table, data and web, through the one migration path
        self.store = Store(db_url)
        self.store.engine.dispose()
        self.store.engine = self.engine  # one connection pool for both
        from huiqi.services.calculator import default_ruleset

        self.ruleset: RuleSet = default_ruleset()
        self.library: Library = default_library()
        self.lock = threading.RLock()
        self._attachments: dict[str, object] = {}
        # per process (rebuilt from the tables on a miss); what workers share is in the database (SERVICES-4)
        self._facts = Cache("enterprise facts", 6)
        self._facts_index = Cache("enterprise facts row index", 6)  # (frame, {credit code: row}) per facts frame
        # bounded by bytes, not entries: 4,096 calculator answers of ~165 KB were ~0.7 GB a process, each answer
        # fresh memory (page faults) until the cache filled; evicted answers' memory is reused (WEB4-2)
        self._calc_cache = Cache("calculator answers", ANSWER_CACHE_BYTES, weigh=len)
        self.precomputed = Precomputed(self.engine)
        self.screenings = ScreeningJobs(self.engine, self.runs_dir, self.ruleset, audit=self.audit,
                                        county_names=lambda: self.county_names)
        # its last steps (驾驶舱, sandbox presets) are added by create_app, which knows the route modules
        self._active: dict | None = None
        self._active_at = 0.0
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.announce = announce
        self.load_data()
        if recover_jobs:  # not in a worker of `serve --workers N`: a running job may be another worker's
            self.screenings.fail_interrupted()
        self.ensure_parameter_set()
        if seed_demo:
            self.seed_accounts()

    # ------------------------------------------------------------------------------------------------- data
    def load_data(self) -> None:
        """Read the data — the Parquet directory with the rows imported into the database upserted over it — and
        put it in place, the caches built on the old data emptied. The same files and rows give the same tables
        and the same ``data_hash`` in every process and after a restart (SYNC-1)."""
        tables, data_hash, version = self._read_data()
        with self.lock:
            self.tables, self.data_hash, self.data_version = tables, data_hash, version
            self._index_enterprises()
        self._facts.clear()
        self._facts_index.clear()
        self._calc_cache.clear()

    def _read_data(self) -> tuple[dict[str, pl.DataFrame], str, int]:
        from huiqi.data.synthetic import generate, read_parquet, write_parquet
        from huiqi.services.screening import files_hash

        # the version before the rows: a write landing while they are read leaves a newer version, read again later
        version = self.store.data_version()

        if not (self.data_dir / "enterprises.parquet").exists():
            self.announce(f"演示数据目录 {self.data_dir} 不存在，正在生成（10,000家企业，种子2024）……")
            from huiqi.core.atomic import fresh_dir

            with fresh_dir(self.data_dir, lambda name: name in {f"{t}.parquet" for t in TABLES}) as tmp:
                write_parquet(generate(10_000), tmp)  # all tables or none: a kill never leaves half the demo data
        tables = read_parquet(self.data_dir)
        for name, t in TABLES.items():
            tables.setdefault(name, t.empty())
        h = files_hash(sorted(self.data_dir.glob("*.parquet")))
        imported = {name: self.store.read(name) for name in TABLES}
        imported = {k: v for k, v in imported.items() if v.height}
        if imported:
            tables = merge_tables(tables, imported)
            from huiqi.data.store import snapshot_hash

            h = hashlib.sha256((h + snapshot_hash(imported)).encode()).hexdigest()[:16]
        return tables, h, version

    @staticmethod
    def build_search_index() -> threading.Thread:
        """The search index (~0.4 s with rjieba's import) on a thread, started by create_app's lifespan once the
        server is up rather than before it answers anything (START-5). A search that comes first builds it itself
        (services.search.default_index: one build under a lock, which a search during this one waits for)."""
        def build() -> None:
            from huiqi.services.search import default_index

            default_index()

        thread = threading.Thread(target=build, name="huiqi-search-index", daemon=True)
        thread.start()
        return thread

    def attached(self, name: str, factory):
        """An object the interfaces keep beside the state (a cache, a store), created once under the lock."""
        value = self._attachments.get(name)
        if value is None:
            with self.lock:
                value = self._attachments.get(name)
                if value is None:
                    value = self._attachments[name] = factory()
        return value

    def attachment(self, name: str):
        """An attached object if it was created (None otherwise)."""
        return self._attachments.get(name)

    def _index_enterprises(self) -> None:
        ent = self.tables["enterprises"].join(self.tables["counties"].select("county_code", "county_name", "city_name"),
                                              on="county_code", how="left")
        self.enterprises = ent.sort("credit_code")
        self._enterprise_index = (self.enterprises, _first_rows(self.enterprises["credit_code"]))
        self.county_of = dict(zip(ent["credit_code"].to_list(), ent["county_code"].to_list()))
        self.county_names = {r["county_code"]: f"{r['city_name']}{r['county_name']}"
                             for r in self.tables["counties"].iter_rows(named=True)}

    def apply_import(self, imported: dict[str, pl.DataFrame]) -> dict[str, int]:
        """Write validated tables to the database (one transaction, which raises the data's version if a row
        changed), then reload the data as every other process will (:meth:`refresh_data`). Merging the import
        into the tables in memory, as before, left this process with a data hash no other process and no restart
        computed, so a job screened after a second import was refused as 数据已变化 once the server restarted."""
        with self.lock:
            written = self.store.write_many(imported)
            if any(written.values()):
                self.load_data()
        return written

    def data_and_hash(self) -> tuple[dict[str, pl.DataFrame], str]:
        """The tables and their hash as one pair: a reload (another process's import) swaps both together."""
        with self.lock:
            return self.tables, self.data_hash

    def refresh_data(self) -> bool:
        """Reload the data if another process changed it since this one read it (another worker of
        ``serve --workers N``, or ``huiqi import`` on the same database); whether it did."""
        if self.store.data_version() == self.data_version:
            return False
        with self.lock:  # one reload, not one per caller, and none in the middle of this process's own import
            if self.store.data_version() == self.data_version:
                return False
            self.load_data()
        return True

    def watch_data(self, every: float = DATA_WATCH_S) -> threading.Thread:
        """Call :meth:`refresh_data` every ``every`` seconds on a thread of its own until :meth:`shutdown`: a
        served process sees another's import within about a second plus its reload, without a query per request."""
        def watch() -> None:
            while not self._stopping.wait(every):
                try:
                    self.refresh_data()
                except Exception:  # a busy or restarting database: asked again at the next tick
                    logging.getLogger("huiqi.web").warning("检查数据是否更新时出错，稍后重试", exc_info=True)

        thread = threading.Thread(target=watch, name="huiqi-data-watch", daemon=True)
        thread.start()
        self._watcher = thread
        return thread

    def periods(self) -> list[str]:
        """Quarters that both the data and the rules cover (newest first)."""
        have = set(self.tables["indicators"]["period"].unique().to_list()) if self.tables["indicators"].height else set()
        from huiqi.core.periods import Period

        ruled = set(self.ruleset.quarters())  # with the quarters year measures apply to "as of" (RULES-8)
        quarters = sorted((p for p in ruled if not have or p in have), key=Period.parse, reverse=True)
        return quarters or [DEFAULT_PERIOD]

    def enterprise_facts(self, period: str) -> pl.DataFrame:
        from huiqi.services.facts import enterprise_facts

        tables = self.tables
        return self._facts.get_or_build((period, self.data_hash), lambda: enterprise_facts(tables, period))

    # A row by its credit code through a dict built once per frame, not a filter of the whole frame per request
    # (~0.2 ms each, on the event loop for the stored-enterprise check). The first row, as a filter's row(0) was.
    def enterprise(self, credit_code: str) -> dict | None:
        frame, index = self._enterprise_index  # one attribute: an import swaps frame and index together
        i = index.get(credit_code)
        return None if i is None else frame.row(i, named=True)

    def facts_row(self, credit_code: str, period: str) -> dict | None:
        frame = self.enterprise_facts(period)
        indexed = self._facts_index.get((period, self.data_hash))
        if indexed is None or indexed[0] is not frame:  # the index belongs to this very frame
            indexed = (frame, _first_rows(frame["credit_code"]))
            self._facts_index.put((period, self.data_hash), indexed)
        i = indexed[1].get(credit_code)
        return None if i is None else frame.row(i, named=True)

    def facts_for_check(self, row: dict) -> dict:
        """A stored enterprise's facts as check() takes them: money in 元 and quantities as written (Decimal)."""
        out = {}
        dictionary = self.ruleset.dictionary
        for name, value in row.items():
            if value is None or name not in dictionary or dictionary[name].entity != "enterprise":
                continue
            kind = dictionary[name].type
            out[name] = Decimal(value) / SCALE if kind in ("money", "number") else value
        return out

    # ------------------------------------------------------------------------------------------ permissions
    def can_see_enterprise(self, user: auth.User, credit_code: str) -> bool:
        if user.is_admin:
            return True
        if user.role == "officer":
            return self.county_of.get(credit_code) == user.county_code
        return user.credit_code == credit_code

    def scope_expr(self, user: auth.User) -> pl.Expr | None:
        """Which result rows a user may see: admin all, officer their 县区, enterprise itself."""
        if user.is_admin:
            return None
        if user.role == "officer":
            return pl.col("county_code") == user.county_code
        return pl.col("credit_code") == (user.credit_code or "—")

    # ----------------------------------------------------------------------------------------------- audit
    def audit(self, user: auth.User | None, action: str, target: str | None = None, detail: Any = None,
              ip: str | None = None, conn=None) -> None:
        values = dict(at=db.now(), username=user.username if user else None, role=user.role if user else None,
                      action=action, target=target, detail=None if detail is None else _json(detail), ip=ip)
        if conn is not None:
            conn.execute(db.audit_log.insert().values(**values))
        else:
            with self.engine.begin() as c:
                c.execute(db.audit_log.insert().values(**values))

    def _audit_as(self, user: auth.User | None, ip: str | None):
        """An audit callback for a service: (action, target, detail, conn) written as this user, in conn."""
        return lambda action, target, detail, conn: self.audit(user, action, target, detail, ip, conn=conn)

    # ---------------------------------------------------------------------------------------------- accounts
    def seed_accounts(self) -> None:
        with self.engine.connect() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(db.users)).scalar_one():
                return
        code = self.demo_enterprise()
        name = (self.enterprise(code) or {}).get("name", code) if code else None
        accounts = [
            ("admin", "admin", "系统管理员", None, None),
            ("liunan", "officer", "柳州市柳南区工业和信息化局", DEMO_COUNTY, None),
            ("qiye", "enterprise", name or "演示企业", None, code),
        ]
        lines = ["", "=" * 72, "惠企演示账号（仅供演示，只显示这一次；密码亦载于 docs/web.md）："]
        for username, role, display, county, credit in accounts:
            if role == "enterprise" and not credit:
                continue
            password = DEMO_PASSWORDS[username]
            auth.create_user(self.engine, username, password, role, display, county, credit,
                             password_hash=auth.stored_hash(DEMO_PASSWORD_HASHES[username], password))
            where = f"，县区 {county}" if county else (f"，企业 {credit}" if credit else "")
            lines.append(f"  {username:8s} 密码 {DEMO_PASSWORDS[username]:20s} {auth.ROLES[role]}：{display}{where}")
        lines.append("=" * 72)
        self.announce("\n".join(lines))
        self.audit(None, "用户", "演示账号", {"accounts": [a[0] for a in accounts]})

    def demo_enterprise(self) -> str | None:
        """A real enterprise of 柳南区 in the demo data that qualifies for at least one 2024Q4 measure."""
        codes = self.enterprises.filter(pl.col("county_code") == DEMO_COUNTY)["credit_code"].to_list()
        if not codes:
            codes = self.enterprises["credit_code"].to_list()[:200]
        if not codes:
            return None
        try:
            frame = candidate_facts(self.tables, codes, DEFAULT_PERIOD)
            ev = self.ruleset.evaluate(frame, DEFAULT_PERIOD, keep=["entity_id"])
            money = [cm.id for cm in ev.plan if cm.measure.kind == "money"]
            met = ev.frame.filter(pl.any_horizontal([pl.col(col(m, "status")) == MET for m in money])) \
                .sort("entity_id")
            if met.height:
                return met["entity_id"][0]
        except Exception:  # demo data without the period: any enterprise will do
            pass
        return sorted(codes)[0]

    def user(self, username: str) -> auth.User | None:
        row = auth.get_user(self.engine, username)
        return None if row is None else auth.User(row.id, row.username, row.display_name, row.role,
                                                  row.county_code, row.credit_code)

    def enterprise_of(self, username: str) -> str | None:
        u = self.user(username)
        return u.credit_code if u else None

    def users(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.users).order_by(db.users.c.id)).all()
        return [{"id": r.id, "username": r.username, "display_name": r.display_name, "role": r.role,
                 "role_label": auth.ROLES.get(r.role, r.role), "county_code": r.county_code,
                 "credit_code": r.credit_code, "active": r.active} for r in rows]

    def add_user(self, actor: auth.User, username: str, password: str, role: str, display_name: str,
                 county_code: str | None, credit_code: str | None) -> int:
        from huiqi.services.accounts import check_new_user

        username = check_new_user(self.engine, username, password, role, county_code, credit_code, roles=auth.ROLES,
                                  county_names=self.county_names, enterprises=self.county_of)
        uid = auth.create_user(self.engine, username, password, role, display_name or username,
                               county_code if role == "officer" else None,
                               credit_code if role == "enterprise" else None)
        self.audit(actor, "用户", username, {"role": role, "county_code": county_code, "credit_code": credit_code})
        return uid

    # -------------------------------------------------------------------------------------- parameter sets
    def ensure_parameter_set(self) -> None:
        with self.engine.begin() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(db.parameter_sets)).scalar_one():
                return
            result = conn.execute(db.parameter_sets.insert().values(
                name="现行参数", values_json="{}", budget_policy="pro_rata", active=True, version=1,
                updated_at=db.now(), updated_by="system"))
            conn.execute(db.parameter_history.insert().values(
                set_id=result.inserted_primary_key[0], version=1, values_json="{}", budget_policy="pro_rata",
                changes_json="[]", comment="初始：全部采用规则文件的默认值（文件未定的参数为“参数待定”）",
                at=db.now(), by="system"))

    def parameter_sets(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.parameter_sets).order_by(db.parameter_sets.c.id)).all()
        return [self._set_dict(r) for r in rows]

    @staticmethod
    def _set_dict(r) -> dict:
        return {"id": r.id, "name": r.name, "values": json.loads(r.values_json), "budget_policy": r.budget_policy,
                "active": r.active, "version": r.version, "updated_at": db.aware(r.updated_at).isoformat(),
                "updated_by": r.updated_by}

    def parameter_set(self, set_id: int) -> dict:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(db.parameter_sets).where(db.parameter_sets.c.id == set_id)).first()
            if r is None:
                raise WebError(404, f"没有编号为 {set_id} 的参数方案")
            hist = conn.execute(sa.select(db.parameter_history).where(db.parameter_history.c.set_id == set_id)
                                .order_by(db.parameter_history.c.version.desc())).all()
        out = self._set_dict(r)
        out["history"] = [{"version": h.version, "values": json.loads(h.values_json), "budget_policy": h.budget_policy,
                           "changes": json.loads(h.changes_json), "comment": h.comment,
                           "at": db.aware(h.at).isoformat(), "by": h.by} for h in hist]
        return out

    def active_set(self) -> dict:
        cached = self._active
        # re-read at most every ACTIVE_SET_TTL s: another worker process (serve --workers N) may have changed it
        if cached is not None and time.monotonic() - self._active_at < ACTIVE_SET_TTL:
            return cached
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(db.parameter_sets).where(db.parameter_sets.c.active.is_(True))
                             .order_by(db.parameter_sets.c.id)).first()
        if r is None:
            self.ensure_parameter_set()
            return self.active_set()
        self._active = self._set_dict(r)
        self._active_at = time.monotonic()
        return self._active

    def validate_values(self, values: Any) -> dict[str, str]:
        """Overrides as text, checked by the rule set (huiqi.services.parameters)."""
        return parameters.validate(self.ruleset, values)

    def params_for_engine(self, values: dict[str, str]) -> dict[str, object]:
        return parameters.for_engine(self.ruleset, values)

    def save_parameter_set(self, actor: auth.User, set_id: int | None, name: str | None, values: Any,
                           budget_policy: str | None, comment: str | None, activate: bool | None = None,
                           ip: str | None = None) -> dict:
        """huiqi.services.parameter_sets.save; then every cached answer and the active set are forgotten."""
        from huiqi.services import parameter_sets

        set_id = parameter_sets.save(self.engine, self.ruleset, actor.username, set_id, name, values, budget_policy,
                                     comment, activate, self._audit_as(actor, ip))
        self._calc_cache.clear()
        with self.lock:
            self._active = None
        return self.parameter_set(set_id)

    # ------------------------------------------------------------------------------------------ calculator
    def check(self, facts: dict, period: str, entity: str = "enterprise", params: dict | None = None) -> list:
        from huiqi.services.calculator import check

        return check(facts, period, entity=entity, params=params, ruleset=self.ruleset, library=self.library)

    def cache_get(self, key: tuple):
        return self._calc_cache.get(key)

    def cached(self, key: tuple, compute):
        return self._calc_cache.get_or_build(key, compute)

    # ------------------------------------------------------------------------------------------- screening
    def start_screening(self, actor: auth.User, period: str, set_id: int | None, measures: list[str] | None,
                        budget_policy: str | None, ip: str | None = None) -> str:
        """A screening job (huiqi.services.screening_jobs: the CLI's call, with the earlier quarters' awards)."""
        pset = self.parameter_set(set_id) if set_id is not None else self.active_set()
        tables, data_hash = self.data_and_hash()
        return self.screenings.start(actor, period, pset, measures, budget_policy, tables, data_hash, ip)

    def shutdown(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)  # not in the middle of a reload when the connections close
        self.screenings.shutdown()
        self.engine.dispose()

    def job(self, job_id: str) -> dict:
        return self.screenings.job(job_id)

    def jobs(self, limit: int = 50) -> list[dict]:
        return self.screenings.jobs(limit)

    def finished_job(self, job_id: str) -> dict:
        return self.screenings.finished(job_id)

    def results(self, job_id: str) -> pl.DataFrame:
        return self.screenings.results(job_id)

    def run_for(self, job_id: str):
        """The ScreeningRun (kept in memory; after a restart, re-run from the same inputs if the data are the same)."""
        return self.screenings.run_for(job_id, *self.data_and_hash())

    def export_excel(self, user: auth.User, job_id: str) -> Path:
        job = self.finished_job(job_id)
        out = self.runs_dir / job_id
        full = out / f"拟兑现名单_{job['period']}.xlsx"
        if user.is_admin:
            if full.exists():
                return full
            run = self.run_for(job_id)
        else:
            run = self.run_for(job_id)
        from huiqi.services.award_list import write_excel

        expr = self.scope_expr(user)
        scope = "全部" if expr is None else (user.county_code if user.role == "officer" else user.credit_code)
        # beside the job folder (whose manifest lists exactly its files); replaced in one step, so a download
        # running at the same time never sees half a workbook
        path = self.runs_dir / f"{job_id}-exports" / f"拟兑现名单_{job['period']}_{scope}.xlsx"
        if not path.exists():
            from huiqi.core.atomic import atomic_file

            scoped = run if expr is None else replace(run, results=run.results.filter(expr))
            with atomic_file(path) as tmp:
                write_excel(scoped, tmp, per_enterprise=expr is not None)  # a county's own to-do list
        return path

    def approve(self, actor: auth.User, job_id: str, scope: str | None, note: str | None, ip: str | None) -> dict:
        """huiqi.services.approvals.approve for a finished job; the job as the API shows it."""
        from huiqi.services import approvals

        self.finished_job(job_id)
        approvals.approve(self.engine, actor, job_id, scope, note, self.county_names, self._audit_as(actor, ip))
        return self.job(job_id)

    def audit_entries(self, limit: int = 200, offset: int = 0, action: str | None = None) -> list[dict]:
        q = sa.select(db.audit_log).order_by(db.audit_log.c.id.desc()).limit(limit).offset(offset)
        if action:
            q = q.where(db.audit_log.c.action == action)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{"id": r.id, "at": db.aware(r.at).isoformat(), "username": r.username, "role": r.role,
                 "action": r.action, "target": r.target, "detail": json.loads(r.detail) if r.detail else None,
                 "ip": r.ip} for r in rows]


def merge_tables(base: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Upsert ``new`` into ``base`` by each table's key (a new row replaces the stored one)."""
    out = dict(base)
    for name, frame in new.items():
        if frame.height == 0:
            continue
        t = TABLES[name]
        frame = frame.select([pl.col(c).cast(d) for c, d in t.schema.items()])
        old = out.get(name)
        if old is None or old.height == 0:
            out[name] = frame
            continue
        old = old.select([pl.col(c).cast(d) for c, d in t.schema.items()])
        kept = old.join(frame.select(list(t.key)), on=list(t.key), how="anti", nulls_equal=True)
        out[name] = pl.concat([kept, frame], how="vertical")
    return out


def candidate_facts(tables: dict[str, pl.DataFrame], codes: list[str], period: str) -> pl.DataFrame:
    """The facts of these enterprises only: every fact is built per enterprise from its own rows, so the rows are
    those of the whole register's facts, filtered — building all 10,000 was ~0.3–0.6 s of a first start (START-10)."""
    from huiqi.services.facts import enterprise_facts

    keep = pl.col("credit_code").is_in(codes)
    return enterprise_facts({name: t.filter(keep) if "credit_code" in t.columns else t for name, t in tables.items()},
                            period)


def _first_rows(codes: pl.Series) -> dict[str, int]:
    """{value: the index of its first row} (a duplicate keeps its first row, as filter(...).row(0) did)."""
    out: dict[str, int] = {}
    for i, code in enumerate(codes.to_list()):
        out.setdefault(code, i)
    return out
