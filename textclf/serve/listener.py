"""The listening side of ``textclf serve``: the port, uvicorn's settings, and a uvicorn server whose SIGTERM
drains the requests in flight and ends normally (uvicorn itself raises the signal again once it has stopped,
which would end the command with 143).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator

import uvicorn

from ..errors import UsageError
from .options import ServeOptions

log = logging.getLogger(__name__)


def reserve(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (0: a free port) but not yet listening, so that a taken port or an
    unknown host is refused at once, and connections are refused rather than left waiting until the server runs
    (it calls ``listen``). Raises a UsageError that says what to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY on accepted connections only when the protocol says TCP, and
    # without it a keep-alive client waits for its delayed ACK (40 ms) between a response's header and body
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT after a restart is free
        sock.bind((host, port))
    except socket.gaierror as exc:
        sock.close()
        raise UsageError(
            f"--host {host!r}: received a name that does not resolve ({exc.strerror}), expected an address of "
            "this machine such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from None
    except OSError as exc:
        sock.close()
        raise bind_error(host, port, exc) from None
    return sock


def bind_error(host: str, port: int, exc: OSError) -> Exception:
    if exc.errno == errno.EADDRINUSE:
        problem = f"--port {port}: received a port that another program is listening on, expected a free port"
        return UsageError(problem + "; choose another with --port (0 picks a free one)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        problem = f"--port {port}: received a port that needs more privileges ({exc.strerror}), expected 1024 or above"
        return UsageError(problem + "; choose another with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(
            f"--host {host}: received an address this machine does not have, expected 127.0.0.1, 0.0.0.0 or one "
            "of this machine's addresses"
        )
    return exc


def uvicorn_config(app, options: ServeOptions) -> uvicorn.Config:
    """uvicorn's settings: textclf's own log lines only (plus the access log with ``access_log``), no server
    header, and the drain timeout."""
    if options.access_log:
        access = logging.getLogger("uvicorn.access")
        access.addHandler(logging.StreamHandler(sys.stderr))
        access.setLevel(logging.INFO)
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=options.access_log,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=options.drain_timeout,
    )


class GracefulServer(uvicorn.Server):
    """uvicorn's server; SIGTERM and SIGINT stop it gracefully, and are not raised again afterwards."""

    stop_signal: int | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self, signum: int, frame) -> None:
        """The first signal drains; a second one stops at once."""
        if self.should_exit:
            self.force_exit = True
            return
        self.stop_signal = signum
        log.info("%s: stopping; finishing the requests in flight", signal.Signals(signum).name)
        self.should_exit = True
