"""The real `huiqi serve` as a process for tests that need it whole (several workers, the OS's sockets)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(demo_dir: Path, tmp_path: Path, workers: int = 2) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """`huiqi serve --workers N` on a free port with a fresh SQLite database: (process, port, its log file); stopped
    with Ctrl-C (killed if it does not stop) when the block ends. The caller waits for what it needs to be up."""
    port, log_path = free_port(), tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIQI_")}
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "huiqi", "serve", "--workers", str(workers), "--port", str(port),
                                 "--db", f"sqlite:///{tmp_path / 'huiqi.db'}", "--data", str(demo_dir),
                                 "--work", str(tmp_path / "work"), "--log-level", "warning"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
        try:
            yield proc, port, log_path
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
