"""Routers that refuse other paths at once: every route still reached, far fewer tried."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import httpx
import pytest

from postino.app import create_app
from postino.core.service import Core
from postino.http_paths import PathRouter
from postino.settings import Settings


def _routes(router: Any) -> Iterator[Any]:
    """The routes of ``router``, through the routers it includes (FastAPI keeps those nested)."""
    for route in router.routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _routes(nested)
        elif hasattr(route, "path"):
            yield route


def _nested(router: Any) -> list[Any]:
    return [r.original_router for r in router.routes if getattr(r, "original_router", None) is not None]


def _included(app: Any) -> list[Any]:
    return _nested(app.router)


@pytest.fixture
def app(settings: Settings, core: Core):  # noqa: ANN201
    return create_app(settings, core)


def test_every_route_lies_under_its_routers_paths(app) -> None:  # noqa: ANN001
    included = _included(app)
    assert len(included) == 8  # the four dialects, the phones' API, the native API, the WhatsApp receiver, the dashboard
    for router in included:
        assert isinstance(router, PathRouter), router
        for route in _routes(router):
            sample = re.sub(r"\{[^}]+\}", "x1", route.path)
            assert router.owns(sample), (router.path_prefixes, route.path)
            assert router.owns(sample.rstrip("/") if sample.endswith("/") else sample + "/"), route.path


def test_the_native_apis_resources_each_have_their_router() -> None:
    from postino.native_api import router as native

    resources = _nested(native)
    assert len(resources) == 8 and all(isinstance(r, PathRouter) for r in resources)
    for router in resources:
        for route in _routes(router):
            assert router.owns(re.sub(r"\{[^}]+\}", "x1", route.path)), (router.path_prefixes, route.path)
    # one resource's paths are no other's: each request meets one resource router's routes
    for router in resources:
        assert [r for r in resources if any(r.owns(p) for p in router.path_prefixes)] == [router]


def test_owns_is_a_prefix_of_whole_segments() -> None:
    router = PathRouter(paths=["/messages", "/api/v3/", "/"])
    assert router.owns("/messages") and router.owns("/messages/") and router.owns("/messages/abc/")
    assert not router.owns("/messagesx") and not router.owns("/message")
    assert router.owns("/api/v3/sms") and not router.owns("/api/v1/messages")
    assert router.owns("/") and router.owns("")
    with pytest.raises(ValueError):
        PathRouter(paths=[])


@pytest.fixture
def tried(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the routes FastAPI tried, in order."""
    seen: list[str] = []
    original = fastapi.routing.APIRoute.matches

    def counted(self, scope):  # noqa: ANN001, ANN202
        seen.append(self.path)
        return original(self, scope)

    monkeypatch.setattr(fastapi.routing.APIRoute, "matches", counted)
    return seen


@pytest.mark.parametrize(
    ("method", "path", "status", "most"),
    [
        ("POST", "/messages/", 401, 12),  # MessaggiSMS: tried 127 routes before
        ("GET", "/nusasms_api/1.0/balance", 401, 12),  # NusaSMS: 149
        ("POST", "/3rdparty/v1/message", 401, 20),  # SMS Gate: 167
        ("GET", "/no/such/path", 404, 8),  # 430
        ("POST", "/api/v1/messages", 422, 10),  # the native API: 83
        ("GET", "/api/v1/optouts/settings", 401, 20),
    ],
)
async def test_a_request_is_tried_against_its_own_routers_routes_only(
    app, tried: list[str], method: str, path: str, status: int, most: int  # noqa: ANN001
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        answer = await client.request(method, path)
    assert answer.status_code == status
    assert len(tried) <= most, tried
    top = {r.path for r in app.router.routes if isinstance(r, fastapi.routing.APIRoute)}  # /health, /metrics, /media
    owners = [r for r in _included(app) if r.owns(path)]
    others = [p for p in tried if p not in top and not any(o.owns(re.sub(r"\{[^}]+\}", "x1", p)) for o in owners)]
    assert others == []
