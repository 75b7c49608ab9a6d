"""Routers that say at once when a path is not theirs.

FastAPI (0.165) matches a request by asking each included router in turn, and an
included router answers by trying each of its routes; the router that matches is then
asked again to handle the request. A MessaggiSMS request was tried against 127 routes,
an SMS Gate one against 167, a 404 against 430: about half of a refused MessaggiSMS
request's CPU, and nearly all of a 404's (docs/benchmarks.md, "Statements in one trip,
and routes tried").

A :class:`PathRouter` declares the path prefixes its routes live under, and refuses any
other path in one comparison. ``tests/test_http_paths.py`` checks that every route of the
app lies under its router's prefixes and that every route is still reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match


class PathRouter(APIRouter):
    """An ``APIRouter`` whose routes all lie under ``paths`` (each a prefix; ``"/"`` is the root alone).

    Without ``paths``, the router's own ``prefix`` is the one.
    """

    def __init__(self, *args: Any, paths: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chosen = tuple(paths) or ((self.prefix,) if self.prefix else ())
        self.path_prefixes: tuple[str, ...] = tuple(p.rstrip("/") for p in chosen)
        if not self.path_prefixes:
            raise ValueError("a PathRouter needs the prefixes of its paths")

    def owns(self, path: str) -> bool:
        """Whether ``path`` (or it with or without its trailing slash) can be one of this router's."""
        for prefix in self.path_prefixes:
            if not prefix:
                if path in ("", "/"):
                    return True
            elif path == prefix or path.startswith(prefix + "/"):
                return True
        return False

    def matches(self, scope: Any) -> tuple[Match, Any]:
        # get_route_path: the path as the routes themselves match it (Starlette's, as FastAPI uses it)
        if scope.get("type") in ("http", "websocket") and not self.owns(get_route_path(scope)):
            return Match.NONE, {}
        return super().matches(scope)
