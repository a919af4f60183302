"""`huiqi serve --workers N`: uvicorn's worker processes, each listening on a socket of its own on the same port.

uvicorn's own `--workers` shares one listening socket among its processes. A process woken by a new connection
accepts every connection then waiting, so keep-alive clients that connect together land on whichever process woke
first: 42 of 50 load-test clients on one of two workers, 38 of 50 in the next run, while the other idled (decisions
WEB10-1). With SO_REUSEPORT each worker listens on a socket of its own and the kernel hands every new connection to
one of them by a hash of its addresses, so each of N workers gets about 1/N of the clients.

uvicorn's supervisor (`Multiprocess`: starting, health checks, restarts, signals) is used as it is. It gives each
worker it spawns the parent's socket by pickling it; the parent's socket here is a `PortReservation`, which pickles
as "open your own socket on this address", so every worker — a restarted one too — listens on a socket of its own.
The parent keeps its socket bound but never listens on it: it holds the port while workers come and go.
"""

from __future__ import annotations

import argparse
import socket
import sys

STARTUP_FAILURE = 3  # uvicorn's exit status for a worker that cannot start: its supervisor then stops, not respawns
APP = "huiqi.interfaces.web.app:app_from_env"


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def worker_socket(family: int, address: tuple) -> socket.socket:
    """A worker's own socket on the shared address (uvicorn listens on it). Called when a worker unpickles the
    parent's `PortReservation`."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError as e:  # the port was taken between the parent's bind and this worker's: no point respawning
        print(f"错误：服务进程无法监听 {address[0]}:{address[1]}（{e.strerror}）", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    return sock


class PortReservation(socket.socket):
    """The parent's socket: bound to the address (SO_REUSEPORT), never listening; pickled, a worker's own socket."""

    def __reduce__(self):
        return worker_socket, (self.family, self.getsockname())


def reserve_port(host: str, port: int) -> socket.socket:
    """The parent's `PortReservation` for (host, port); SystemExit with a message if another program holds it.

    The port is first bound the way uvicorn binds it (SO_REUSEADDR alone): that fails if any other socket is
    listening on it, so a second `huiqi serve` started on a busy port stops here instead of joining the first
    server's SO_REUSEPORT group and silently taking half its connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise SystemExit(f"错误：无法监听 {host}:{port}（{e.strerror}；端口是否已被其他程序占用？）") from None
        port = probe.getsockname()[1]  # port 0: the port the system chose, the same for every worker
    reservation = PortReservation(family, socket.SOCK_STREAM)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reservation.bind((host, port))
    return reservation


def run(host: str, port: int, workers: int, log_level: str, access_log: bool) -> None:
    """uvicorn's supervisor over `workers` processes of the app (`web.app:app_from_env`, reading HUIQI_* settings)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=workers, log_level=log_level,
                            proxy_headers=False, access_log=access_log)
    if reuse_port_supported():
        sock = reserve_port(host, port)
        print(f"在 {host}:{sock.getsockname()[1]} 上启动{workers}个服务进程（各自监听，连接由系统均分）", file=sys.stderr)
    else:  # no SO_REUSEPORT on this system: uvicorn's one shared socket
        sock = config.bind_socket()
    Multiprocess(config, sockets=[sock]).run()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m huiqi.interfaces.serve_workers", description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--no-access-log", dest="access_log", action="store_false")
    a = ap.parse_args(argv)
    run(a.host, a.port, a.workers, a.log_level, a.access_log)


if __name__ == "__main__":  # a spawned worker imports this module as __mp_main__: only the parent runs main()
    main()
