"""Signing in to the dashboard from a test, as a browser would: the login form's token, then the session's."""

from __future__ import annotations

import re

import httpx

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_in(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no csrf_token in the page"
    return found.group(1)


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> str:
    """Log ``client`` in; the session's CSRF token (the one every form of the pages carries)."""
    form = await client.get("/login")
    answer = await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token_in(form.text)}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/"
    return token_in((await client.get("/")).text)
