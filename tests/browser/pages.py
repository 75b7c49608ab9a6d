"""What the browser tests do on the dashboard's pages, named as a person would say it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from playwright.async_api import Browser, Page, expect

WAIT = 30_000
"""Milliseconds a page may take to show what the phone or the scheduler did."""


async def log_in(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(base + "/")
    await expect(page).to_have_url(base + "/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def log_out(page: Page) -> None:
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in to Postino")).to_be_visible()


async def create_credential(page: Page, base: str, kind_label: str, name: str) -> str:
    """Create a credential on its page; the secret the page shows once."""
    await page.goto(base + "/dashboard/credentials")
    await page.get_by_label("Kind").select_option(label=kind_label)
    await page.get_by_label("Name").fill(name)
    await page.get_by_role("button", name="Create").click()
    secret = page.locator("#new-secret")
    await expect(secret).to_be_visible()
    return (await secret.text_content() or "").strip()


async def go_to(page: Page, name: str) -> None:
    """Follow the main menu's link ``name``."""
    await page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


@asynccontextmanager
async def signed_in(browser: Browser, base: str, account: Any, viewport: dict[str, int]) -> AsyncIterator[Page]:
    """A fresh browser context logged in as ``account`` (``email``, ``password``), closed afterwards."""
    context = await browser.new_context(viewport=viewport)
    try:
        page = await context.new_page()
        await log_in(page, base, account.email, account.password)
        yield page
    finally:
        await context.close()
