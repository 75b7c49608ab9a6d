"""Who is looking: the session cookie turned into a ``Viewer``, on every dashboard request.

``SignedIn`` is the dependency of every page: without a live session it answers 303 to
``/login`` (htmx requests get ``HX-Redirect``, so a fragment never swaps in the login
page), and for a POST it checks the CSRF token first, so a forged request is 403 whether
or not a session came with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.responses import Response

from ..core.accounts import sessions
from ..core.service import Core
from ..settings import Settings
from . import csrf

COOKIE = "postino_session"
LOGIN_COOKIE = "postino_login"


@dataclass(frozen=True)
class Viewer:
    """The signed-in account, as the pages need it: id for every query, zone for every time."""

    account_id: int
    email: str
    timezone: str
    operator: bool
    csrf_token: str


def core_of(request: Request) -> Core:
    return request.app.state.core


def settings_of(request: Request) -> Settings:
    return request.app.state.core.settings


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """HttpOnly and SameSite=Lax always; Secure when the page came over TLS."""
    response.set_cookie(
        name, value, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )


async def current(request: Request) -> Viewer | None:
    """The viewer of a live session, its idle time started again; None without one."""
    core = core_of(request)
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    async with core.reader() as unit:
        found = await sessions.resolve(unit, secret)
    if found is None:
        return None
    if found.needs_touch():
        await core.write_now(lambda unit: sessions.touch(unit, found))
    key = settings_of(request).resolved_secret_key()
    token = csrf.token_for(key, "session", secret)
    return Viewer(found.account_id, found.email, found.timezone, found.operator, token)


def to_login(request: Request) -> HTTPException:
    headers = {"Location": "/login"}
    if request.headers.get("hx-request"):
        headers["HX-Redirect"] = "/login"
    return HTTPException(303, "Sign in first", headers=headers)


async def signed_in(request: Request) -> Viewer:
    viewer = await current(request)
    if request.method not in csrf.SAFE_METHODS:
        await csrf.check(request, viewer.csrf_token if viewer else None, settings_of(request).public_url)
    if viewer is None:
        raise to_login(request)
    return viewer


async def operator_only(viewer: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
    """Operator pages answer 404 to everyone else, as an unknown page would."""
    if not viewer.operator:
        raise HTTPException(404, "Not found")
    return viewer


SignedIn = Annotated[Viewer, Depends(signed_in)]
Operator = Annotated[Viewer, Depends(operator_only)]
