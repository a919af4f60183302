"""政策月历: application windows and deadlines by month, from the 申报事项 files.

A window with a stated date gives one dated entry per stated date (开始 / 截止); a window without dates
(以通知为准, 常年受理, 即时申报) has no place on a calendar and is shown only with its programme.
Filters: 县区 (a programme limited to a 设区市 applies only to that city's counties), industry (GB/T 4754
code) and an enterprise's own matches (the measures it qualifies for or could: not 不符合).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from huiqi.core.regions import COUNTIES, COUNTY_BY_CODE, is_industrial, is_manufacturing
from huiqi.policies.library import Library, default_library
from huiqi.rules.application import Programme, Window, default_applications

OPENS, CLOSES = "开始", "截止"
UPCOMING_DAYS = 14


@dataclass(frozen=True)
class Entry:
    day: date
    kind: str  # 开始 / 截止
    programme_id: str
    programme: str
    window: str
    document_id: str
    document_title: str
    office: str | None
    phones: tuple[str, ...]
    quote: str
    clause: str
    measures: tuple[str, ...]

    @property
    def month(self) -> str:
        return f"{self.day.year}-{self.day.month:02d}"


def city_of(county: str) -> str:
    """A 县区 by code (450204) or name (柳南区) → its 设区市; a 设区市 name passes through."""
    if county in COUNTY_BY_CODE:
        return COUNTY_BY_CODE[county].city
    for c in COUNTIES:
        if county in (c.name, c.city):
            return c.city
    raise ValueError(f"县区“{county}”不在广西的县区名录中")


def _industry_fits(p: Programme, industry_code: str) -> bool:
    if not p.industries:
        return True
    checks = {"工业": is_industrial, "制造业": is_manufacturing,
              "软件和信息技术服务业": lambda code: str(code).strip()[:2] == "65"}
    return any(checks[i](industry_code) for i in p.industries)


def programmes(county: str | None = None, industry: str | None = None,
               measures: Iterable[str] | None = None) -> list[tuple[str, Programme]]:
    """(document id, programme) that apply to a 县区 / industry / set of measures (None = no filter)."""
    city = city_of(county) if county else None
    wanted = set(measures) if measures is not None else None
    out = []
    for doc_id, p in default_applications():
        if city and p.region and p.region != city:
            continue
        if industry and not _industry_fits(p, industry):
            continue
        if wanted is not None and not wanted.intersection(p.measures):
            continue
        out.append((doc_id, p))
    return out


def entries(county: str | None = None, industry: str | None = None, measures: Iterable[str] | None = None,
            start: date | None = None, end: date | None = None, library: Library | None = None) -> list[Entry]:
    """Dated entries between ``start`` and ``end`` (inclusive, either open), by date then programme."""
    library = library or default_library()
    out: list[Entry] = []
    for doc_id, p in programmes(county, industry, measures):
        doc = library.document(doc_id)
        for w in p.windows:
            for kind, day in ((OPENS, w.opens), (CLOSES, w.closes)):
                if day is None or (start and day < start) or (end and day > end):
                    continue
                out.append(Entry(day, kind, p.id, p.name, w.name, doc_id, doc.title,
                                 p.office.label if p.office else None, tuple(x.label for x in p.phones),
                                 w.quote, w.clause, tuple(p.measures)))
    return sorted(out, key=lambda e: (e.day, e.kind != CLOSES, e.programme_id, e.window))


def by_month(items: list[Entry]) -> dict[str, list[Entry]]:
    months: dict[str, list[Entry]] = {}
    for e in items:
        months.setdefault(e.month, []).append(e)
    return months


def month_range(month: str) -> tuple[date, date]:
    """'2024-06' → (2024-06-01, 2024-06-30)."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise ValueError(f"月份“{month}”格式应为 年-月，如 2024-06") from None
    nxt = date(year + (mon == 12), mon % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def upcoming(today: date, measures: Iterable[str] | None = None, county: str | None = None,
             days: int = UPCOMING_DAYS) -> list[Entry]:
    """即将截止: deadlines from today to today + days (inclusive)."""
    return [e for e in entries(county=county, measures=measures, start=today, end=today + timedelta(days=days))
            if e.kind == CLOSES]


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def window_text(w: Window) -> str:
    if w.opens and w.closes:
        return f"{w.name}：{cn_date(w.opens)}至{cn_date(w.closes)}"
    if w.closes:
        return f"{w.name}：{cn_date(w.closes)}截止"
    if w.opens:
        return f"{w.name}：{cn_date(w.opens)}起"
    return w.text or w.name


def how_to_apply(measure_ids: Iterable[str]) -> dict[str, dict]:
    """measure ID → {programme, windows, office, phones} for the calculator's results (first programme wins)."""
    out: dict[str, dict] = {}
    for _doc, p in default_applications():
        view = {"programme": p.name, "windows": [window_text(w) for w in p.windows],
                "office": p.office.label if p.office else None, "phones": [x.label for x in p.phones]}
        for m in p.measures:
            out.setdefault(m, view)
    wanted = set(measure_ids)
    return {m: v for m, v in out.items() if m in wanted}


def ical(items: list[Entry], name: str = "惠企政策月历") -> bytes:
    """An iCalendar (RFC 5545) feed: one all-day event per entry, with a stable UID."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//huiqi//政策月历//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    stamp = datetime(2024, 1, 1, tzinfo=timezone.utc)  # fixed: the same data gives the same bytes
    for e in items:
        ev = Event()
        uid = hashlib.sha256(f"{e.programme_id}|{e.window}|{e.kind}|{e.day}".encode()).hexdigest()[:24]
        ev.add("uid", f"{uid}@huiqi")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.day)
        ev.add("dtend", e.day + timedelta(days=1))
        ev.add("summary", f"【{e.kind}】{e.programme}（{e.window}）")
        lines = [f"依据：{e.document_title}", f"原文：{e.quote}"]
        if e.office:
            lines.append(f"受理/主管：{e.office}")
        if e.phones:
            lines.append("咨询电话：" + "；".join(e.phones))
        ev.add("description", "\n".join(lines))
        cal.add_component(ev)
    return cal.to_ical()
