"""``/login`` and ``/logout``: email and password in, a session cookie out.

The login form has its own CSRF token, tied to a random ``postino_login`` cookie, so a
page elsewhere cannot sign a browser in to an attacker's account. A wrong email and a
wrong password get the same answer, and both count toward the lock (``login_guard``).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ...core.accounts import accounts, sessions
from ...core.errors import AuthError
from .. import csrf, forms
from ..login_guard import guard_for
from ..sessions import COOKIE, LOGIN_COOKIE, core_of, current, set_cookie, settings_of
from ..templating import SECURITY_HEADERS, page

router = APIRouter()

WRONG = "Email or password incorrect."
LOCKED = "Too many failed logins: try again in a few minutes."


def _login_token(request: Request, nonce: str) -> str:
    return csrf.token_for(settings_of(request).resolved_secret_key(), "login", nonce)


def _form(request: Request, *, error: str = "", email: str = "", status_code: int = 200) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request, None, "login.html", status_code=status_code, error=error, email=email,
        csrf_token=_login_token(request, nonce),
    )  # fmt: skip
    set_cookie(request, response, LOGIN_COOKIE, nonce)
    return response


@router.get("/login")
async def login_page(request: Request) -> Response:
    if await current(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE)
    await csrf.check(request, _login_token(request, nonce) if nonce else None, settings_of(request).public_url)
    form = await forms.read(request)
    email = form.get("email") if isinstance(form.get("email"), str) else ""
    password = form.get("password") if isinstance(form.get("password"), str) else ""
    email = str(email).strip()[:320]
    core = core_of(request)
    guard = guard_for(core, core.settings)
    address = request.client.host if request.client else ""
    if await guard.locked(email, address):
        return _form(request, error=LOCKED, email=email, status_code=429)
    try:
        async with core.reader() as unit:
            account = await accounts.authenticate(unit, email, str(password)[:1000])
    except AuthError:
        await guard.failed(email, address)
        return _form(request, error=WRONG, email=email, status_code=401)
    async with core.unit() as unit:
        secret = await sessions.start(unit, account.id, user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
    set_cookie(request, response, COOKIE, secret)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Ends the session (its row is deleted) and clears the cookie."""
    viewer = await current(request)
    await csrf.check(request, viewer.csrf_token if viewer else None, settings_of(request).public_url)
    async with core_of(request).unit() as unit:
        await sessions.end(unit, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response
