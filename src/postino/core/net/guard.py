"""The SSRF guard: where outgoing HTTP may go, decided by one function for every path.

Used for every URL a user hands Postino (callbacks, webhooks, ``media_url``) and for
every connection the outbox sender and the media fetch open. The host is resolved and
every address it resolves to must be allowed; the connection is then made to that
checked address so DNS cannot change its answer in between.

``refusal(address, policy)`` is the decision, in this order:

1. an address inside a network the operator named (``POSTINO_ALLOWED_PRIVATE_NETWORKS``)
   is allowed, whatever it is;
2. link-local and cloud metadata addresses (``METADATA``) are refused;
3. loopback, private and shared addresses (``LOCAL``) are allowed only when the operator
   allows private URLs (``POSTINO_ALLOW_PRIVATE_URLS``);
4. any other address must be public: IPv4 outside the special-purpose ranges, IPv6 global
   unicast (``2000::/3``) outside them.

An IPv6 address that carries an IPv4 one (``::ffff:a.b.c.d``, ``::a.b.c.d``, NAT64
``64:ff9b::/96``, 6to4 ``2002::/16``) is decided as that IPv4 address. A host written as
an address in any spelling resolvers accept (``0177.0.0.1``, ``2130706433``, ``0x7f.1``,
``127.1``) is read as that address here, without asking DNS, so every path sees the same
address the connection would reach.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Union
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import InvalidInput

if TYPE_CHECKING:
    from ...settings import Settings

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

RESOLVE_TIMEOUT = 5.0
"""Seconds a check at input may wait for DNS."""
INPUT_CACHE_SECONDS = 60.0
"""How long a check at input reuses a name's addresses (connections always resolve afresh)."""
INPUT_CACHE_SIZE = 1024


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


METADATA = _nets(
    "169.254.0.0/16",  # IPv4 link-local: 169.254.169.254 (AWS, GCP, Azure, OCI, OpenStack, ...), 169.254.170.2 (ECS)
    "fe80::/10",  # IPv6 link-local (OpenStack's fe80::a9fe:a9fe)
    "fd00:ec2::254/128",  # AWS instance metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "192.0.0.192/32",  # Oracle Cloud metadata (classic)
    "168.63.129.16/32",  # Azure WireServer (host agent, DNS, health probes)
)
"""Reached only when named in the allowed networks, never by allowing private URLs."""

LOCAL = _nets(
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "::1/128", "fc00::/7",
)  # fmt: skip
"""Loopback, RFC 1918, shared (RFC 6598) and unique local addresses: a receiver beside Postino."""

SPECIAL = _nets(
    "0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "64:ff9b:1::/48", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16", "fec0::/10", "ff00::/8",
)  # fmt: skip
"""Never public (IANA's special-purpose registries); IPv6 outside ``2000::/3`` is not public either."""

_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


class BlockedURL(InvalidInput):
    code = "blocked_url"


@dataclass(frozen=True)
class CheckedURL:
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """Which addresses besides public ones outgoing HTTP may reach: the operator's two settings."""

    allow_private: bool = False
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, settings: "Settings") -> "Policy":
        networks = settings.allowed_private_networks or ()
        if isinstance(networks, str):  # set on a settings object after it was built
            networks = networks.replace(",", " ").split()
        return _policy(bool(settings.allow_private_urls), tuple(networks))


@lru_cache(maxsize=64)
def _policy(allow_private: bool, networks: tuple[str, ...]) -> Policy:
    return Policy(allow_private, tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks))


def _as_policy(policy: Policy | None, allow_private: bool) -> Policy:
    return policy if policy is not None else Policy(allow_private=allow_private)


# --- the decision ------------------------------------------------------------------------


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), if any."""
    if ip.version == 4:
        return None
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _COMPATIBLE and int(ip) > 1:  # not :: nor ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _address(address: str | IPAddress) -> IPAddress:
    if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        ip: IPAddress = address
    else:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # a zone (fe80::1%eth0) changes nothing here
    return ipaddress.IPv6Address(int(ip)) if ip.version == 6 else ip


def _within(ip: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def refusal(address: str | IPAddress, policy: Policy) -> str | None:
    """Why outgoing HTTP may not reach ``address`` under ``policy``; None when it may."""
    ip = _address(address)
    inner: IPAddress = embedded_ipv4(ip) or ip
    if policy.networks and (_within(ip, policy.networks) or _within(inner, policy.networks)):
        return None
    if _within(inner, METADATA) or _within(ip, METADATA):
        return "link-local or cloud metadata"
    if _within(inner, LOCAL):
        return None if policy.allow_private else "loopback or private"
    if _within(inner, SPECIAL) or (inner.version == 6 and inner not in _GLOBAL_UNICAST):
        return "special-purpose"
    return None


def is_public(address: str, policy: Policy | None = None) -> bool:
    """Whether ``address`` may be reached (by default: public addresses only)."""
    return refusal(address, policy or Policy()) is None


def ensure_allowed(host: str, addresses: Iterable[str], policy: Policy) -> None:
    """``BlockedURL`` naming the first of ``host``'s addresses that ``policy`` does not allow."""
    for address in addresses:
        reason = refusal(address, policy)
        if reason is not None:
            raise BlockedURL(f"Address {address} of {host} is not public ({reason})")


# --- reading hosts and URLs ----------------------------------------------------------------


def _ipv4_number(part: str) -> int:
    if part[:2].lower() == "0x":
        digits, radix = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, radix = part[1:], 8
    else:
        digits, radix = part, 10
    if not all(c in "0123456789abcdef"[:radix] for c in digits.lower()):
        raise BlockedURL(f"Invalid IPv4 address part {part!r}")
    return int(digits, radix) if digits else 0


def _looks_numeric(label: str) -> bool:
    if label[:2].lower() == "0x":
        return all(c in "0123456789abcdefABCDEF" for c in label[2:])
    return label.isascii() and label.isdigit()


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any spelling resolvers accept, or None for a name.

    ``0177.0.0.1``, ``2130706433``, ``0x7f.1``, ``127.1`` and ``127.0.0.1.`` are all
    127.0.0.1, as browsers (the WHATWG URL standard) and the C library read them;
    ``[::ffff:127.0.0.1]`` is that IPv6 address. A host ending in a number that is no
    address (``256.0.0.1``, ``1.2.3.4.5``) is ``BlockedURL``.
    """
    text = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS).strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return _address(text)
        except ValueError:
            raise BlockedURL(f"Invalid IPv6 address {host!r}") from None
    labels = text.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not labels or not _looks_numeric(labels[-1]):
        return None
    if len(labels) > 4 or any(label == "" for label in labels):
        raise BlockedURL(f"Invalid IPv4 address {host!r}")
    numbers = [_ipv4_number(label) for label in labels]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise BlockedURL(f"Invalid IPv4 address {host!r}")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    """The host to connect to: the address written the standard way, or the name."""
    name: str
    """The host as the URL writes it (what error messages show)."""
    port: int
    literal: IPAddress | None


def _parse(url: str) -> _Parsed:
    if not isinstance(url, str) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise BlockedURL("Invalid URL: control characters are not allowed")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURL(f"Invalid URL {url!r}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedURL("Only http(s) URLs are allowed")
    if parts.netloc.count("@") > 1 or any(c.isspace() or c == "\\" for c in parts.netloc):
        raise BlockedURL(f"Invalid host in URL {url!r}")
    if port == 0:
        raise BlockedURL(f"Invalid port in URL {url!r}")
    literal = ip_literal(parts.hostname)
    host = parts.hostname if literal is None else str(literal)
    return _Parsed(parts.scheme, host, parts.hostname, port or (443 if parts.scheme == "https" else 80), literal)


def check_syntax(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL, or ``BlockedURL``; a host that is an address comes
    back written the standard way (``0x7f.1`` -> ``127.0.0.1``)."""
    parsed = _parse(url)
    return parsed.host, parsed.port


def normalise(url: str) -> str:
    """``url`` with a host that is an address written the standard way, or ``BlockedURL``.

    ``http://0177.0.0.1:9/x`` becomes ``http://127.0.0.1:9/x``, as a browser would send it;
    other URLs are returned as they are.
    """
    parsed = _parse(url)
    if parsed.literal is None:
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if "%" in (parts.hostname or "") and parsed.literal.version == 6:
        return url  # a zone id: left as written
    shown = f"[{parsed.literal}]" if parsed.literal.version == 6 else str(parsed.literal)
    written = hostport.rsplit(":", 1)[0] if parts.port is not None or hostport.endswith(":") else hostport
    if written.lower() == shown:
        return url
    netloc = (userinfo + at if userinfo else "") + shown + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# --- resolving and checking ----------------------------------------------------------------


async def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address of ``host``: an address in any spelling is itself, a name is looked up.

    Raises ``socket.gaierror`` when the name does not resolve, ``BlockedURL`` for a host
    that looks like an address but is none.
    """
    literal = ip_literal(host)
    if literal is not None:
        return (str(literal),)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


_input_cache: dict[tuple[str, int], tuple[float, tuple[str, ...]]] = {}


async def _resolve_for_input(host: str, port: int) -> tuple[str, ...]:
    """``resolve`` with a short memory: an integration names one callback host in every request."""
    now = time.monotonic()
    found = _input_cache.get((host, port))
    if found is not None and found[0] > now:
        return found[1]
    async with asyncio.timeout(RESOLVE_TIMEOUT):
        addresses = await resolve(host, port)
    if len(_input_cache) >= INPUT_CACHE_SIZE:
        _input_cache.clear()
    _input_cache[(host, port)] = (now + INPUT_CACHE_SECONDS, addresses)
    return addresses


async def check(
    url: str, *, policy: Policy | None = None, allow_private: bool = False, at_input: bool = False
) -> CheckedURL:
    """Resolve ``url``'s host; refuse it if any of its addresses is not allowed.

    ``policy`` says what besides public addresses is allowed (``Policy.of(settings)``);
    without it, ``allow_private`` alone (loopback and private ranges, never link-local
    or metadata addresses). ``at_input``: a check of a URL to store, not to connect to
    now, which may reuse a name's addresses for a minute.
    """
    policy = _as_policy(policy, allow_private)
    parsed = _parse(url)
    try:
        if at_input:
            addresses = await _resolve_for_input(parsed.host, parsed.port)
        else:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                addresses = await resolve(parsed.host, parsed.port)
    except (socket.gaierror, TimeoutError) as exc:
        raise BlockedURL(f"Cannot resolve {parsed.name}") from exc
    if not addresses:
        raise BlockedURL(f"Cannot resolve {parsed.name}")
    ensure_allowed(parsed.name, addresses, policy)
    return CheckedURL(normalise(url), parsed.host, parsed.port, addresses)


async def check_callback(url: str, settings: "Settings", *, resolve: bool = True) -> str:
    """A callback or webhook URL given at input, checked as the operator's settings say.

    The syntax always; an address host is decided at once. A host name is resolved and
    each of its addresses decided unless private URLs are allowed: then the name is
    checked when the call is made (every connection is), so an operator's internal names
    need no DNS at input. ``resolve=False`` leaves names to that connection-time check
    too: for a caller holding a write transaction, which must not wait on DNS. Returns
    the URL to store (``normalise``); ``BlockedURL`` else.
    """
    policy = Policy.of(settings)
    parsed = _parse(url)
    if parsed.literal is not None:
        ensure_allowed(parsed.name, [parsed.host], policy)
    elif resolve and not policy.allow_private:
        await check(url, policy=policy, at_input=True)
    return normalise(url)
