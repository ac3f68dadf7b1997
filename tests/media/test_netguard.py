"""The SSRF guard: which addresses count as public, and the connector refusing the rest."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from bot.media.download import download_image
from bot.media.errors import ImageDownloadError
from bot.media.netguard import GuardedConnector, is_public_address, origin_of


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "0.0.0.0",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",  # CGNAT
        "224.0.0.1",
        "239.1.2.3",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "ff0e::1",
        "::",
        "not an address",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


def test_origin_of() -> None:
    assert origin_of("http://127.0.0.1:8080/api/v1") == ("http", "127.0.0.1", 8080)
    assert origin_of("https://GeekAI.co/api/v1") == ("https", "geekai.co", 443)
    assert origin_of("http://[::1]/x") == ("http", "::1", 80)


async def _server(log: list[str]) -> tuple[web.AppRunner, int]:
    async def handler(request: web.Request) -> web.Response:
        log.append(request.path)
        return web.Response(body=b"hello")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


async def test_connector_refuses_loopback_but_not_an_exempt_origin() -> None:
    log: list[str] = []
    runner, port = await _server(log)
    try:
        exempt = f"http://127.0.0.1:{port}/api"
        connector = GuardedConnector(exempt_origins=[exempt])
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(f"http://127.0.0.1:{port}/ok") as resp:
                assert resp.status == 200
            for url in (f"http://localhost:{port}/a", f"http://[::ffff:127.0.0.1]:{port}/b"):
                with pytest.raises(aiohttp.ClientConnectionError):
                    async with session.get(url):
                        pass
        async with aiohttp.ClientSession(connector=GuardedConnector()) as session:
            with pytest.raises(ImageDownloadError):
                await download_image(session, f"http://127.0.0.1:{port}/c.png", max_bytes=1000)
    finally:
        await runner.cleanup()
    assert log == ["/ok"]
