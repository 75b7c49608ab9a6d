"""The SSRF guard: outgoing HTTP goes to public addresses only, unless the operator allows.

Used for every URL a user hands Postino (callbacks, webhooks, ``media_url``). The host
is resolved and every address it resolves to must be public; the connection is then
made to that checked address so DNS cannot change its answer in between.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import InvalidInput


class BlockedURL(InvalidInput):
    code = "blocked_url"


@dataclass(frozen=True)
class CheckedURL:
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_syntax(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL, or ``BlockedURL``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURL(f"Invalid URL {url!r}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedURL("Only http(s) URLs are allowed")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check(url: str, *, allow_private: bool) -> CheckedURL:
    """Resolve ``url``'s host; refuse it if any address is not public (unless allowed)."""
    host, port = check_syntax(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedURL(f"Cannot resolve {host}") from exc
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise BlockedURL(f"Cannot resolve {host}")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise BlockedURL(f"Address {address} of {host} is not public")
    return CheckedURL(url, host, port, addresses)
