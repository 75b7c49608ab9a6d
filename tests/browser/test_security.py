"""What a browser enforces with the dashboard's help: cookie flags, cross-site posts refused, the demo's login."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from playwright.async_api import expect

from postino.core.accounts.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.conftest import DESKTOP
from tests.browser.pages import create_credential, signed_in
from tests.support import ServerProcess, wait_for_sync

EVIL = "http://evil.example"


async def test_the_session_cookie_is_httponly_and_samesite_lax(browser, alice, server: ServerProcess) -> None:  # noqa: ANN001
    async with signed_in(browser, server.url, alice, DESKTOP) as page:
        (session,) = [c for c in await page.context.cookies() if c["name"] == "postino_session"]
        assert session["httpOnly"] is True and session["sameSite"] == "Lax" and session["secure"] is False
        assert await page.evaluate("document.cookie") == ""  # scripts cannot read it


async def test_a_form_another_site_posts_is_refused_even_with_a_stolen_token(browser, alice, server: ServerProcess) -> None:  # noqa: ANN001
    async with signed_in(browser, server.url, alice, DESKTOP) as page:
        await create_credential(page, server.url, "SmsGateway24 tokens", "mine")
        token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
        forged = (
            f'<form method="post" action="{server.url}/dashboard/credentials">'
            f'<input name="csrf_token" value="{token}"><input name="kind" value="sg24">'
            '<input name="name" value="forged"><button>go</button></form>'
        )
        await page.route(EVIL + "/", lambda route: route.fulfill(status=200, content_type="text/html", body=forged))
        await page.goto(EVIL + "/")
        async with page.expect_response(re.compile(r"/dashboard/credentials$")) as answered:
            await page.get_by_role("button", name="go").click()
        assert (await answered.value).status == 403
        await page.goto(server.url + "/dashboard/credentials")
        await expect(page.locator("#list-sg24")).to_contain_text("mine")
        await expect(page.locator("main")).not_to_contain_text("forged")


async def test_the_demo_prints_the_dashboard_and_its_login_which_works(browser, database_url, tmp_path: Path) -> None:  # noqa: ANN001
    server = ServerProcess(tmp_path / "server", database_url, "--demo").start()
    try:
        printed = wait_for_sync(lambda: "dashboard:" in server.log() and server.log(), message="the demo's banner")
        assert f"dashboard:                 http://127.0.0.1:{server.port}/" in printed
        assert f"{DEMO_EMAIL} / {DEMO_PASSWORD}" in printed
        demo = SimpleNamespace(email=DEMO_EMAIL, password=DEMO_PASSWORD)
        async with signed_in(browser, server.url, demo, DESKTOP) as page:
            await expect(page.get_by_role("heading", name="Phones")).to_be_visible()
    finally:
        server.stop()
