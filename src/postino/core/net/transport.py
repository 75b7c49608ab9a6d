"""Outgoing HTTP that connects only where the network policy allows (``guard``).

httpx with a network backend that resolves, checks and connects in one step: webhooks,
callbacks and the WhatsApp Cloud API all leave through it, so none of them can be
steered into the operator's own network by a name that resolves there.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import certifi
import httpcore
import httpx

from . import guard


class BlockedAddress(Exception):
    """The host resolved to an address outgoing calls may not reach: never retried."""


async def resolve_checked(
    host: str, port: int, *, allow_private: bool = False, policy: guard.Policy | None = None
) -> list[str]:
    """Every address of ``host``; each must be one the guard allows (``guard.refusal``)."""
    policy = policy if policy is not None else guard.Policy(allow_private=allow_private)
    try:
        addresses = list(await guard.resolve(host, port))
        if addresses:
            guard.ensure_allowed(host, addresses, policy)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}") from exc
    except guard.BlockedURL as exc:
        raise BlockedAddress(exc.message) from exc
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, and connects to the checked address in one step.

    The check and the connection use the same resolution, so a DNS answer that changes
    in between (rebinding) cannot steer the connection to a private address. TLS is
    started by httpcore afterwards with the URL's host name as SNI, so certificates are
    still verified against the name, not the address.
    """

    def __init__(self, *, allow_private: bool = False, policy: guard.Policy | None = None) -> None:
        self.policy = policy if policy is not None else guard.Policy(allow_private=allow_private)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, policy=self.policy)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None):  # noqa: ANN201
        raise httpcore.ConnectError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the guarded network backend underneath; no proxies from the environment."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        policy: guard.Policy | None = None,
        max_connections: int = 64,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(cafile=certifi.where()),
            max_connections=max_connections,
            max_keepalive_connections=max_connections // 4 or 1,
            keepalive_expiry=30.0,
            retries=0,
            network_backend=GuardedBackend(allow_private=allow_private, policy=policy),
        )
