"""``textclf serve``: a trained run behind a JSON HTTP API, with a small page to try it.

Needs the ``serve`` extra (``pip install 'textclf[serve]'``: FastAPI and uvicorn). Nothing here is imported by
``textclf --help`` or by the rest of the library: :func:`textclf.serve.server.serve` checks the extra, verifies
the run and starts the server. The modules:

- ``options.py``: :class:`ServeOptions`, the limits and settings of a server (no FastAPI);
- ``batching.py``: the micro-batcher, one worker thread that gathers concurrent requests into one model call;
- ``model.py``: a loaded run as the server uses it: predictions and explanations as JSON-ready dicts;
- ``app.py``: the FastAPI application: the endpoints, the limits, the token, the error responses;
- ``page.py`` and ``page.html``: the page at ``/`` and its Content-Security-Policy;
- ``server.py``: verifying the run, binding the port, running uvicorn, draining on SIGTERM.
"""
