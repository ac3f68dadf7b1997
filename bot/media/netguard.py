"""SSRF guard: an aiohttp connector that only connects to public addresses.

Result images (URLs in GeekAI's answers) are fetched by the bot, so a hostile or broken
answer could point it at the host's own services (127.0.0.1, a cloud metadata endpoint at
169.254.169.254, the LAN…). `GuardedConnector` checks every address *at connect time*,
after DNS resolution, so a name that resolves to a private address (DNS rebinding,
`localhost`, `127.0.0.1.nip.io`) is refused just like an IP literal. Redirects are checked
too: `bot.media.download` follows them itself and every hop opens its own connection through here.

Only addresses for which `ipaddress` says `is_global` pass (IPv4-mapped / -compatible IPv6
and 6to4 / Teredo forms are judged by the IPv4 address they carry; multicast never passes).
Exempt are the configured origins — `GEEKAI_BASE_URL` and `DISCORD_API_BASE` — matched on
(host, port); a REST proxy or the test fakes live on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult
from yarl import URL

log = logging.getLogger(__name__)

__all__ = ["BlockedAddressError", "GuardedConnector", "is_public_address", "origin_of"]

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddressError(aiohttp.ClientConnectionError):
    """The host resolved only to addresses that are not public."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = ip.packed
    if packed[:12] == bytes(12) and packed[12:] != bytes(4):  # IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return None


def is_public_address(address: str | _IP) -> bool:
    """True only for globally routable unicast addresses."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
    return bool(ip.is_global and not ip.is_multicast)


def origin_of(url: str | URL) -> tuple[str, str, int]:
    """(scheme, lower-case host, port) of an http(s) URL."""
    parsed = URL(url) if isinstance(url, str) else url
    port = parsed.port if parsed.port is not None else (443 if parsed.scheme == "https" else 80)
    return parsed.scheme.lower(), (parsed.host or "").lower().strip("[]"), port


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that refuses to connect to non-public addresses, except to the
    (host, port) of the given exempt origins."""

    def __init__(self, *, exempt_origins: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._exempt = frozenset((host, port) for _, host, port in map(origin_of, exempt_origins))

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        results = await super()._resolve_host(host, port, traces=traces)
        if (host.lower().strip("[]"), port) in self._exempt:
            return results
        allowed = [r for r in results if is_public_address(r["host"])]
        if not allowed:
            log.warning("refused a connection to a non-public address (host %s)", host)
            raise BlockedAddressError(f"refusing to connect to a non-public address ({host})")
        return allowed


def guarded_session(exempt_origins: Iterable[str], **session_kwargs: Any) -> aiohttp.ClientSession:
    """A ClientSession whose every connection goes through `GuardedConnector`."""
    connector = GuardedConnector(exempt_origins=exempt_origins)
    return aiohttp.ClientSession(connector=connector, **session_kwargs)
