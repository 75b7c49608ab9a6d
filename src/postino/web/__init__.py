"""The dashboard: a server-rendered console at ``/`` (Jinja2 + htmx, vendored static files).

Every page reads and writes through core with the signed-in account's id, as the APIs do
with a token's; the pages live under ``/dashboard/`` (``/``, ``/login`` and ``/logout``
besides) so no dialect's path is shadowed. Each module of ``pages`` is one page concept.
"""

from ..http_paths import PathRouter
from . import errors, static_files
from .pages import billing, campaigns, contacts, credentials, login, messages, operator, overview, phones, send, webhooks

router = PathRouter(include_in_schema=False, paths=["/", "/login", "/logout", "/dashboard"])
for _page in (login, overview, messages, send, phones, contacts, campaigns, credentials, webhooks, billing, operator):
    router.include_router(_page.router)
router.include_router(static_files.router)

ERRORS = (errors.FORMAT,)

__all__ = ["ERRORS", "router"]
