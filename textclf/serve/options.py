"""The settings and limits of ``textclf serve``: one frozen :class:`ServeOptions`, checked before anything starts.

No FastAPI here, so that the command can build and check its options without the ``serve`` extra.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from ..errors import UsageError

TOKEN_ENV = "TEXTCLF_SERVE_TOKEN"
INSTALL_HINT = "pip install 'textclf[serve]'"


@dataclass(frozen=True)
class ServeOptions:
    """How a server listens, batches and limits requests. The defaults are safe: loopback only, bounded bodies.

    ``token``: a bearer token that every endpoint except ``/health`` and the static pages requires (from
    :data:`TOKEN_ENV` when the server starts; None: no token).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_wait_ms: float = 5.0
    max_batch_texts: int = 256
    max_texts: int = 256
    max_text_chars: int = 20_000
    max_body_bytes: int = 1 << 20
    max_explain_texts: int = 20
    max_queued_texts: int = 16_384
    drain_timeout: float = 30.0
    access_log: bool = False
    token: str | None = None

    def check(self) -> None:
        """Refuse settings that cannot work (the command's option types refuse most of these already)."""
        bounds = {
            "--port": (self.port, 0, 65535),
            "--max-batch-wait-ms": (self.max_batch_wait_ms, 0, 1000),
            "--max-batch-texts": (self.max_batch_texts, 1, 100_000),
            "--max-texts": (self.max_texts, 1, 100_000),
            "--max-text-chars": (self.max_text_chars, 1, 100_000),
            "--max-body-bytes": (self.max_body_bytes, 1024, 1 << 30),
            "--max-explain-texts": (self.max_explain_texts, 1, 1000),
            "--drain-timeout": (self.drain_timeout, 0, 24 * 3600),
        }
        for name, (value, low, high) in bounds.items():
            if not low <= value <= high:
                raise UsageError(f"{name}: received {value}, expected a number from {low:,} to {high:,}")
        if self.token is not None:
            check_token(self.token)

    @property
    def loopback(self) -> bool:
        """Whether the server is reachable from this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def check_token(token: str) -> None:
    """A token must be usable in an ``Authorization: Bearer`` header: visible ASCII, no spaces."""
    if not token or not all(33 <= ord(c) <= 126 for c in token):
        raise UsageError(
            f"{TOKEN_ENV}: received {'an empty value' if not token else 'a value with spaces or non-ASCII characters'}"
            ", expected a token of visible ASCII characters (e.g. from `openssl rand -hex 32`); set it, or unset "
            "the variable to serve without a token"
        )


def token_from_environment() -> str | None:
    """The bearer token of :data:`TOKEN_ENV` (checked), or None when the variable is not set."""
    token = os.environ.get(TOKEN_ENV)
    if token is None:
        return None
    check_token(token)
    return token
