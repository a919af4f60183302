"""XLSX2-2: the award list's zip deflated at a chosen zlib level (huiqi.services.xlsx_zip) — the same parts, the
same bytes run after run, and no other workbook (nor another thread's) touched."""

from __future__ import annotations

import threading
import zipfile
from datetime import datetime
from io import BytesIO

import pytest
import xlsxwriter
import xlsxwriter.workbook

from huiqi.services import award_list, xlsx_zip
from huiqi.services.screening import screen


def _workbook(rows: int = 3_000) -> bytes:
    out = BytesIO()
    wb = xlsxwriter.Workbook(out, {"constant_memory": True})
    wb.set_properties({"created": datetime(2024, 12, 31)})
    ws = wb.add_worksheet("甲")
    for r in range(rows):
        ws.write_string(r, 0, f"柳州企业{r:05d}")
        ws.write_number(r, 1, r * 1.25)
    wb.close()
    return out.getvalue()


def _parts(xlsx: bytes) -> list[tuple[str, bytes, tuple]]:
    with zipfile.ZipFile(BytesIO(xlsx)) as z:
        return [(i.filename, z.read(i), i.date_time) for i in z.infolist()]


def test_installed_in_xlsxwriter():
    assert xlsx_zip.installed()
    assert issubclass(xlsxwriter.workbook.ZipFile, zipfile.ZipFile)


def test_a_level_changes_the_size_not_the_parts():
    default = _workbook()
    with xlsx_zip.compress_level(1):
        fast = _workbook()
    with xlsx_zip.compress_level(9):
        small = _workbook()
    assert _parts(fast) == _parts(default) == _parts(small)  # names, contents and timestamps
    assert len(fast) > len(default) >= len(small)
    assert _workbook() == default  # outside the block: zlib's default again


def test_the_same_level_gives_the_same_bytes():
    with xlsx_zip.compress_level(1):
        assert _workbook() == _workbook()


def test_another_thread_keeps_the_default_level():
    seen = {}

    def open_zip(name):
        seen[name] = xlsxwriter.workbook.ZipFile(BytesIO(), "w").compresslevel

    with xlsx_zip.compress_level(1):
        open_zip("inside")
        thread = threading.Thread(target=open_zip, args=("thread",))
        thread.start()
        thread.join()
    open_zip("after")
    assert seen == {"inside": 1, "thread": None, "after": None}


def test_a_level_the_caller_gives_wins():
    with xlsx_zip.compress_level(1):
        assert xlsxwriter.workbook.ZipFile(BytesIO(), "w", compresslevel=9).compresslevel == 9


@pytest.mark.parametrize("level", [-1, 10])
def test_a_level_outside_zlibs_is_refused(level):
    with pytest.raises(ValueError, match="0–9"):
        with xlsx_zip.compress_level(level):
            pass


def test_the_award_list_is_reproducible_at_its_level(tmp_path, monkeypatch):
    from huiqi.data.synthetic import generate

    run = screen(generate(600, seed=2024), "2024Q4")
    a = award_list.write_excel(run, tmp_path / "a.xlsx").read_bytes()
    assert award_list.write_excel(run, tmp_path / "b.xlsx").read_bytes() == a
    monkeypatch.setattr(award_list, "ZIP_LEVEL", 9)
    smaller = award_list.write_excel(run, tmp_path / "c.xlsx").read_bytes()
    assert _parts(smaller) == _parts(a) and len(smaller) < len(a)
