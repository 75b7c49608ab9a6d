"""Cross-site request forgery: every state-changing request proves it came from our own page.

Two checks, both needed. The browser's own word (``Sec-Fetch-Site``, ``Origin``) refuses
a form another site posts, even one that copied a token. The token refuses a request
made without reading one of our pages: it is an HMAC of the session's secret (or, before
login, of the login cookie's), so it needs no storage and cannot be made up without the
cookie the attacker's page cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_for(secret_key: str, purpose: str, secret: str) -> str:
    return hmac.new(secret_key.encode(), f"{purpose}:{secret}".encode(), hashlib.sha256).hexdigest()


def same_origin(request: Request, public_url: str = "") -> bool:
    """False when the browser says the request comes from another site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser that sends Origin on POST; the token still has to match
    if origin == "null":
        return False
    host = urlsplit(origin).netloc
    allowed = {request.headers.get("host", ""), urlsplit(public_url).netloc if public_url else ""}
    return host in allowed


async def submitted(request: Request) -> str:
    """The token of the request: the htmx header, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check(request: Request, expected: str | None, public_url: str = "") -> None:
    """403 unless the request is same-site and carries ``expected``."""
    if not same_origin(request, public_url):
        raise HTTPException(403, "Cross-site request refused")
    given = await submitted(request)
    if not expected or not given or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "Missing or invalid CSRF token: reload the page and try again")
