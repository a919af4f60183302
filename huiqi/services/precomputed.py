"""Values computed once and kept in the database for every worker process: the 驾驶舱 report of a screened quarter
and the sandbox presets (computed with the screening run, so a first visit reads instead of computing), and the
sandbox's recent comparisons (so an Excel export works on whichever worker the request lands).

A value is keyed by a digest of everything it depends on (period, settings, parameter set and version, rule-set
version, data snapshot), so a stale value is never read: a change of any of them is a different key. Values are
pickled by the application itself and never read from anywhere else. Each kind keeps its newest ``KEEP`` values.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from datetime import datetime, timezone
from typing import Any, Callable

import sqlalchemy as sa

from huiqi.data.app_tables import precomputed as table

KEEP = {"monitor": 24, "scenario": 64, "simulation": 64}


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:32]


class Precomputed:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def get(self, kind: str, key: str) -> Any | None:
        with self.engine.connect() as conn:
            blob = conn.execute(sa.select(table.c.payload).where(table.c.kind == kind, table.c.key == key)).scalar()
        return None if blob is None else pickle.loads(blob)

    def put(self, kind: str, key: str, value: Any) -> None:
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.kind == kind, table.c.key == key))
            conn.execute(table.insert().values(kind=kind, key=key, payload=blob, created_at=datetime.now(timezone.utc)))
            keep = KEEP.get(kind, 16)
            old = conn.execute(sa.select(table.c.key).where(table.c.kind == kind)
                               .order_by(table.c.created_at.desc()).offset(keep)).scalars().all()
            if old:
                conn.execute(table.delete().where(table.c.kind == kind, table.c.key.in_(old)))

    def get_or_compute(self, kind: str, key: str, compute: Callable[[], Any]) -> Any:
        value = self.get(kind, key)
        if value is None:
            value = compute()
            self.put(kind, key, value)
        return value
