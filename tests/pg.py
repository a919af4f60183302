"""A throwaway PostgreSQL server for tests: initdb into a temp dir, start on a free 127.0.0.1 port, stop after.

Uses the Debian `postgresql` package's binaries (/usr/lib/postgresql/<version>/bin). initdb refuses to run as
root, so when the tests run as root (CI containers) every server command runs as the `postgres` system user that
the Debian package creates (`runuser -u postgres --`), in a temp dir owned by that user. As any other user the
binaries run directly. If the binaries (or, as root, the `postgres` user) are missing, the tests that need the
server are skipped with the reason.

    from pg import postgres_url        # a session fixture yielding "postgresql+psycopg://huiqi@127.0.0.1:<port>/huiqi"
    with running_postgres() as url: …  # the same outside pytest (benchmarks)
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable("PostgreSQL binaries not found (install the Debian package: apt-get install -y "
                                  "postgresql)")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no `postgres` user to run initdb as") from None
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="huiqi-pg-"))
    data, sock, log = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    if owner is not None:
        for p in (root, sock):
            os.chown(p, owner.pw_uid, owner.pw_gid)
    port = _free_port()

    def run(*args: str) -> None:
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            extra = log.read_text(errors="replace") if log.exists() else ""
            raise PostgresUnavailable(f"{' '.join(args[:2])} failed: {proc.stderr.strip()} {extra[-2000:]}")

    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "huiqi", "--auth=trust", "-E", "UTF8", "--locale=C",
            "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
            f"-p {port} -h 127.0.0.1 -k {sock} -F -c max_connections=20 -c shared_buffers=32MB", "start")
        started = True
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "huiqi", "huiqi")
        yield f"postgresql+psycopg://huiqi@127.0.0.1:{port}/huiqi"
    finally:
        if started:
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        cm = running_postgres()
        url = cm.__enter__()
    except PostgresUnavailable as e:
        pytest.skip(f"PostgreSQL not available: {e}")
    try:
        yield url
    finally:
        cm.__exit__(None, None, None)
