"""uvicorn's httptools protocol with a response's head and its first body bytes sent in one write.

uvicorn writes the status line and headers in one ``transport.write`` and the body in the next: two send system
calls per answer, made on the event loop's thread (on loopback a send also runs the receiver's TCP path). For
a served check (a 165 KB body) they were ~18% of the loop's samples (docs/decisions.md WEB8-3). An ASGI app cannot
join them, but uvicorn takes a protocol class (``http=``): this one keeps the head back until the response's next
write (or until the connection's transport is used in any other way) and sends both as one. The bytes on the wire,
and their order, are uvicorn's own; only the number of writes changes (tests/web/test_one_write.py).

    uvicorn.run(app, http="huiqi.interfaces.web.one_write:OneWriteProtocol")
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

SPEC = "huiqi.interfaces.web.one_write:OneWriteProtocol"  # for uvicorn's http= option and its --http flag


class HeadHolder:
    """A connection's transport as uvicorn's protocol and its response cycles see it: while ``holding``, a write is
    kept; the kept bytes go out in front of the next write, or on their own before any other use of the
    transport (close, pause, …) and when ``flush`` is called."""

    __slots__ = ("transport", "held", "holding")

    def __init__(self, transport):
        self.transport, self.held, self.holding = transport, None, False

    def write(self, data) -> None:
        if self.holding:
            self.held = data if self.held is None else self.held + data
            return
        if self.held is None:
            self.transport.write(data)
        else:  # one send of both buffers (uvloop: one writev), without copying the body behind the head
            held, self.held = self.held, None
            self.transport.writelines((held, data))

    def flush(self) -> None:
        if self.held is not None:
            data, self.held = self.held, None
            if not self.transport.is_closing():  # the peer went away: uvicorn's own write would have been lost too
                self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:  # asked after every response (uvicorn's on_response_complete)
        self.flush()
        return self.transport.is_closing()

    def __getattr__(self, name):  # is_closing, get_extra_info, set_protocol, …: the transport's own, after a flush
        self.flush()
        return getattr(self.transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose response cycles hold the head (the ``http.response.start`` message's one write) until
    the response's first body write; after each body message anything still held (a HEAD request's head, a body
    refused for its length) is sent, so nothing is ever left behind."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)  # the flow control and addresses keep the real transport
        self.transport = HeadHolder(transport)

    def on_headers_complete(self) -> None:
        previous = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not previous:  # a new request (not an upgrade): its cycle not yet started
            cycle.send = _holding_send(cycle.send, self.transport)


def _holding_send(send, holder: HeadHolder):
    """The cycle's send with its head's write held back (run_asgi looks ``send`` up when the task starts)."""

    async def holding_send(message) -> None:
        if message["type"] == "http.response.start":
            holder.holding = True
            try:
                await send(message)
            finally:
                holder.holding = False
            return
        try:
            await send(message)
        finally:
            holder.flush()

    return holding_send


def http_option(environ=None) -> str:
    """uvicorn's ``http`` for `huiqi serve`: its own choice ("auto": httptools, a dependency), or this protocol with
    HUIQI_ONE_WRITE=1.
    Off by default: it saves a system call per answer, but no run showed the server's CPU lower beyond the shared
    machine's noise (0.92–1.02× a check, decision WEB9-1); a quiet host can settle it (bench_web's ``one-write``)."""
    import os

    environ = os.environ if environ is None else environ
    return SPEC if environ.get("HUIQI_ONE_WRITE", "0").strip() == "1" else "auto"
