"""The page at ``/`` of ``textclf serve`` (``page.html``, package data) and the Content-Security-Policy it is
served with.

The page's one script and one style sheet are inline; the policy allows exactly those two (by their SHA-256)
and requests to the server itself, and nothing else: no other script, no external source of any kind, no
inline event handlers, no framing. The script builds every piece of user or model text with ``textContent``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Page:
    html: bytes
    csp: str


def _digest(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


@lru_cache(maxsize=1)
def page() -> Page:
    """The page's bytes and its policy (computed once: the hashes of its inline script and style)."""
    text = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    styles = re.findall(r"<style>(.*?)</style>", text, re.S)
    csp = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_digest(s) for s in scripts),
            "style-src " + " ".join(_digest(s) for s in styles),
            "connect-src 'self'",
            "img-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return Page(text.encode("utf-8"), csp)
