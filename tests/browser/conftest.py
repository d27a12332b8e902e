"""Browser fixtures: Debian's Chromium (``apt-get install chromium``, done by ``make
install``) driven by Playwright for Python against the real server of ``server_url``.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``, with the
flags that keep Chromium from reaching out to the network on its own (a closed network
refuses those connections and Chromium then stalls).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from memory_service.bootstrap import Components
from memory_service.services import tenants
from tests.conftest import ROOT

CHROMIUM = Path(os.environ.get("MEMORY_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HAVE_CHROMIUM = CHROMIUM.exists()
VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOTS = Path(
    os.environ.get("MEMORY_TEST_SCREENSHOTS", ROOT / "build" / "screenshots" / "inspector")
)


def expect(target: Any) -> Any:
    """Playwright's ``expect`` (retrying assertions), imported only once Chromium is
    known to be there."""
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


@dataclass
class Watched:
    """A page and what it did that a test must see: dialogs (an ``alert`` from injected
    script would be one), uncaught errors, console errors and CSP violations."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def shot(self, name: str) -> Path:
        """Saves the page as SCREENSHOTS/name.png (Playwright makes the folder)."""
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip(f"no Chromium at {CHROMIUM}: `make install` installs Debian's package")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def watched(browser: Any) -> AsyncIterator[Watched]:
    """A fresh browser context (its own session storage) at a laptop's screen size."""
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(30_000)
    page = await context.new_page()
    seen = Watched(page)

    async def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def on_console(message: Any) -> None:
        if message.type == "error" and "401" not in message.text:
            # (a refused key's 401 is logged too; it is expected)
            seen.errors.append(f"{message.text} at {message.location.get('url')}")

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: seen.errors.append(f"pageerror: {error}"))
    page.on("console", on_console)
    yield seen
    await context.close()


@dataclass(frozen=True)
class Key:
    id: Any
    secret: str


async def issue(components: Components, tenant: str) -> Key:
    async with components.uow() as uow:
        issued = await tenants.issue_key(uow, tenant, "inspector-test")
    return Key(issued.key.id, issued.secret)


async def revoke(components: Components, key: Key) -> None:
    async with components.uow() as uow:
        await tenants.revoke_key(uow, key.id)
