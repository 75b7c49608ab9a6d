"""What the dashboard answers when no page did: an HTML page in its own look, never JSON."""

from __future__ import annotations

from starlette.responses import HTMLResponse, Response

from ..http import ErrorFormat, Problem
from .templating import SECURITY_HEADERS, render

TITLES = {400: "Bad request", 403: "Refused", 404: "Not found", 405: "Not allowed", 413: "Too large", 422: "Invalid input"}


def problem_page(problem: Problem) -> Response:
    title = TITLES.get(problem.status, "Server error" if problem.status >= 500 else "Error")
    html = render("error.html", viewer=None, path="", status=problem.status, title=title, message=problem.message)
    return HTMLResponse(html, status_code=problem.status, headers=SECURITY_HEADERS)


FORMAT = ErrorFormat(("/dashboard", "/login", "/logout"), problem_page)
