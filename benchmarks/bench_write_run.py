"""`award_list.write_run` alone, in one process: screen once, then write the run's outputs (the Excel award list,
results.parquet, the summaries, the manifest) with this checkout's writer and, with --base, with another checkout's
award_list.py (and its xlsx_rows.py) beside it, alternating, so both see the same machine load; then checks that
both workbooks hold the same cells (openpyxl: every cell's value and number format; the bytes differ since XLSX2-1).

Run: .venv/bin/python benchmarks/bench_write_run.py --size 100000 [--base /tmp/base-excel] [--repeat 3]
     (bench_openfisca_e2e.py's write: --measures gx2024q4-21,gx2024q4-22a,gx2024q4-22b --no-explain)
Not a timed test: the machine is shared; compare the two in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import statistics
import sys
import tempfile
import time
from itertools import zip_longest
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_screening import ensure_data  # noqa: E402


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SIZES: dict[str, dict[str, int]] = {}  # per writer module: the Parquet files write_tables wrote, in bytes
DIGESTS: dict[str, set[tuple[str, str]]] = {}  # per writer module: (file, sha256) of every data file written


def _time(write, run, parts: dict[str, list[float]]) -> float:
    """Whole write_run, and its workbook and tables parts, each into a fresh folder."""
    with tempfile.TemporaryDirectory() as tmp:
        t, cpu = time.perf_counter(), time.process_time()
        write.write_run(run, Path(tmp) / "out")
        whole = time.perf_counter() - t
        parts.setdefault("write_run CPU", []).append(time.process_time() - cpu)  # all threads
    with tempfile.TemporaryDirectory() as tmp:
        t, cpu = time.perf_counter(), time.process_time()
        write.write_excel(run, Path(tmp) / "a.xlsx")
        parts.setdefault("write_excel", []).append(time.perf_counter() - t)
        parts.setdefault("write_excel CPU", []).append(time.process_time() - cpu)  # steadier on a loaded machine
        t, cpu = time.perf_counter(), time.process_time()
        write.write_tables(run, Path(tmp))
        parts.setdefault("write_tables", []).append(time.perf_counter() - t)
        parts.setdefault("write_tables CPU", []).append(time.process_time() - cpu)
        SIZES[write.__name__] = {p.name: p.stat().st_size for p in Path(tmp).glob("*.parquet")}
        DIGESTS.setdefault(write.__name__, set()).update(
            (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in Path(tmp).iterdir() if p.suffix != ".xlsx")
    parts.setdefault("write_run", []).append(whole)
    return whole


def _load_writer(checkout: Path):
    """Another checkout's award_list with that checkout's own xlsx_rows (not this one's, which it would import)."""
    module = _load(checkout / "huiqi/services/award_list.py", "award_list_base")
    module.xlsx_rows = _load(checkout / "huiqi/services/xlsx_rows.py", "xlsx_rows_base")
    return module


def _cells(path: Path) -> Iterator[tuple]:
    """Every cell of a workbook, sheet by sheet, as (sheet, row, column, value, number format)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is not None or getattr(cell, "number_format", None) not in (None, "General"):
                        yield ws.title, cell.row, cell.column, cell.value, cell.number_format
    finally:
        wb.close()


def _same_workbook(writers: dict, run) -> tuple[bool, bool]:
    """Whether each writer's award list holds the same cells (value and number format), and the same bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = [module.write_excel(run, Path(tmp) / f"{name}.xlsx") for name, module in writers.items()]
        same_bytes = len({hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}) == 1
        same_cells = all(a == b for a, b in zip_longest(*(_cells(p) for p in paths)))
    return same_cells, same_bytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--period", default="2024Q4")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--measures", help="only these measures (comma-separated), e.g. bench_openfisca_e2e.py's three")
    ap.add_argument("--no-explain", action="store_true", help="screen without explanations (bench_openfisca_e2e.py)")
    ap.add_argument("--base", type=Path, help="another checkout whose huiqi/services/award_list.py to compare")
    args = ap.parse_args()
    from huiqi.interfaces.cli_common import load_tables
    from huiqi.services import award_list
    from huiqi.services.screening import directory_hash, screen

    data = ensure_data(args.size)
    t = time.perf_counter()
    run = screen(load_tables(data, None), args.period, data_hash=directory_hash(data),
                 measures=args.measures.split(",") if args.measures else None, explain=not args.no_explain,
                 list_pending=False)  # as `huiqi screen` does by default
    print(f"screened {args.size:,} in {time.perf_counter() - t:.1f} s; {run.paid().height:,} paid rows, "
          f"{run.results.height:,} result rows")
    writers = {"this": award_list}
    if args.base:
        writers["base"] = _load_writer(args.base)
    parts = {k: {} for k in writers}
    for _ in range(args.repeat):
        for name, module in writers.items():
            _time(module, run, parts[name])
    for name, p in parts.items():
        print(f"  {name:5}: " + ", ".join(f"{k} {statistics.median(v):.2f} s (min {min(v):.2f})" for k, v in p.items()))
        print("         every run: " + "; ".join(f"{k} " + " ".join(f"{x:.2f}" for x in v) for k, v in p.items()))
        files = SIZES[writers[name].__name__]
        print(f"         Parquet files: {sum(files.values()) / 2**20:.1f} MiB (" +
              ", ".join(f"{k} {v / 2**20:.1f}" for k, v in sorted(files.items())) + ")")
    if args.base:
        same_cells, same_bytes = _same_workbook(writers, run)
        print(f"  workbook cells identical (openpyxl: value and number format, this vs base): {same_cells}; "
              f"bytes identical: {same_bytes}")
        # every repeat of each writer, and both writers, wrote the same data files (manifest included)
        same = DIGESTS[award_list.__name__] == DIGESTS[writers["base"].__name__] and \
            len(DIGESTS[award_list.__name__]) == len({name for name, _ in DIGESTS[award_list.__name__]})
        print(f"  data files bytes identical (sha256 of each, every repeat, this vs base): {same}")
        b, n = parts["base"], parts["this"]
        print("  ratio base/this: " + ", ".join(f"{k} {statistics.median(b[k]) / statistics.median(n[k]):.2f}×"
                                                 for k in b))


if __name__ == "__main__":
    main()
