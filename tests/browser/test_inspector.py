"""The memory inspector in a real browser (Debian's Chromium, driven by Playwright)
against a real server: login, scopes, timeline, facts and history, graph, search with
feedback, jobs, escaping, wrong and revoked keys, and tenant isolation. Each view is
saved as a screenshot under build/screenshots/inspector/."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from memory_service.bootstrap import Components
from tests.browser import seed
from tests.browser.conftest import Key, Watched, expect, issue, revoke

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Tenants:
    alpha: Key
    beta: Key
    world: seed.World


@pytest.fixture
async def tenants(components: Components, server_url: str) -> AsyncIterator[Tenants]:
    alpha = await issue(components, "inspector-alpha")
    beta = await issue(components, "inspector-beta")
    world = await seed.seed(server_url, alpha.secret)
    await seed.seed_other(server_url, beta.secret)
    return Tenants(alpha, beta, world)


async def login(w: Watched, url: str, key: str) -> None:
    await w.page.goto(f"{url}/inspector")
    await w.page.fill("#login-key", key)
    await w.page.click("#login-submit")
    await w.page.wait_for_selector("#app", state="visible")
    await w.page.wait_for_selector("#scopes-rows tr")


async def open_alice(w: Watched) -> None:
    await w.page.click("#scopes-rows tr:has-text('alice')")
    await w.page.wait_for_selector("#timeline-rows .episode")


async def test_login_scopes_timeline_facts_and_history(
    watched: Watched, server_url: str, tenants: Tenants
) -> None:
    page = watched.page
    await login(watched, server_url, tenants.alpha.secret)
    assert await page.text_content("#tenant-name") == "inspector-alpha"
    row = page.locator("#scopes-rows tr", has_text="alice")
    cells = await row.locator("td").all_text_contents()
    assert cells[:3] == ["alice", "—", "lisbon-trip"]
    assert int(cells[3]) == 7 + seed.FILLER_TURNS  # episodes
    assert int(cells[4]) == 4  # active facts: the deleted one is not counted
    assert int(cells[5]) == 3  # entities
    await watched.shot("scopes")

    # The key stays in session storage, never in the address.
    assert tenants.alpha.secret not in page.url
    stored = await page.evaluate("sessionStorage.getItem('memory-inspector.api-key')")
    assert stored == tenants.alpha.secret

    await open_alice(watched)
    assert await page.text_content("#scope-name") == "user alice · session lisbon-trip"
    # Paged server-side: the first 50 episodes, then the next page on demand.
    assert await page.locator("#timeline-rows .episode").count() == 50
    first = page.locator(f"#episode-{tenants.world.episodes[0]}")
    await first.locator(".chip", has_text=seed.EDITED_FACT).wait_for()
    assert await first.locator(".meta b").text_content() == "Alice"
    chinese = page.locator(f"#episode-{tenants.world.episodes[2]} .text")
    assert await chinese.text_content() == seed.CHINESE
    box = await chinese.bounding_box()
    assert box is not None
    assert box["width"] < 1366
    await watched.shot("timeline")
    await page.click("#timeline-more")
    await expect(page.locator("#timeline-rows .episode")).to_have_count(7 + seed.FILLER_TURNS)
    # Provenance, fact -> episodes: the fact's panel lists the episode it came from.
    await first.locator(".chip", has_text=seed.EDITED_FACT).click()
    await page.wait_for_selector("#fact-sources li")
    sources = await page.locator("#fact-sources li").all_text_contents()
    assert len(sources) == 1
    assert "moving to Lisbon in March; my sister Marta" in sources[0]

    await page.click(".tabs button[data-view='facts']")
    await page.wait_for_selector("#facts-rows tr[data-id]")
    texts = await page.locator("#facts-rows .fact-text").all_text_contents()
    assert seed.EDITED_FACT in texts
    assert seed.CLOSED_FACT in texts
    closed = page.locator(f"#facts-rows tr[data-id='{tenants.world.closed_fact}']")
    assert await closed.locator(".badge").text_content() == "deleted"
    assert "UTC" in (await closed.locator("td").nth(3).text_content() or "")  # valid_to set

    await page.click(f"#facts-rows tr[data-id='{tenants.world.moved_fact}']")
    await page.wait_for_selector("#fact-history tbody tr")
    history = page.locator("#fact-history tbody tr")
    assert await history.count() == 2
    ops = await page.locator("#fact-history td.op").all_text_contents()
    assert ops == ["ADD", "UPDATE"]
    update = await history.nth(1).locator("td").all_text_contents()
    assert update[1] == seed.FIRST_FACT
    assert update[2] == seed.EDITED_FACT
    await watched.shot("facts")

    # Edit, then delete, through the existing endpoints.
    await page.click("#fact-edit-open")
    await page.fill("#fact-edit-text", "Alice is moving to Porto in April")
    await page.click("#fact-save")
    await expect(page.locator("#fact-history tbody tr")).to_have_count(3)
    await expect(page.locator("#facts-rows .fact-text", has_text="Porto")).to_have_count(1)
    await page.click("#fact-delete")
    await page.click("#fact-delete-confirm")
    await expect(page.locator("#fact-history tbody tr")).to_have_count(4)
    assert await page.locator("#fact-history td.op").last.text_content() == "DELETE"
    async with httpx.AsyncClient(
        base_url=server_url, headers={"Authorization": f"Bearer {tenants.alpha.secret}"}
    ) as api:
        fact = (await api.get(f"/v1/memories/{tenants.world.moved_fact}")).json()
    assert fact["status"] == "deleted"
    assert fact["text"] == "Alice is moving to Porto in April"
    assert watched.dialogs == []
    assert watched.errors == []


async def test_graph_draws_entities_and_lists_their_facts(
    watched: Watched, server_url: str, tenants: Tenants
) -> None:
    page = watched.page
    await login(watched, server_url, tenants.alpha.secret)
    await open_alice(watched)
    await page.click(".tabs button[data-view='graph']")
    await page.wait_for_selector("#graph canvas")
    nodes = int(await page.get_attribute("#graph", "data-nodes") or 0)
    assert nodes == 3 + 3  # entities, and the two facts and one episode joining them
    summary = await page.text_content("#graph-summary")
    assert summary is not None
    assert summary.startswith("3 entities, 3 hyperedges")
    await page.wait_for_timeout(300)  # the layout settles
    await watched.shot("graph")

    # Click the entity "Alice" where cytoscape drew it.
    position = await page.evaluate(
        """() => {
            const box = document.getElementById('graph').getBoundingClientRect();
            return {x: box.left, y: box.top};
        }"""
    )
    rendered = await page.evaluate(
        f"""() => {{
            const cy = document.getElementById('graph')._cyreg.cy;
            return cy.getElementById('n-{tenants.world.entities["Alice"]}').renderedPosition();
        }}"""
    )
    await page.mouse.click(position["x"] + rendered["x"], position["y"] + rendered["y"])
    await page.wait_for_selector("#entity-name")
    assert await page.text_content("#entity-name") == "Alice"
    facts = await page.locator("#entity-facts li").all_text_contents()
    assert sorted(facts) == sorted([seed.EDITED_FACT, seed.XSS_FACT])
    episodes = await page.locator("#entity-episodes li").all_text_contents()
    assert len(episodes) == 1
    assert episodes[0].startswith("I'm moving to Lisbon")
    await watched.shot("graph-entity")

    # Facts only: the episode's hyperedge goes.
    await page.select_option("#graph-kinds", "memory")
    await page.click("#graph-load")
    await expect(page.locator("#graph")).to_have_attribute("data-nodes", "5")
    assert watched.dialogs == []
    assert watched.errors == []


async def test_search_shows_scores_and_feedback_changes_utility(
    watched: Watched, server_url: str, tenants: Tenants
) -> None:
    page = watched.page
    await login(watched, server_url, tenants.alpha.secret)
    await open_alice(watched)
    await page.click(".tabs button[data-view='search']")
    await page.fill("#search-query", "When is Alice moving to Lisbon?")
    await page.select_option("#search-preset", "gated-window")
    await page.click("#search-form button[type=submit]")
    await page.wait_for_selector("#search-hits .hit")
    assert await page.locator(".route .badge").text_content() in {"fast", "deliberate"}
    gate = await page.text_content("#search-gate")
    assert gate is not None
    assert "relevance" in gate
    assert "coverage" in gate
    timings = await page.text_content("#search-timings")
    assert timings is not None
    assert " ms" in timings
    hit = page.locator("#search-hits .hit[data-kind='memory']").first
    scores = await hit.locator(".hit-scores span").all_text_contents()
    assert scores, "each hit shows its score in each list"
    hit_id = await hit.get_attribute("data-id")
    await hit.locator("button", has_text="+1").click()
    await hit.locator(".utility", has_text="Q =").wait_for()
    shown = await hit.locator(".utility").text_content()
    async with httpx.AsyncClient(
        base_url=server_url, headers={"Authorization": f"Bearer {tenants.alpha.secret}"}
    ) as api:
        fact = (await api.get(f"/v1/memories/{hit_id}")).json()
    assert fact["utility"] > 0
    assert shown == f"Q = {fact['utility']:.3f}"
    episode_hit = page.locator("#search-hits .hit[data-kind='episode'] .turns")
    assert await episode_hit.count() > 0, "a windowed preset shows each episode hit's turns"

    await page.fill("#context-budget", "300")
    await page.click("#context-form button[type=submit]")
    # The server's first context call may load its entity tagger: allow it a minute.
    await page.wait_for_selector("#context-out:not([hidden])", timeout=60_000)
    assert "Alice" in (await page.text_content("#context-out") or "")
    assert "tokens" in (await page.text_content("#status") or "")
    await page.evaluate("document.querySelector('main').scrollTop = 0")
    await watched.shot("search")
    assert watched.dialogs == []
    assert watched.errors == []


async def test_jobs_view_lists_the_queued_consolidation(
    watched: Watched, server_url: str, tenants: Tenants
) -> None:
    page = watched.page
    await login(watched, server_url, tenants.alpha.secret)
    await open_alice(watched)
    await page.click(".tabs button[data-view='jobs']")
    row = page.locator(f"#jobs-rows tr[data-id='{tenants.world.job_id}']")
    await row.wait_for()
    cells = await row.locator("td").all_text_contents()
    assert cells[2] == "queued"
    assert cells[3] == "0"
    assert cells[4] == "—"
    await page.select_option("#jobs-state", "done")
    await page.wait_for_selector("#jobs-rows td.muted")
    assert await page.text_content("#jobs-rows") == "No jobs."
    await page.select_option("#jobs-state", "")
    await row.wait_for()
    await watched.shot("jobs")


async def test_stored_markup_shows_as_text_and_never_runs(
    watched: Watched, server_url: str, tenants: Tenants
) -> None:
    page = watched.page
    await login(watched, server_url, tenants.alpha.secret)
    await open_alice(watched)
    episode = page.locator(f"#episode-{tenants.world.episodes[4]}")
    assert seed.XSS_SCRIPT in (await episode.locator(".text").text_content() or "")
    assert await episode.locator(".chip").text_content() == seed.XSS_FACT
    await page.click(".tabs button[data-view='facts']")
    cell = page.locator("#facts-rows .fact-text", has_text="Alice pasted")
    assert await cell.text_content() == seed.XSS_FACT
    await cell.click()
    await page.wait_for_selector("#fact-history tbody tr")
    assert await page.text_content(".fact-detail-text") == seed.XSS_FACT
    await page.click(".tabs button[data-view='search']")
    await page.fill("#search-query", "what did Alice paste into the chat")
    await page.click("#search-form button[type=submit]")
    await page.wait_for_selector("#search-hits .hit")
    assert await page.locator("#search-hits .hit-text", has_text=seed.XSS_SCRIPT).count() >= 1
    # Nothing of the stored markup became an element, and no alert fired.
    assert await page.locator("main script, aside script, main img, aside img").count() == 0
    assert watched.dialogs == []
    assert watched.errors == []


async def test_a_wrong_or_revoked_key_gets_a_clear_message(
    watched: Watched, server_url: str, tenants: Tenants, components: Components
) -> None:
    page = watched.page
    await page.goto(f"{server_url}/inspector")
    await page.fill("#login-key", "msk_not-a-real-key")
    await page.click("#login-submit")
    message = page.locator("#login-error")
    await message.wait_for()
    text = await message.text_content()
    assert text is not None
    assert "not accepted" in text
    assert "unknown API key" in text
    await watched.shot("login-wrong-key")
    assert await page.is_hidden("#app")
    assert await page.evaluate("sessionStorage.length") == 0

    # A key revoked while the page is open: the next call sends the user back to sign in.
    await login(watched, server_url, tenants.alpha.secret)
    await revoke(components, tenants.alpha)
    await page.click(".tabs button[data-view='jobs']")
    await message.wait_for()
    assert "revoked" in (await message.text_content() or "")
    assert await page.is_hidden("#app")
    assert await page.evaluate("sessionStorage.length") == 0


async def test_a_key_sees_only_its_own_tenant(
    watched: Watched, server_url: str, tenants: Tenants
) -> None:
    page = watched.page
    await login(watched, server_url, tenants.beta.secret)
    assert await page.text_content("#tenant-name") == "inspector-beta"
    scopes = await page.locator("#scopes-rows").text_content()
    assert scopes is not None
    assert "bob-of-beta" in scopes
    assert "alice" not in scopes
    await page.click("#logout")
    await page.wait_for_selector("#login", state="visible")
    assert await page.evaluate("sessionStorage.length") == 0
    await login(watched, server_url, tenants.alpha.secret)
    scopes = await page.locator("#scopes-rows").text_content()
    assert scopes is not None
    assert "alice" in scopes
    assert "bob-of-beta" not in scopes


async def test_the_page_and_its_assets_are_served_with_a_strict_policy(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as http:
        page = await http.get("/inspector")
        script = await http.get("/inspector/static/inspector.js")
        library = await http.get("/inspector/static/vendor/cytoscape.min.js")
        missing = await http.get("/inspector/static/nope.js")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe" not in csp
    for response in (page, script, library):
        assert response.headers["x-content-type-options"] == "nosniff"
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert library.status_code == 200
    assert len(library.content) > 100_000
    assert missing.status_code == 404
    assert "<script>" not in page.text.split("</head>")[1]  # no inline script in the body


def test_every_asset_is_package_data() -> None:
    """A non-editable install ships the page: every file under inspector/static matches
    a package-data pattern of pyproject.toml."""
    import fnmatch
    import tomllib

    from memory_service.inspector import STATIC_DIR
    from tests.conftest import ROOT

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["memory_service"]
    package = STATIC_DIR.parents[1]
    files = [p.relative_to(package).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert "inspector/static/vendor/cytoscape.min.js" in files
    unshipped = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert unshipped == []


async def test_a_scope_of_ten_thousand_episodes_opens_at_once(
    watched: Watched, server_url: str, components: Components
) -> None:
    """The page asks for one page of episodes at a time: a scope of 10,000 opens as fast
    as a small one, and the next page comes on demand."""
    key = await issue(components, "inspector-big")
    await seed.seed_many(server_url, key.secret, user_id="busy", count=10_000)
    page = watched.page
    await login(watched, server_url, key.secret)
    assert await page.locator("#scopes-rows tr td").nth(3).text_content() == "10000"
    started = time.monotonic()
    await page.click("#scopes-rows tr:has-text('busy')")
    await expect(page.locator("#timeline-rows .episode")).to_have_count(50)
    opened_s = time.monotonic() - started
    await page.click("#timeline-more")
    await expect(page.locator("#timeline-rows .episode")).to_have_count(100)
    assert opened_s < 5.0
    first = await page.locator("#timeline-rows .episode .text").first.text_content()
    assert first == "Turn 0 of a long conversation."
