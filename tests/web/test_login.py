"""Signing in to the dashboard: the form's contract, the cookie's flags, CSRF, the lock, logout, idle expiry."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from postino.core.clock import utcnow
from postino.core.service import Core
from postino.db.tables import dashboard_sessions
from tests.web.helpers import log_in, token_in


async def test_the_login_form_names_email_password_and_a_hidden_csrf_token(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert 'name="email"' in page.text and 'name="password"' in page.text
    assert 'type="hidden" name="csrf_token"' in page.text


async def test_without_a_session_every_page_sends_to_the_login(client: httpx.AsyncClient) -> None:
    for path in ("/", "/dashboard/messages", "/dashboard/credentials"):
        answer = await client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login"), path


async def test_a_login_answers_303_to_the_overview_with_an_httponly_lax_cookie(client: httpx.AsyncClient, alice) -> None:  # noqa: ANN001
    form = await client.get("/login")
    answer = await client.post(
        "/login", data={"email": alice.email, "password": alice.password, "csrf_token": token_in(form.text)}
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("postino_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; over TLS the cookie is Secure
    overview = await client.get("/")
    assert overview.status_code == 200 and alice.email in overview.text


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client: httpx.AsyncClient, alice) -> None:  # noqa: ANN001
    answers = []
    for email, password in ((alice.email, "wrong password"), ("nobody@example.com", alice.password)):
        form = await client.get("/login")
        answer = await client.post("/login", data={"email": email, "password": password, "csrf_token": token_in(form.text)})
        answers.append((answer.status_code, "Email or password incorrect." in answer.text))
    assert answers == [(401, True), (401, True)]
    assert "postino_session" not in client.cookies


async def test_a_login_without_its_csrf_token_is_refused(client: httpx.AsyncClient, alice) -> None:  # noqa: ANN001
    await client.get("/login")
    answer = await client.post("/login", data={"email": alice.email, "password": alice.password})
    assert answer.status_code == 403
    forged = await client.post("/login", data={"email": alice.email, "password": alice.password, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert "postino_session" not in client.cookies


async def test_a_post_without_the_session_token_or_from_another_site_is_refused(client: httpx.AsyncClient, alice) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    form = {"kind": "sg24", "name": "forged"}
    assert (await client.post("/dashboard/credentials", data=form)).status_code == 403
    assert (await client.post("/dashboard/credentials", data={**form, "csrf_token": "x" * 64})).status_code == 403
    cross_site = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = await client.post("/dashboard/credentials", data={**form, "csrf_token": token}, headers=cross_site)
    assert refused.status_code == 403
    null_origin = await client.post("/dashboard/credentials", data={**form, "csrf_token": token}, headers={"Origin": "null"})
    assert null_origin.status_code == 403
    page = (await client.get("/dashboard/credentials")).text
    assert "forged" not in page
    made = await client.post("/dashboard/credentials", data={**form, "csrf_token": token}, headers={"Origin": "http://testserver"})
    assert made.status_code == 201 and "forged" in made.text


async def test_an_htmx_request_carries_the_token_in_its_header(client: httpx.AsyncClient, alice) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    headers = {"HX-Request": "true"}
    assert (await client.post("/dashboard/send/count", data={"body": "hi"}, headers=headers)).status_code == 403
    counted = await client.post("/dashboard/send/count", data={"body": "ciao è"}, headers={**headers, "X-CSRF-Token": token})
    assert counted.status_code == 200 and "GSM" in counted.text and "1 part" in counted.text


async def test_ten_wrong_passwords_in_a_minute_lock_that_email(client: httpx.AsyncClient, alice, bob) -> None:  # noqa: ANN001
    for _ in range(10):
        form = await client.get("/login")
        wrong = await client.post("/login", data={"email": alice.email, "password": "guess", "csrf_token": token_in(form.text)})
        assert wrong.status_code == 401
    form = await client.get("/login")
    locked = await client.post(
        "/login", data={"email": alice.email, "password": alice.password, "csrf_token": token_in(form.text)}
    )
    assert locked.status_code == 429 and "Too many failed logins" in locked.text
    assert "postino_session" not in client.cookies
    await log_in(client, bob.email, bob.password)  # another email is not locked


async def test_logout_ends_the_session_for_good(client: httpx.AsyncClient, alice) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    cookie = client.cookies["postino_session"]
    answer = await client.post("/logout", data={"csrf_token": token})
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    client.cookies.set("postino_session", cookie)  # the old cookie, replayed
    assert (await client.get("/")).status_code == 303


async def test_a_session_idle_for_twelve_hours_is_over(client: httpx.AsyncClient, alice, core: Core) -> None:  # noqa: ANN001
    await log_in(client, alice.email, alice.password)
    async with core.unit() as unit:
        await unit.conn.execute(update(dashboard_sessions).values(last_seen_at=utcnow() - timedelta(hours=12, minutes=1)))
    assert (await client.get("/")).headers.get("location") == "/login"
