"""/metrics stays small whatever clients send: made-up methods and paths share one
label value each, so the series (and the scrape) do not grow with them."""

from __future__ import annotations

import re
import secrets

from httpx import AsyncClient

from memory_service.api.metrics import METHODS

SAMPLE = re.compile(
    r'^memory_http_requests_total\{method="([^"]*)",route="([^"]*)",status="(\d+)"\}'
)
MADE_UP = 300


def request_series(text: str) -> set[tuple[str, str, str]]:
    """(method, route, status) of every request-count sample."""
    found = (SAMPLE.match(line) for line in text.splitlines())
    return {(m[1], m[2], m[3]) for m in found if m}


async def test_made_up_methods_and_paths_share_one_label(client: AsyncClient) -> None:
    for _ in range(MADE_UP):
        token = secrets.token_hex(6)
        await client.request(f"X{token.upper()}", "/healthz")  # a route, a method it lacks
        await client.request(f"X{token.upper()}", f"/{token}")  # neither
        await client.get(f"/v1/{token}/nothing")  # a known method, a made-up path
    series = request_series((await client.get("/metrics")).text)
    assert {method for method, _, _ in series} <= METHODS | {"other"}
    assert {route for _, route, _ in series} <= {"/healthz", "unmatched", "/metrics"}
    assert ("other", "/healthz", "405") in series
    assert ("other", "unmatched", "404") in series
    assert ("GET", "unmatched", "404") in series
    assert len(series) <= 5  # not one per made-up method or path
    text = (await client.get("/metrics")).text
    assert len(text) < 64 * 1024  # 900 made-up requests, a few kB of metrics
    assert 'method="other",route="unmatched",status="404"} 300.0' in text
