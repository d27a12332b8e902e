"""The tools: one method each, one unit of work each, over the same request layer as the
REST routes. Docstrings and field descriptions are what the model reads: what a tool
does, when to use it, what it returns; nothing about how."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from memory_service.bootstrap import Components
from memory_service.domain.errors import InvalidInput, NotFound
from memory_service.domain.models import Scope
from memory_service.mcp._auth import Access
from memory_service.mcp._errors import tool_errors
from memory_service.mcp._outputs import (
    AddedOut,
    ContextBlockOut,
    DeletedOut,
    DetailOut,
    FeedbackAckOut,
    ForgottenOut,
    ItemOut,
    PageOut,
    SearchResultOut,
    result,
    same_text,
)
from memory_service.requests import memories, messages, retrieval, scopes
from memory_service.requests.call import Call
from memory_service.requests.fields import JsonObject, NulFree, ScopeId
from memory_service.requests.inputs import (
    MAX_INSTRUCTIONS_CHARS,
    ContextIn,
    FeedbackIn,
    MemoryIn,
    MemoryPatch,
    MessageIn,
    MessagesIn,
    SearchIn,
)
from memory_service.requests.outputs import EpisodeOut

# Annotations are resolved at registration (the SDK builds each tool's input schema from
# its signature), so every name used in one must be importable here at run time.
UserId = Annotated[
    ScopeId | None,
    Field(description="whose memories; omit to use the default user, when one is configured"),
]
AgentId = Annotated[ScopeId | None, Field(description="narrow to one agent's memories")]
SessionId = Annotated[ScopeId | None, Field(description="narrow to one conversation")]
MemoryId = Annotated[UUID, Field(description="an id from add_memory, search or list")]
Moment = Annotated[datetime | None, Field(description="ISO 8601; naive times are UTC")]
MetadataFilter = Annotated[
    JsonObject | None,
    Field(
        description='only items whose metadata match: {"topic": "pets"}; '
        '{"priority": {"gte": 2}} (ops: eq ne in nin gt gte lt lte contains icontains); '
        '{"AND"|"OR"|"NOT": [filter, ...]}'
    ),
]
Memorised = Annotated[
    str,
    Field(min_length=1, description="what to remember, in plain words: one fact or a short note"),
]


class Tools:
    """One method per tool; each builds the request model from its arguments and calls
    the same operation as the matching REST route, in one unit of work."""

    def __init__(self, components: Components, access: Access) -> None:
        self._components = components
        self._access = access

    @asynccontextmanager
    async def _call(self, ctx: Context) -> AsyncIterator[Call]:
        with tool_errors():
            tenant = await self._access.tenant(ctx)
            async with self._components.uow(tenant=tenant) as uow:
                yield Call(uow=uow, tenant=tenant, components=self._components)

    @asynccontextmanager
    async def _read_call(self, ctx: Context) -> AsyncIterator[Call]:
        """A read's call: on the replica when one is configured (``retrieval.reading``)."""
        with tool_errors():
            tenant = await self._access.tenant(ctx)
            async with retrieval.reading(self._components, tenant) as call:
                yield call

    def _scope(self, user_id: str | None, agent_id: str | None, session_id: str | None) -> Scope:
        """The scope a call names; the configured default user when it names none."""
        scope = Scope(user_id, agent_id, session_id)
        if scope.is_empty():
            return Scope(user_id=self._components.settings.mcp_default_user_id)
        return scope

    async def add_memory(
        self,
        ctx: Context,
        text: Memorised,
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        metadata: Annotated[JsonObject | None, Field(description="tags to keep with it")] = None,
        infer: Annotated[
            bool,
            Field(description="true: also distil facts from it; false: keep it word for word"),
        ] = True,
        instructions: Annotated[
            str | None,
            Field(
                max_length=MAX_INSTRUCTIONS_CHARS,
                description="with infer: what to keep from this text and what to ignore, "
                "in words (e.g. 'only the dietary preference')",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, AddedOut]:
        """Remember something for later: a preference, a fact about the user, a decision.
        Use when the user shares something worth recalling in a future conversation. With
        infer (the default) the text is kept as an episode and facts are distilled from
        it shortly after; with infer=false it is kept as one memory, exactly as given.
        Returns the new item's id and kind."""
        async with self._call(ctx) as call:
            _check_text(call, "text", text)
            scope = self._scope(user_id, agent_id, session_id)
            parts = _parts(scope)
            if infer:
                message = MessageIn(content=text, metadata=metadata or {})
                body = MessagesIn(**parts, messages=[message], instructions=instructions)
                added = await messages.add_messages(call, body, idempotency_key=None)
                return result(AddedOut(id=added.episode_ids[0], kind="episode"))
            memory = await memories.add_memory(
                call, MemoryIn(**parts, text=text, metadata=metadata or {})
            )
            return result(AddedOut(id=memory.id, kind="memory"))

    async def search_memories(
        self,
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="what to look for, in words")],
        limit: Annotated[int, Field(ge=1, description="at most this many results")] = 5,
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        since: Moment = None,
        until: Moment = None,
        filters: MetadataFilter = None,
        verbose: Annotated[
            bool, Field(description="also return scores, timings and the route taken")
        ] = False,
    ) -> Annotated[CallToolResult, SearchResultOut]:
        """Find what was remembered about a topic. Use before answering anything that
        may depend on the user's past: preferences, earlier decisions, people, dates.
        Returns the best matches first, each with its text, date, id and kind (memory:
        a fact kept current; episode: something said, as said then), and a retrieval_id
        for feedback. A memory and an episode with the same text are shown once."""
        async with self._read_call(ctx) as call:
            body = SearchIn(
                **_parts(self._scope(user_id, agent_id, session_id)),
                query=query,
                limit=limit,
                since=since,
                until=until,
                filters=filters,
            )
            found = await retrieval.search(call, body)
            return result(SearchResultOut.of(found, verbose=verbose))

    async def list_memories(
        self,
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        kind: Annotated[
            Literal["memory", "episode"],
            Field(description="memory: facts (the default); episode: messages as stored"),
        ] = "memory",
        limit: Annotated[int, Field(ge=1, description="items per page")] = 20,
        cursor: Annotated[
            str | None, Field(max_length=512, description="next_cursor of the previous page")
        ] = None,
        filters: MetadataFilter = None,
    ) -> Annotated[CallToolResult, PageOut]:
        """List what is remembered, oldest first, a page at a time. Use to review or
        tidy memories; to answer a question, search_memories is better. Returns items
        (text, date, id, kind) and next_cursor while more remain."""
        async with self._read_call(ctx) as call:
            scope = self._scope(user_id, agent_id, session_id)
            where = None if filters is None else json.dumps(filters)
            if kind == "memory":
                facts = await memories.list_memories(
                    call, scope, include_inactive=False, cursor=cursor, limit=limit, filters=where
                )
                items = [ItemOut.of_memory(m) for m in facts.items]
                return result(PageOut(items=items, next_cursor=facts.next_cursor))
            said = await messages.list_episodes(
                call,
                scope,
                since=None,
                until=None,
                cursor=cursor,
                limit=limit,
                descending=False,
                filters=where,
            )
            items = [ItemOut.of_episode(e) for e in said.items]
            return result(PageOut(items=items, next_cursor=said.next_cursor))

    async def get_memory(
        self, ctx: Context, memory_id: MemoryId
    ) -> Annotated[CallToolResult, DetailOut]:
        """Read one memory or episode in full by its id: text, date, scope, metadata
        and, for a memory, whether it is active or deleted."""
        async with self._read_call(ctx) as call:
            episode = await _episode(call, memory_id)
            if episode is not None:
                return result(DetailOut.of_episode(episode))
            return result(DetailOut.of_memory(await memories.get_memory(call, memory_id)))

    async def update_memory(
        self,
        ctx: Context,
        memory_id: MemoryId,
        text: Annotated[
            str | None, Field(min_length=1, description="the corrected text, in full")
        ] = None,
        metadata: Annotated[
            JsonObject | None, Field(description="replaces the memory's metadata")
        ] = None,
    ) -> Annotated[CallToolResult, DetailOut]:
        """Correct a memory whose fact has changed (a new address, a changed
        preference), keeping its id; the old text stays in its history. Only memories
        can be edited: an episode is a record of what was said, so delete it and add
        the corrected text instead. Returns the updated memory."""
        async with self._call(ctx) as call:
            if await _episode(call, memory_id) is not None:
                edit = "an episode cannot be edited: delete it and add_memory the new text"
                raise InvalidInput({"memory_id": edit})
            updated = await memories.update_memory(
                call, memory_id, MemoryPatch(text=text, metadata=metadata)
            )
            return result(DetailOut.of_memory(updated))

    async def delete_memory(
        self, ctx: Context, memory_id: MemoryId
    ) -> Annotated[CallToolResult, DeletedOut]:
        """Delete one memory or episode by its id, when it is wrong or the user asks to
        forget it. A memory's source episode saying the same thing goes with it, so a
        search no longer finds that text; a memory drawn only from a deleted episode
        goes too. Returns the ids deleted."""
        async with self._call(ctx) as call:
            if await _episode(call, memory_id) is not None:
                facts = await messages.delete_episode(call, memory_id)
                return result(DeletedOut(deleted=[memory_id, *facts]))
            retired = await memories.delete_memory(call, memory_id)
            deleted = [memory_id]
            for source in retired.source_episode_ids:
                episode = await _episode(call, source)
                if episode is not None and same_text(episode.content, retired.text):
                    await messages.delete_episode(call, source)
                    deleted.append(source)
            return result(DeletedOut(deleted=deleted))

    async def delete_all_memories(
        self,
        ctx: Context,
        confirm: Annotated[
            bool, Field(description="must be true: this deletes everything and cannot be undone")
        ] = False,
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
    ) -> Annotated[CallToolResult, ForgottenOut]:
        """Delete everything remembered for a user (or an agent or a conversation):
        every memory, episode and log. Only when the user explicitly asks to be
        forgotten; it cannot be undone. Returns how many items were deleted."""
        async with self._call(ctx) as call:
            scope = self._scope(user_id, agent_id, session_id)
            if not confirm:
                raise InvalidInput({"confirm": "pass confirm=true to delete everything stored"})
            if scope.is_empty():
                raise InvalidInput({"user_id": "name whose memories to delete"})
            forgotten = await scopes.forget_scope(call, scope)
            return result(ForgottenOut(**forgotten.model_dump()))

    async def context(
        self,
        ctx: Context,
        query: Annotated[
            str | None,
            Field(max_length=8000, description="the topic at hand; omit for the most useful"),
            NulFree,
        ] = None,
        token_budget: Annotated[
            int, Field(ge=50, le=100_000, description="longest block, in tokens")
        ] = 1000,
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        filters: MetadataFilter = None,
        now: Moment = None,
    ) -> Annotated[CallToolResult, ContextBlockOut]:
        """A ready-to-read briefing of what is remembered (facts, dated excerpts of past
        conversations, people and things mentioned), most relevant first, within
        token_budget. Use at the start of a conversation or a task. Returns the block,
        its length in tokens and a retrieval_id for feedback."""
        async with self._read_call(ctx) as call:
            body = ContextIn(
                **_parts(self._scope(user_id, agent_id, session_id)),
                query=query,
                token_budget=token_budget,
                now=now,
                filters=filters,
            )
            block = await retrieval.context(call, body)
            out = ContextBlockOut(
                context=block.context, tokens=block.tokens, retrieval_id=block.retrieval_id
            )
            return result(out)

    async def feedback(
        self,
        ctx: Context,
        retrieval_id: Annotated[UUID, Field(description="from search_memories or context")],
        reward: Annotated[
            float, Field(ge=-1.0, le=1.0, description="-1 misleading, 0 no help, 1 helpful")
        ],
        memory_ids: Annotated[
            list[UUID] | None,
            Field(max_length=1000, description="only these returned items; omit for all"),
        ] = None,
        feedback_id: Annotated[
            str | None,
            Field(min_length=1, max_length=255, description="any key: a retry applies once"),
            NulFree,
        ] = None,
    ) -> Annotated[CallToolResult, FeedbackAckOut]:
        """Say how useful a search or context result was, after using it: helpful
        items come first in later searches, misleading ones sink. Returns whether it
        was applied and how many items it credited."""
        async with self._call(ctx) as call:
            body = FeedbackIn(
                retrieval_id=retrieval_id,
                reward=reward,
                memory_ids=memory_ids,
                feedback_id=feedback_id,
            )
            given = await retrieval.give_feedback(call, body)
            return result(FeedbackAckOut(applied=given.applied, credited=len(given.utilities)))


def _parts(scope: Scope) -> dict[str, str | None]:
    return {"user_id": scope.user_id, "agent_id": scope.agent_id, "session_id": scope.session_id}


def _check_text(call: Call, field: str, text: str) -> None:
    """The checks ``add_memory`` makes before either path, so both name ``text``."""
    if not text.strip():
        raise InvalidInput({field: "must not be blank"})
    most = call.components.settings.max_text_chars
    if len(text) > most:
        raise InvalidInput({field: f"longer than {most} characters"})


async def _episode(call: Call, episode_id: UUID) -> EpisodeOut | None:
    """The episode ``episode_id`` names, if it is one (ids never name both kinds)."""
    try:
        return await messages.get_episode(call, episode_id)
    except NotFound:
        return None
