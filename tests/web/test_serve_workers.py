"""WEB10-1: `huiqi serve --workers N` gives every worker a listening socket of its own (SO_REUSEPORT), so the kernel
spreads connections among the workers instead of the first one woken accepting them all; a busy port is refused in
Chinese, and a second server cannot join the first one's port."""

from __future__ import annotations

import socket
import time
from multiprocessing.reduction import ForkingPickler

import psutil
import pytest
import requests

from huiqi.interfaces import serve_workers
from tests.web.served import served

pytestmark = pytest.mark.skipif(not serve_workers.reuse_port_supported(), reason="no SO_REUSEPORT on this system")


def _handed_to_a_worker(sock: socket.socket) -> socket.socket:
    """What a spawned worker receives: uvicorn's supervisor pickles the parent's socket with multiprocessing's
    pickler."""
    return ForkingPickler.loads(bytes(ForkingPickler.dumps(sock)))


def test_each_worker_gets_a_socket_of_its_own_on_the_reserved_address():
    with serve_workers.reserve_port("127.0.0.1", 0) as reserved:
        first, second = _handed_to_a_worker(reserved), _handed_to_a_worker(reserved)
        with first, second:
            assert type(first) is socket.socket and first.fileno() != second.fileno() != reserved.fileno()
            assert first.getsockname() == second.getsockname() == reserved.getsockname()
            assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            first.listen()
            second.listen()  # both listen on the one port: the kernel spreads connections between them
            with socket.create_connection(reserved.getsockname(), timeout=5):
                pass


def test_a_busy_port_is_refused_with_a_message():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(SystemExit) as refused:
            serve_workers.reserve_port("127.0.0.1", port)
    assert f"无法监听 127.0.0.1:{port}" in str(refused.value) and "占用" in str(refused.value)


def test_a_second_server_cannot_join_a_running_one():
    """Another `huiqi serve` on the same port must stop, not take half of the first server's connections."""
    with serve_workers.reserve_port("127.0.0.1", 0) as reserved:
        with _handed_to_a_worker(reserved) as worker:
            worker.listen()
            with pytest.raises(SystemExit):
                serve_workers.reserve_port("127.0.0.1", reserved.getsockname()[1])


def _tcp(process: psutil.Process, port: int, status: str) -> int:
    try:
        return sum(1 for c in process.net_connections(kind="tcp") if c.laddr.port == port and c.status == status)
    except psutil.NoSuchProcess:
        return 0


@pytest.mark.slow
def test_served_workers_listen_apart_and_share_the_clients(demo_dir, tmp_path):
    """The real command with two workers: two listening sockets (one per worker), and 40 keep-alive clients
    connecting together end up on both workers (with one shared socket, 42 of 50 went to one worker)."""
    with served(demo_dir, tmp_path) as (proc, port, log):
        base, deadline = f"http://127.0.0.1:{port}", time.time() + 180
        parent = psutil.Process(proc.pid)
        while True:  # both workers up: two listening sockets
            workers = [p for p in parent.children(recursive=True) if _tcp(p, port, psutil.CONN_LISTEN)]
            if len(workers) == 2:
                break
            assert proc.poll() is None and time.time() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        assert requests.get(f"{base}/healthz", timeout=10).ok
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
        try:
            for c in clients:  # one request on each keep-alive connection: accepted and answered
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            for c in clients:
                assert c.recv(64).startswith(b"HTTP/1.1 200")
            shares = sorted(_tcp(w, port, psutil.CONN_ESTABLISHED) for w in workers)
            assert sum(shares) == 40 and shares[0] >= 6, shares  # binomial(40, ½): below 6 about once in 10⁵ runs
        finally:
            for c in clients:
                c.close()
