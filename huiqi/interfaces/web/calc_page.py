"""The 政策计算器 page's results fragment (``_calc_results.html``), built from the check's own result objects.

A check of new facts shares nearly all its result objects with earlier checks (the calculator memo hands out the
same objects: 97% of the results of 1,000 different demo enterprises), so each result's ``<article>`` is rendered
once per result object (``_calc_result.html``) and remembered; a request renders only its summary and deadlines
and joins the articles. Rendering every article each time was half of the page's server CPU (PAGE11-1).

Runs in the calculator batcher's worker thread (``checking.batched_check``'s ``finish``): it only reads the
results (they are the memo's own).
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from markupsafe import escape

from huiqi.interfaces.web.presenters import remembered_for, result_document, summary_dict
from huiqi.services.presenters import MONITORING_MEASURES

STATUS_ORDER = {"符合": 0, "待补充信息": 1, "参数待定": 2, "不符合": 3}

# id(result) → (result, its article HTML) for results the memo shares (never modified): the entry holds the
# result, so its id is not reused while the entry exists (as presenters' _SHARED_JSON). What else an article shows
# (how to apply, the parameters' names) is the process's fixed data. Cleared when full, like the memo.
_ARTICLES: dict[int, tuple[Any, bytes]] = {}
_ARTICLES_MAX = 20_000  # ~2 KB each: at most ~40 MB per process
# the tuple of field names → the out-of-band spans that clear the form's error messages (one per field)
_FIELD_ERRORS: dict[tuple, bytes] = {}


def _sort_key(r) -> tuple:
    """Largest amount first (as the 分 the page shows), then by status: the order the page always had."""
    fen = int(r.amount_yuan * 100) if r.amount_yuan is not None else 0
    return -fen, STATUS_ORDER.get(r.status, 9)


def _article_view(r) -> SimpleNamespace:
    """What ``_calc_result.html`` reads of one result (the JSON document's fields, with how to apply and the
    pending parameters' names: people read a parameter's name, not its code). Attributes, not dict keys: Jinja
    tries an attribute first, and a dict's miss raises (a third of an article's render); the conditions and the
    missing facts are the result's own objects, with the same values as the document's dicts."""
    from huiqi.services.calculator import default_ruleset

    d = result_document(r)
    params = default_ruleset().parameters
    d["pending_labels"] = [params[p].label if p in params else "待定参数" for p in r.pending_parameters or []]
    d["apply"] = how_to_apply().get(r.measure_id)
    d["conditions"], d["missing"] = r.conditions, r.missing
    return SimpleNamespace(**d)


# (the programmes it was built from, measure ID → how to apply): calendar.how_to_apply walks every programme and
# words every window (~120 µs a call, more than rendering the article), and the programmes are fixed per process
_APPLY: tuple[Any, dict] = (None, {})


def how_to_apply() -> dict:
    """Measure ID → ``calendar.how_to_apply``'s view (as attributes), for every measure a programme names, built
    once."""
    global _APPLY
    from huiqi.rules.application import default_applications
    from huiqi.services import calendar as cal

    programmes = default_applications()
    if _APPLY[0] is not programmes:
        views = cal.how_to_apply({m for _doc, p in programmes for m in p.measures})
        _APPLY = (programmes, {m: SimpleNamespace(**v) for m, v in views.items()})
    return _APPLY[1]


def article(env, r, remember: bool = True, template=None) -> bytes:
    """One result's ``<article>`` between newlines (as the page's loop laid them out), UTF-8, rendered once per
    shared result object (``remember``: ``r`` is the memo's own, never modified; a caller's own copy is rendered
    afresh and not kept). ``template``: ``_calc_result.html`` as the caller already got it from ``env``."""
    if not remember:
        return _render_article(env, r, template)
    return remembered_for(_ARTICLES, r, lambda r: _render_article(env, r, template), _ARTICLES_MAX)


def _render_article(env, r, template=None) -> bytes:
    template = template or env.get_template("_calc_result.html")
    return ("\n" + template.render(r=_article_view(r)) + "\n").encode()


def field_errors(names: tuple) -> bytes:
    """The out-of-band spans that clear each field's error message (fixed per field list), UTF-8."""
    out = _FIELD_ERRORS.get(names)
    if out is None:
        out = _FIELD_ERRORS[names] = "".join(
            f'<span class="field-error" id="err-{escape(n)}" hx-swap-oob="true"></span>' for n in names).encode()
    return out


def fragment(env, results: list, period: str, today: date, field_names: tuple, remember: bool = True) -> bytes:
    """The results fragment for a check's results, UTF-8: the summary (counts without the 临退规 monitoring rules,
    which are 驾驶舱 lists, not measures an enterprise can enjoy or miss) and deadlines within 14 days of ``today``
    for the measures not 不符合 (``_calc_results.html``), then the results largest amount first, each with how to
    apply (``_calc_result.html``), then the out-of-band spans clearing the error messages of ``field_names`` (the
    form's fields). Joined as bytes: the articles are kept encoded, so the 130 KB answer is neither joined by Jinja
    nor encoded again. ``remember``: see ``article``."""
    from huiqi.services import calendar as cal

    shown = [r for r in results if r.measure_id not in MONITORING_MEASURES]
    counts: dict[str, int] = {}
    for r in shown:
        counts[r.status] = counts.get(r.status, 0) + 1
    shown.sort(key=_sort_key)
    open_ids = [r.measure_id for r in shown if r.status != "不符合"]
    upcoming = cal.upcoming(today, measures=open_ids) if open_ids else []
    summary = SimpleNamespace(**{**summary_dict(results), "counts": counts})
    head = env.get_template("_calc_results.html").render(
        outcome=SimpleNamespace(period=period, summary=summary, upcoming=upcoming))
    # the article's template got once a check: each get_template stats the file (Jinja's auto_reload), a system
    # call that lets go of the GIL and waits to take it back from the event loop (WEB12-3)
    one = env.get_template("_calc_result.html")
    return b"".join([(head + "\n").encode(), *[article(env, r, remember, one) for r in shown], b"\n",
                     field_errors(field_names)])
