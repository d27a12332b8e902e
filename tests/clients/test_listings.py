"""The SDK's listings of scopes and jobs, against a real server."""

from __future__ import annotations

from memory_client import AsyncMemoryClient


async def test_scopes_and_jobs_pages(async_client: AsyncMemoryClient) -> None:
    added = await async_client.add("I love ramen", user_id="u", session_id="lunch")
    await async_client.add("I love tea", user_id="v")
    page = await async_client.scopes(user_id="u")
    [scope] = page.items
    assert (scope.user_id, scope.session_id, scope.episodes) == ("u", "lunch", 1)
    assert page.next_cursor is None
    first = await async_client.scopes(limit=1)
    assert len(first.items) == 1
    assert first.next_cursor is not None
    jobs = await async_client.jobs(user_id="u", state="queued")
    assert [str(j.id) for j in jobs.items] == [str(added.job_id)]
    assert jobs.items[0].session_id == "lunch"
    assert (await async_client.jobs(user_id="u", state="done")).items == []
