"""The dashboard in Chromium, on a real ``postino serve`` with a simulated phone.

One account's day: log in, send a message and watch it turn delivered without a reload,
create and revoke an SG24 token (the API then refuses it), import a CSV, start a campaign
and watch its counts move; then a second account sees none of it, not even by URL.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import expect

from postino.core.devices import devices
from postino.core.service import Core
from tests.browser.conftest import DESKTOP, PHONE, Shots
from tests.browser.pages import WAIT, create_credential, go_to, log_in, log_out, signed_in
from tests.support import ServerProcess, SimulatorProcess

FAST = ("--latency", "10ms", "--poll-every", "200ms")
CSV = b"phone,name\n+393491234567,Anna\n+393491234568,Bruno\n"


async def _sg24_error(base: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        return (await http.get("/getdata/getalldevices", params={"token": token})).json()["error"]


async def test_an_accounts_day_in_the_dashboard(browser, core: Core, alice, bob, server: ServerProcess, tmp_path: Path,
                                               shots: Shots) -> None:  # noqa: ANN001, PLR0915
    phone = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=tmp_path / "phone")
    base = server.url
    try:
        phone.start()
        async with core.reader() as unit:
            (device,) = await devices.list_for(unit, alice.id)
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        await page.goto(base + "/login")
        await shots.take(page, "login")
        await log_in(page, base, alice.email, alice.password)

        # Send a message through the phone and watch it turn delivered, the page never reloaded.
        await go_to(page, "Send")
        await page.get_by_label("Numbers").fill("+393491234567")
        await page.get_by_label("Text", exact=True).fill("Il tuo codice è 4711")
        await expect(page.locator("#counter")).to_contain_text("20 characters · GSM · 1 part")
        await page.get_by_label("Through").select_option(value=f"{device.id}:0")
        await shots.take(page, "send")
        await page.get_by_role("button", name="Send").click()
        await expect(page.get_by_role("status")).to_have_text("1 message accepted.")
        await page.evaluate("window.stillTheSamePage = true")
        row = page.locator("#messages tbody tr").first
        await expect(row.locator(".msg-state")).to_have_text("delivered", timeout=WAIT)
        assert await page.evaluate("window.stillTheSamePage") is True
        message_id = int((await row.get_attribute("id") or "m-0")[2:])
        await shots.take(page, "messages")
        await row.get_by_role("link").click()
        await expect(page.locator("#timeline")).to_contain_text("delivered")
        await shots.take(page, "message")

        # An SG24 token: created (the secret shown once), working, revoked, refused.
        secret = await create_credential(page, base, "SmsGateway24 tokens", "shop integration")
        assert await _sg24_error(base, secret) == 0
        await shots.take(page, "credentials")
        await page.get_by_role("button", name=f"Revoke shop integration ending {secret[-4:]}").click()
        await expect(page.locator("#list-sg24")).to_contain_text("revoked")
        assert await _sg24_error(base, secret) != 0

        # A list from a CSV file, and a campaign to it whose counts move as the phone works.
        await go_to(page, "Contacts")
        await page.get_by_label("New list").fill("Clienti")
        await page.get_by_role("button", name="Create list").click()
        await page.get_by_label("File").set_input_files({"name": "clienti.csv", "mimeType": "text/csv", "buffer": CSV})
        await page.get_by_role("button", name="Import").click()
        await expect(page.locator("#import-report")).to_contain_text("2 imported")
        list_id = int(page.url.split("/dashboard/contacts/")[1].split("/")[0])
        await shots.take(page, "contacts")
        await go_to(page, "Campaigns")
        await page.get_by_label("Title").fill("Saldi d'autunno")
        await page.get_by_label("Clienti (2)").check()
        await page.get_by_label("Text (placeholders").fill("Ciao {{name}}, -20% oggi")
        await expect(page.locator("#preview")).to_contain_text("Ciao Anna, -20% oggi")
        await page.get_by_label("Through").select_option(value=f"{device.id}:0")
        await page.get_by_role("button", name="Create and start").click()
        await expect(page.locator(".count-delivered")).to_have_text("2", timeout=WAIT)
        await expect(page.locator(".campaign-counts")).to_contain_text("finished", timeout=WAIT)
        campaign_id = int(page.url.rsplit("/", 1)[1])
        await shots.take(page, "campaign")
        await go_to(page, "Campaigns")
        await shots.take(page, "campaigns")

        await go_to(page, "Phones")
        await page.get_by_role("button", name="Add a phone").click()
        await expect(page.locator(".qr svg")).to_be_visible()
        await shots.take(page, "phones")
        await go_to(page, "Overview")
        await expect(page.locator(".chart svg")).to_be_visible()
        await shots.take(page, "overview")
        await go_to(page, "Billing")
        await shots.take(page, "billing")

        if shots.enabled:  # the same pages at a phone's width
            narrow = await browser.new_context(viewport=PHONE, storage_state=await context.storage_state())
            small = await narrow.new_page()
            for path, name in (("/", "overview"), ("/dashboard/messages", "messages"), ("/dashboard/send", "send"),
                               (f"/dashboard/campaigns/{campaign_id}", "campaign")):  # fmt: skip
                await small.goto(base + path)
                width = await small.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"{path} scrolls sideways at 375 px ({width})"
                await shots.take(small, f"{name}-phone")
            await narrow.close()
        await log_out(page)

        # A second account: none of the first's data, and its ids name nothing.
        await log_in(page, base, bob.email, bob.password)
        for path in ("/dashboard/messages", "/dashboard/contacts", "/dashboard/campaigns", "/dashboard/phones"):
            await page.goto(base + path)
            text = await page.locator("main").inner_text()
            assert "4711" not in text and "Clienti" not in text and "Saldi" not in text and "Anna" not in text, path
        for path in (f"/dashboard/messages/{message_id}", f"/dashboard/contacts/{list_id}",
                     f"/dashboard/campaigns/{campaign_id}", f"/dashboard/messages?campaign={campaign_id}"):  # fmt: skip
            answer = await page.goto(base + path)
            if "?" in path:
                assert answer.status == 200 and "No messages match." in await page.content(), path
            else:
                assert answer.status == 404, path
        await context.close()
    finally:
        phone.stop()


async def test_narrow_pages_never_scroll_sideways_nor_break_their_policy(browser, alice, server: ServerProcess) -> None:  # noqa: ANN001
    async with signed_in(browser, server.url, alice, PHONE) as page:
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        for path in ("/", "/dashboard/messages", "/dashboard/send", "/dashboard/phones", "/dashboard/contacts",
                     "/dashboard/campaigns", "/dashboard/credentials", "/dashboard/webhooks", "/dashboard/billing"):  # fmt: skip
            await page.goto(server.url + path)
            await expect(page.locator("main h1")).to_be_visible()
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width} px wide at 375 px"
        await page.goto(server.url + "/dashboard/send")
        await page.get_by_label("Text", exact=True).fill("Grüße 🙂")
        await expect(page.locator("#counter")).to_contain_text("UCS2")
        assert errors == []  # no script or style refused by the Content-Security-Policy, no failed request
