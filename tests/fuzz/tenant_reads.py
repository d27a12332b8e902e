"""The reading rules of the two-tenant state machine: every read finds its own
tenant's rows only, as that tenant's model says they are."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule

from tests.fuzz.two_tenants import NAMES, USERS, WORDS, TenantMachine


class Reads(TenantMachine):
    @rule(
        who=st.sampled_from(NAMES),
        user=st.sampled_from(USERS),
        word=st.sampled_from(WORDS),
        theirs=st.booleans(),
    )
    def search(self, who: str, user: str, word: str, theirs: bool) -> None:
        marker = self.t[self.other(who) if theirs else who].marker
        body = {"user_id": user, "query": f"{marker} {word}", "limit": 20, "mode": "fast"}
        r = self.call(who, "POST", "/v1/search", json=body)
        assert r.status_code == 200, r.text
        t = self.t[who]
        hits = r.json()["results"]
        for hit in hits:
            item = (t.episodes if hit["kind"] == "episode" else t.memories).get(hit["id"])
            assert item is not None, f"{who} found an id not its own: {hit}"
            assert (item.text, item.user, item.status) == (hit["text"], user, "active"), hit
        items = [(h["kind"], h["id"]) for h in hits]
        t.retrievals[r.json()["retrieval_id"]] = (user, items, False)
        t.born[r.json()["retrieval_id"]] = "retrieval"

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS), word=st.sampled_from(WORDS))
    def context(self, who: str, user: str, word: str) -> None:
        r = self.call(who, "POST", "/v1/context", json={"user_id": user, "query": word})
        assert r.status_code == 200, r.text
        out, t = r.json(), self.t[who]
        alive = {i for i, e in t.episodes.items() if e.user == user}
        active = {i for i, m in t.memories.items() if m.user == user and m.status == "active"}
        assert set(out["episode_ids"]) <= alive, (out, alive)
        assert set(out["memory_ids"]) <= active, (out, active)
        if out["retrieval_id"]:
            used = [("memory", i) for i in out["memory_ids"]]
            used += [("episode", i) for i in out["episode_ids"]]
            t.retrievals[out["retrieval_id"]] = (user, used, True)
            t.born[out["retrieval_id"]] = "retrieval"

    @rule(
        who=st.sampled_from(NAMES),
        kind=st.sampled_from(["episode", "memory", "history", "job"]),
        data=st.data(),
    )
    def read_by_id(self, who: str, kind: str, data: st.DataObject) -> None:
        target, owner = self.pick(data, who, "memory" if kind == "history" else kind)
        url = {
            "episode": f"/v1/episodes/{target}",
            "memory": f"/v1/memories/{target}",
            "history": f"/v1/memories/{target}/history",
            "job": f"/v1/jobs/{target}",
        }[kind]
        r = self.call(who, "GET", url)
        t = self.t[who]
        table: dict[str, Any] = {"episode": t.episodes, "job": t.jobs}.get(kind, t.memories)
        if owner != who or target not in table:
            assert r.status_code == 404, r.text
            return
        assert r.status_code == 200, r.text
        if kind == "episode":
            assert r.json()["content"] == t.episodes[target].text
        elif kind == "memory":
            assert (r.json()["text"], r.json()["status"]) == (
                t.memories[target].text,
                t.memories[target].status,
            )
        elif kind == "history":
            assert [c["op"] for c in r.json()] == t.memories[target].ops

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS))
    def list_one_user(self, who: str, user: str) -> None:
        t = self.t[who]
        r = self.call(who, "GET", "/v1/episodes", params={"user_id": user, "limit": 100})
        assert r.status_code == 200, r.text
        assert {e["id"] for e in r.json()["items"]} == {
            i for i, e in t.episodes.items() if e.user == user
        }
        r = self.call(who, "GET", "/v1/memories", params={"user_id": user, "limit": 100})
        assert r.status_code == 200, r.text
        assert {m["id"] for m in r.json()["items"]} == {
            i for i, m in t.memories.items() if m.user == user and m.status == "active"
        }

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS))
    def graph_export(self, who: str, user: str) -> None:
        r = self.call(who, "GET", "/v1/graph/export", params={"user_id": user})
        assert r.status_code == 200, r.text
