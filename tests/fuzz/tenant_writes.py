"""The writing rules of the two-tenant state machine: each write lands in its own
tenant only, and changes the model of that tenant exactly as the answer says."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from tests.fuzz.two_tenants import ALPHA, NAMES, USERS, WORDS, Item, TenantMachine


class Writes(TenantMachine):
    @initialize(word=st.sampled_from(WORDS))
    def seed(self, word: str) -> None:
        """Both tenants start with episodes and facts of the same users, with the same
        words: every later step has rows of both to aim at."""
        for who in NAMES:
            for user in USERS:
                self.add_messages(who, user, [word])
                self.add_memory(who, user, word)

    @rule(
        who=st.sampled_from(NAMES),
        user=st.sampled_from(USERS),
        words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
    )
    def add_messages(self, who: str, user: str, words: list[str]) -> None:
        t = self.t[who]
        texts = [t.text(w) for w in words]
        body = {"user_id": user, "messages": [{"content": x} for x in texts]}
        r = self.call(who, "POST", "/v1/messages", json=body)
        assert r.status_code == 201, r.text
        out = r.json()
        for episode_id, content in zip(out["episode_ids"], texts, strict=True):
            t.episodes[episode_id] = Item(content, user)
            t.born[episode_id] = "episode"
        t.jobs[out["job_id"]] = user
        t.born[out["job_id"]] = "job"

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS), word=st.sampled_from(WORDS))
    def add_memory(self, who: str, user: str, word: str) -> None:
        t = self.t[who]
        fact = t.text(word)
        r = self.call(who, "POST", "/v1/memories", json={"user_id": user, "text": fact})
        assert r.status_code == 201, r.text
        t.memories[r.json()["id"]] = Item(fact, user, ops=["ADD"])
        t.born[r.json()["id"]] = "memory"

    @rule(who=st.sampled_from(NAMES), word=st.sampled_from(WORDS), data=st.data())
    def patch_memory(self, who: str, word: str, data: st.DataObject) -> None:
        target, owner = self.pick(data, who, "memory")
        fact = self.t[who].text(word)
        r = self.call(who, "PATCH", f"/v1/memories/{target}", json={"text": fact})
        mine = self.t[who].memories.get(target) if owner == who else None
        if mine is None:
            assert r.status_code == 404, r.text
        elif mine.status == "deleted":
            assert r.status_code == 409, r.text
        else:
            assert r.status_code == 200, r.text
            assert r.json()["text"] == fact
            mine.text = fact
            mine.ops.append("UPDATE")

    @rule(who=st.sampled_from(NAMES), data=st.data())
    def delete_memory(self, who: str, data: st.DataObject) -> None:
        target, owner = self.pick(data, who, "memory")
        r = self.call(who, "DELETE", f"/v1/memories/{target}")
        mine = self.t[who].memories.get(target) if owner == who else None
        if mine is None or mine.status == "deleted":
            assert r.status_code == 404, r.text
        else:
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "deleted"
            mine.status = "deleted"
            mine.ops.append("DELETE")

    @rule(who=st.sampled_from(NAMES), data=st.data())
    def delete_episode(self, who: str, data: st.DataObject) -> None:
        target, owner = self.pick(data, who, "episode")
        r = self.call(who, "DELETE", f"/v1/episodes/{target}")
        if owner == who and target in self.t[who].episodes:
            assert r.status_code == 204, r.text
            del self.t[who].episodes[target]
        else:
            assert r.status_code == 404, r.text

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS))
    def forget_user(self, who: str, user: str) -> None:
        t = self.t[who]
        episodes = [i for i, e in t.episodes.items() if e.user == user]
        memories = [i for i, m in t.memories.items() if m.user == user]
        r = self.call(who, "DELETE", f"/v1/users/{user}")
        if episodes or memories:
            assert r.status_code == 200, r.text
        assert r.status_code in (200, 404), r.text
        if r.status_code == 200:
            deleted = r.json()["deleted"]
            assert (deleted["episodes"], deleted["memories"]) == (len(episodes), len(memories))
        for table in (t.episodes, t.memories):
            for i in [i for i, item in table.items() if item.user == user]:
                del table[i]
        for i in [i for i, (u, _, _) in t.retrievals.items() if u == user]:
            del t.retrievals[i]
        for i in [i for i, u in t.jobs.items() if u == user]:
            del t.jobs[i]

    @rule(who=st.sampled_from(NAMES), reward=st.sampled_from([-1.0, 0.5, 1.0]), data=st.data())
    def feedback(self, who: str, reward: float, data: st.DataObject) -> None:
        """On a search: all it returned is credited. On a context block: the ids the block
        used, named (the retrieval logged every candidate, the block holds those that fit)."""
        target, owner = self.pick(data, who, "retrieval")
        t = self.t[who]
        _, items, named = t.retrievals.get(target, ("", [], False))
        body: dict[str, Any] = {"retrieval_id": target, "reward": reward}
        if named:
            body["memory_ids"] = [i for _, i in items]
        r = self.call(who, "POST", "/v1/feedback", json=body)
        if owner != who or target not in t.retrievals:
            assert r.status_code == 404, r.text
            return
        assert r.status_code == 200, r.text
        expected: dict[str, float] = {}
        for kind, item_id in items:
            item = (t.episodes if kind == "episode" else t.memories).get(item_id)
            if item is not None:
                item.utility += ALPHA * (reward - item.utility)
                expected[item_id] = item.utility
        got = r.json()["utilities"]
        assert set(got) == set(expected), (got, expected)
        assert all(math.isclose(got[i], q, abs_tol=1e-9) for i, q in expected.items())

    @rule(who=st.sampled_from(NAMES))
    def reimport_own_export(self, who: str) -> None:
        """An export imported back into its own tenant adds nothing (all rows exist)."""
        lines = self.call(who, "GET", "/v1/export").text
        records = [json.loads(line) for line in lines.splitlines()]
        if len(records) == 1:  # the header only: nothing to import is a 422
            return
        r = self.call(who, "POST", "/v1/import", content=lines)
        assert r.status_code == 200, r.text
        assert all(c["added"] == 0 for c in r.json()["imported"].values()), r.text

    @rule(who=st.sampled_from(NAMES), fresh=st.booleans(), data=st.data())
    def import_history_of(self, who: str, fresh: bool, data: st.DataObject) -> None:
        """A history row aimed at a memory: its own (live) one is added; the other's and
        one that does not exist are refused alike (422, the same error, nothing stored)."""
        target, owner = (
            (str(data.draw(st.uuids())), None) if fresh else self.pick(data, who, "memory")
        )
        row = {"type": "history", "id": str(data.draw(st.uuids())), "memory_id": target}
        row |= {"op": "UPDATE", "old_text": None, "new_text": None, "cause": "import"}
        r = self.call(who, "POST", "/v1/import", content=json.dumps(row))
        mine = self.t[who].memories.get(target) if owner == who else None
        if mine is None:
            assert r.status_code == 422, r.text
            assert r.json()["detail"] == {
                "line": 1,
                "field": "memory_id",
                "error": f"no memory {target} in this tenant or this import",
            }
            return
        assert r.status_code == 200, r.text
        assert r.json()["imported"]["history"] == {"received": 1, "added": 1, "skipped": 0}
        mine.ops.append("UPDATE")
