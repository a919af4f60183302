"""A folder of generated tables in the layout `huiqi screen --data` reads (the register and side tables as
Parquet, the indicators as the panel): what several test modules' fixtures build, at their own size and seed."""

from __future__ import annotations

from pathlib import Path


def panel_directory(directory: Path, enterprises: int, seed: int) -> Path:
    from huiqi.data.panel import write_panel
    from huiqi.data.synthetic import generate, write_parquet

    write_parquet(generate(enterprises, seed=seed), directory)
    write_panel(directory)
    return Path(directory)
