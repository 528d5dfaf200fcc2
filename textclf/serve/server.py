"""Starting ``textclf serve``: check the extra, verify the run, open the port, run uvicorn, drain on SIGTERM.

The order matters. The run is verified against its manifest before the port opens, so a damaged run is
refused (exit 4) and nothing ever listened. TensorFlow starts next (the command keeps its native log lines off
the terminal by pointing descriptor 2 elsewhere, which must happen before uvicorn sets up its own logging).
Then the port opens and the model loads on a thread: ``GET /health`` answers 503 until it is ready. A model
that fails to load then stops the server with the load's error (exit 4 for a rejected run).

SIGTERM or Ctrl-C stops accepting connections, lets the requests in flight finish (at most ``drain_timeout``
seconds), stops the model's worker and returns normally: exit 0. A second signal stops at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from ..errors import UsageError
from .options import INSTALL_HINT, ServeOptions, token_from_environment

log = logging.getLogger(__name__)


def require_extra() -> None:
    """FastAPI and uvicorn come with the ``serve`` extra; without them, one message that says how to install."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"textclf serve: received an install without {exc.name or 'FastAPI'}, expected the serve extra "
            f"(FastAPI and uvicorn); install it with: {INSTALL_HINT}"
        ) from None


def serve(run_dir: str | os.PathLike, **settings) -> None:
    """Serve the run ``run_dir`` over HTTP until SIGTERM or Ctrl-C (see :class:`~textclf.serve.options.ServeOptions`
    for ``settings``; the token defaults to the environment's ``TEXTCLF_SERVE_TOKEN``).

    Raises:
        UsageError: the extra is missing, an option is out of range, the port is taken or the host unknown.
        ModelRejected: the run is damaged (before the port opens), or its model cannot be loaded.
    """
    require_extra()
    settings.setdefault("token", token_from_environment())
    options = ServeOptions(**settings)
    options.check()
    from ..run.directory import check_run_path, read_run
    from ..runtime import import_tensorflow
    from .listener import GracefulServer, reserve, uvicorn_config

    read_run(check_run_path(run_dir))  # the manifest and every file, before the port opens
    sock = reserve(options.host, options.port)  # a taken port is refused before TensorFlow starts
    try:
        import_tensorflow()
    except BaseException:
        sock.close()
        raise
    from .app import ServerState, create_app

    sock.listen(2048)
    state = ServerState(options)
    server = GracefulServer(uvicorn_config(create_app(state), options))
    loader = threading.Thread(target=load_model, args=(run_dir, state, server), name="textclf-serve-load", daemon=True)
    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    log.info("serving %s on %s (the page at /, the API docs at /docs); loading the model", run_dir, url)
    if not options.loopback and options.token is None:
        log.warning("listening on %s without a token: anyone who reaches this port can use the model; "
                    "set TEXTCLF_SERVE_TOKEN to require one", options.host)  # fmt: skip
    loader.start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        loader.join(options.drain_timeout)
        if state.model is not None:
            state.model.close(options.drain_timeout)
    if state.error is not None:
        raise state.error
    log.info("stopped")


def load_model(run_dir: str | os.PathLike, state, server) -> None:
    """Load the run (verified again) and make it the state's model; a failure stops the server with the error."""
    from ..use.classifier import Classifier
    from .model import ServedModel, manifest_digest

    started = time.perf_counter()
    try:
        clf = Classifier.load(run_dir)
        state.model = ServedModel(clf, state.options, manifest_digest(run_dir))
    except BaseException as exc:  # noqa: BLE001 - raised again by serve() once the server has stopped
        state.failed, state.error = True, exc
        server.should_exit = True
        return
    log.info(
        "model loaded in %.1f s: ready (%s, %d classes)", time.perf_counter() - started, clf.task, len(clf.classes)
    )
