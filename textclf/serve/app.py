"""The HTTP API of ``textclf serve``: a FastAPI application over one :class:`~textclf.serve.model.ServedModel`.

Endpoints: ``POST /predict`` and ``POST /explain`` (JSON), ``GET /health`` (200 once the model is loaded, 503
before), ``GET /metadata``, ``GET /stats`` (the micro-batcher's counters), the page at ``/`` and the OpenAPI
pages at ``/docs`` and ``/openapi.json``.

Every answer is JSON, errors included (``{"error": MESSAGE}``, and ``problems`` naming each field): a body over
the size limit is 413 before it is read whole, malformed JSON and wrong types or limits are 422, a missing or
wrong token 401, a server that is loading, stopping or full 503. :class:`Guard` (plain ASGI, in front of
FastAPI) checks the token and the body size and adds the security headers.
"""

# No ``from __future__ import annotations``: FastAPI reads the handlers' annotations, and the request models
# are built per server (their limits are the server's options).
import hmac
import logging
import time
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import ConfigDict, Field, StringConstraints, create_model
from starlette.exceptions import HTTPException

from .. import __version__
from .batching import Busy, Stopped
from .model import ServedModel
from .options import TOKEN_ENV, ServeOptions
from .page import page

log = logging.getLogger(__name__)

OPEN_PATHS = {"/", "/health", "/docs", "/docs/oauth2-redirect", "/openapi.json"}  # no token needed
EXAMPLE = '{"texts": ["a text to classify"]}'
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
DESCRIPTION = f"""A textclf run behind a JSON API. Decisions are made at the run's tuned thresholds, exactly as
`textclf predict` makes them; word scores are those of `textclf explain`. Concurrent requests are scored
together in one model call (micro-batching). When the server was started with {TOKEN_ENV}, every endpoint but
/health and the pages needs `Authorization: Bearer TOKEN`. Every error is JSON: `{{"error": MESSAGE}}`."""


class ApiError(Exception):
    """An answer other than 200, with its message (and, for a 422, the problem of each field)."""

    def __init__(self, status: int, message: str, problems: list | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.problems, self.headers = status, message, problems, headers

    def response(self) -> JSONResponse:
        content: dict[str, Any] = {"error": self.message}
        if self.problems:
            content["problems"] = self.problems
        return JSONResponse(content, self.status, headers=self.headers)


class ServerState:
    """What the endpoints share: the model once loaded (None before), and when the server started."""

    def __init__(self, options: ServeOptions):
        self.options = options
        self.model: ServedModel | None = None
        self.failed = False
        self.error: BaseException | None = None  # why the model failed to load
        self.started = time.monotonic()

    def ready(self) -> ServedModel:
        if self.model is None:
            raise ApiError(
                503,
                "the model is still loading; retry when GET /health answers 200",
                headers={"Retry-After": "1"},
            )
        return self.model


def create_app(state: ServerState) -> FastAPI:
    """The application; ``state.model`` is set once the model is loaded."""
    options = state.options
    app = FastAPI(title="textclf serve", version=__version__, description=DESCRIPTION, redoc_url=None)
    app.state.options = options
    app.add_middleware(Guard, max_body_bytes=options.max_body_bytes, token=options.token)
    add_error_handlers(app)
    add_model_routes(app, state, *request_models(options))
    add_status_routes(app, state)
    return app


def request_models(options: ServeOptions) -> tuple[type, type]:
    """The bodies of /predict and /explain, with this server's limits (shown in /openapi.json too)."""
    text = Annotated[str, StringConstraints(max_length=options.max_text_chars)]
    config = ConfigDict(strict=True, extra="forbid")
    threshold = (
        Annotated[float, Field(ge=0.0, le=1.0)] | None,
        Field(None, description="One threshold for every label (binary, multi-label); default: the run's tuned ones"),
    )
    predict = create_model(
        "PredictRequest",
        __config__=config,
        texts=(list[text], Field(min_length=1, max_length=options.max_texts, description="The texts to classify")),
        top_k=(int, Field(0, ge=0, le=1000, description="Also list the K most probable labels of each text")),
        threshold=threshold,
    )
    explain = create_model(
        "ExplainRequest",
        __config__=config,
        texts=(list[text], Field(min_length=1, max_length=options.max_explain_texts, description="Texts to explain")),
        label=(str | None, Field(None, description="Explain this label (default: the prediction)")),
        measure=(Literal["logodds", "prob"], Field("logodds", description="Score words by log-odds or probability")),
        threshold=threshold,
    )
    return predict, explain


def add_model_routes(app: FastAPI, state: ServerState, predict_body: type, explain_body: type) -> None:
    bearer = [Depends(HTTPBearer(auto_error=False, description=f"Needed when the server has {TOKEN_ENV}"))]

    async def predict(body: predict_body) -> JSONResponse:  # type: ignore[valid-type]
        """Label(s), confidence and probabilities of each text, decided as `textclf predict` decides."""
        model = state.ready()
        check_unicode(body.texts)
        return JSONResponse({"predictions": await scored(model.predict(body.texts, body.top_k, body.threshold))})

    async def explain(body: explain_body) -> JSONResponse:  # type: ignore[valid-type]
        """The words that decided each text, with the scores `textclf explain` gives."""
        model = state.ready()
        check_unicode(body.texts)
        if body.label is not None and body.label not in model.clf.classes:
            message = f"label: received {body.label!r}, expected one of the run's classes: {shown(model.clf.classes)}"
            raise ApiError(422, message, [{"field": "label", "message": message}])
        found = await scored(model.explain(body.texts, body.label, body.measure, body.threshold))
        return JSONResponse({"explanations": found})

    app.add_api_route("/predict", predict, methods=["POST"], dependencies=bearer, response_class=JSONResponse)
    app.add_api_route("/explain", explain, methods=["POST"], dependencies=bearer, response_class=JSONResponse)


def add_status_routes(app: FastAPI, state: ServerState) -> None:
    bearer = [Depends(HTTPBearer(auto_error=False, description=f"Needed when the server has {TOKEN_ENV}"))]

    @app.api_route("/health", methods=["GET", "HEAD"])
    def health() -> JSONResponse:
        """200 once the model is loaded and answering; 503 while it loads (no token needed)."""
        if state.model is None:
            return JSONResponse({"status": "failed" if state.failed else "loading"}, 503, headers={"Retry-After": "1"})
        return JSONResponse({"status": "ready", "run": state.model.clf.path.name})

    @app.get("/metadata", dependencies=bearer)
    def metadata() -> JSONResponse:
        """The run: name, task, classes, thresholds, test metrics, its manifest's SHA-256; the server's limits."""
        return JSONResponse(state.ready().metadata())

    @app.get("/stats", dependencies=bearer)
    def stats() -> JSONResponse:
        """The micro-batcher's counters: requests, texts, model calls, requests per call."""
        model = state.ready()
        counters = model.batcher.stats.to_json()
        counters["queued_texts"] = model.batcher.queued_texts
        counters["in_flight_requests"] = model.in_flight
        counters["uptime_s"] = round(time.monotonic() - state.started, 3)
        return JSONResponse(counters)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index() -> Response:
        the_page = page()
        return Response(the_page.html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": the_page.csp, "X-Frame-Options": "DENY"})  # fmt: skip


async def scored(work) -> Any:
    """Await the model's work; a full queue or a stopping server is a 503."""
    try:
        return await work
    except Busy as exc:
        raise ApiError(503, f"the server is busy ({exc}); retry in a moment", headers={"Retry-After": "1"}) from None
    except Stopped:
        raise ApiError(
            503, "the server is stopping; retry on another server", headers={"Connection": "close"}
        ) from None


def check_unicode(texts: list[str]) -> None:
    """JSON can carry unpaired surrogates (``"\\ud800"``), which are not text: a 422 naming the text."""
    for i, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            message = (
                f"texts[{i}]: received an unpaired surrogate (\\u{ord(text[exc.start]):04x}) at character {exc.start},"
                " expected Unicode text; send the text's characters, not half of a UTF-16 pair"
            )
            raise ApiError(422, message, [{"field": f"texts[{i}]", "message": message}]) from None


def shown(names: list[str], most: int = 20) -> str:
    return ", ".join(repr(n) for n in names[:most]) + (", ..." if len(names) > most else "")


# --------------------------------------------------------------------------------------------------
# Errors as JSON


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        options: ServeOptions = request.app.state.options
        kind = request.headers.get("content-type")
        problems = [describe(error, request.url.path, options, kind) for error in exc.errors()]
        more = f" (and {len(problems) - 1} more: see problems)" if len(problems) > 1 else ""
        return ApiError(422, problems[0]["message"] + more, problems).response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = f"{request.method} {request.url.path}: {exc.detail}"
        if exc.status_code == 404:
            message += "; the endpoints are POST /predict, POST /explain, GET /health, /metadata, /stats, /docs"
        return JSONResponse({"error": message}, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        message = f"internal error: {type(exc).__name__}: {exc}; the server logged the traceback, please report it"
        return JSONResponse({"error": message}, 500)


EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "list_type": "a list of strings",
    "bool_type": "true or false",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
}


def describe(error: dict, path: str, options: ServeOptions, content_type: str | None = None) -> dict:
    """One validation problem as ``{"field", "message"}``, the message saying what was received and expected."""
    kind, ctx, value = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    loc = [p for p in error.get("loc", ()) if p != "body"]
    field = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
    where = field or "the body"
    if isinstance(value, bytes) and not field:  # FastAPI parses JSON only when the request says it is JSON
        message = (
            f"the body: received {'Content-Type ' + repr(content_type) if content_type else 'no Content-Type'}, "
            "expected a JSON object sent with Content-Type: application/json (curl: -H 'content-type: application/json')"
        )
    elif kind == "json_invalid":
        field, message = (
            "body",
            f"the body: received invalid JSON ({ctx.get('error', 'cannot parse')}), expected a JSON object such as {EXAMPLE}",
        )
    elif kind == "missing":
        message = f"{where}: missing, expected {'a JSON object such as ' + EXAMPLE if not field else 'a value'}"
    elif kind == "extra_forbidden":
        message = f"{where}: received an unknown field, expected only the fields that /openapi.json lists for {path}"
    elif kind == "too_long" and field == "texts":
        option = "--max-explain-texts" if path == "/explain" else "--max-texts"
        message = f"texts: received {ctx.get('actual_length', len(value or ())):,} texts, expected at most {ctx.get('max_length'):,} per request (the server's {option}); send them in several requests"
    elif kind == "string_too_long":
        message = f"{where}: received a text of {len(value or ''):,} characters, expected at most {ctx.get('max_length'):,} (the server's --max-text-chars); shorten or split the text"
    elif kind == "string_unicode":
        message = f"{where}: received an unpaired surrogate (half of a UTF-16 pair), expected Unicode text; send the text's characters"
    elif kind == "too_short":
        message = f"{where}: received an empty list, expected 1 to {options.max_texts:,} texts"
    elif kind in ("greater_than_equal", "less_than_equal"):
        low, high = ("0", "1") if field == "threshold" else ("0", "1000")
        message = f"{where}: received {value!r}, expected a number from {low} to {high}"
    elif kind == "literal_error":
        message = f"{where}: received {value!r}, expected {ctx.get('expected')}"
    elif kind in EXPECTED:
        message = f"{where}: received {preview(value)}, expected {EXPECTED[kind]}"
    else:
        message = f"{where}: {error.get('msg', 'invalid')} (received {preview(value)})"
    return {"field": field or "body", "message": message}


def preview(value: Any) -> str:
    """A short JSON-ish rendering of a received value (unpaired surrogates escaped: the answer must be UTF-8)."""
    import json

    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# --------------------------------------------------------------------------------------------------
# In front of FastAPI: the token, the body size, the security headers


class Guard:
    """Plain ASGI middleware: the bearer token (401) and the body size (413) are checked before FastAPI reads
    anything; every answer gets ``nosniff`` and ``no-referrer``."""

    def __init__(self, app, max_body_bytes: int, token: str | None):
        self.app, self.max_body_bytes = app, max_body_bytes
        self.token = token.encode("ascii") if token else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + SECURITY_HEADERS}
            await send(message)

        refused = self.refusal(scope)
        if refused is None and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            body, refused = await self.read_body(scope, receive)
            if refused is None:
                receive = replay(body, receive)
        if refused is not None:
            await refused.response()(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def refusal(self, scope) -> ApiError | None:
        """A 401 without the right token, a 413 for a declared length over the limit; else None."""
        headers = dict(scope.get("headers", []))
        if self.token is not None and scope["path"] not in OPEN_PATHS:
            given = headers.get(b"authorization", b"")
            scheme, _, credential = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(), self.token):
                what = "no token" if not given else "a wrong token"
                message = (
                    f"received {what}, expected the header Authorization: Bearer TOKEN with the server's {TOKEN_ENV}"
                )
                return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return self.too_large(int(declared))
        return None

    def too_large(self, size: int | None) -> ApiError:
        received = (
            f"a body of {size:,} bytes" if size is not None else f"a body of more than {self.max_body_bytes:,} bytes"
        )
        return ApiError(
            413,
            f"received {received}, expected at most {self.max_body_bytes:,} bytes (the server's --max-body-bytes); "
            "send fewer or shorter texts per request",
            headers={"Connection": "close"},
        )

    async def read_body(self, scope, receive) -> tuple[bytes, ApiError | None]:
        """The whole body, read up to the limit (a chunked body has no declared length)."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", self.too_large(None)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks), None


def replay(body: bytes, receive):
    """A ``receive`` that hands the application the body already read, then waits as the original does."""
    sent = False

    async def again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
