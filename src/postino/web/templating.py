"""Jinja2 for the dashboard: one environment, the filters every page uses, HTML responses.

Autoescaping is on for every template: whatever an account stored (a contact's name, a
message body) is text on the page, never markup.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

if TYPE_CHECKING:
    from .sessions import Viewer

TEMPLATES = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    # Every script and style is a vendored file: nothing inline runs, nothing loads from elsewhere.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(value: datetime | None, zone: str = "UTC", style: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored (UTC) time in the account's time zone."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(zone)).strftime(style)


def _amount(value: Decimal | int | float | None) -> str:
    """Money and credit without trailing zeros beyond two decimals."""
    if value is None:
        return "—"
    number = Decimal(value)
    text = f"{number:.4f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html", "svg")),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["when"] = _when
env.filters["amount"] = _amount


def render(name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)


def page(
    request: Request, viewer: "Viewer | None", name: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A whole page (or, for an htmx request of a fragment template, the fragment) with the viewer's details."""
    html = render(name, request=request, viewer=viewer, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
