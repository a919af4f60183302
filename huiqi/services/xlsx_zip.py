"""A zlib level for the zip xlsxwriter packs a workbook into (docs/decisions.md XLSX2-2).

xlsxwriter 3 has no option for it: ``Workbook._store_workbook`` builds ``ZipFile(filename, "w",
compression=ZIP_DEFLATED)`` by its module's global name, so zlib's default level 6 deflates every part. At a
million enterprises that is ~0.4 s of a 57 MB sheet XML; level 1 takes about a third of that for a file about a
quarter larger. Here that global name is a ZipFile subclass taking its level from a context variable: a workbook
closed inside :func:`compress_level` is deflated at that level, every other one (and every other thread's) exactly as
before. The same level and zlib give the same bytes, so a run stays reproducible.
"""

from __future__ import annotations

import zipfile
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import xlsxwriter.workbook

_LEVEL: ContextVar[int | None] = ContextVar("xlsx_zip_level", default=None)


class _LevelledZipFile(zipfile.ZipFile):
    """A ZipFile whose default ``compresslevel`` is the context's, when one is set and the caller gave none."""

    def __init__(self, *args, **kwargs):
        level = _LEVEL.get()
        if level is not None and kwargs.get("compresslevel") is None and len(args) < 5:
            kwargs["compresslevel"] = level
        super().__init__(*args, **kwargs)


def installed() -> bool:
    """Whether xlsxwriter builds its zip through :class:`_LevelledZipFile` (installed once, on import, if its
    ``ZipFile`` is the standard library's; otherwise the level is silently not applied)."""
    return xlsxwriter.workbook.ZipFile is _LevelledZipFile


if getattr(xlsxwriter.workbook, "ZipFile", None) is zipfile.ZipFile:
    xlsxwriter.workbook.ZipFile = _LevelledZipFile


@contextmanager
def compress_level(level: int) -> Iterator[None]:
    """Within this block (this thread or task only), xlsxwriter workbooks are deflated at zlib ``level`` (0–9)."""
    if not 0 <= level <= 9:
        raise ValueError(f"zlib level must be 0–9, not {level}")
    token = _LEVEL.set(level)
    try:
        yield
    finally:
        _LEVEL.reset(token)
