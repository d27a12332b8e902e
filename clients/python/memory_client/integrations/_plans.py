"""One adapter logic for the blocking and the asyncio client.

An adapter's operation is written once, as a *plan*: a generator that yields the client
calls it needs (``Call``) and receives each call's result. ``run`` carries a plan out with
a ``MemoryClient``, ``arun`` with an ``AsyncMemoryClient`` (or, given a blocking client,
in a worker thread), so no adapter has hand-copied sync and async twins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeVar

from memory_client._async import AsyncMemoryClient
from memory_client._sync import MemoryClient
from memory_client.errors import MemoryServiceError

T = TypeVar("T")

Method: TypeAlias = Literal["add_memory", "get", "get_all", "search", "update", "delete"]
"""The client methods plans call; both clients have each, with the same arguments."""


@dataclass(frozen=True, slots=True)
class Call:
    """``client.<method>(*args, **kwargs)``."""

    method: Method
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


Plan: TypeAlias = Generator[Call, Any, T]
"""Yields calls, receives their results, returns the operation's result."""

Client: TypeAlias = MemoryClient | AsyncMemoryClient


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose memories: the service's scope ids (at least one names an owner to write)."""

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None

    def kwargs(self) -> dict[str, str | None]:
        return {"user_id": self.user_id, "agent_id": self.agent_id, "session_id": self.session_id}


def run(client: MemoryClient, plan: Plan[T]) -> T:
    """Carry out ``plan`` with the blocking client. A call's ``MemoryServiceError`` is
    raised inside the plan, at its ``yield``, for the plan to handle or let through."""
    try:
        call = next(plan)
        while True:
            try:
                result = getattr(client, call.method)(*call.args, **call.kwargs)
            except MemoryServiceError as error:
                call = plan.throw(error)
            else:
                call = plan.send(result)
    except StopIteration as done:
        value: T = done.value
        return value


async def arun(client: AsyncMemoryClient, plan: Plan[T]) -> T:
    """Carry out ``plan`` with the asyncio client, as ``run`` does."""
    try:
        call = next(plan)
        while True:
            try:
                result = await getattr(client, call.method)(*call.args, **call.kwargs)
            except MemoryServiceError as error:
                call = plan.throw(error)
            else:
                call = plan.send(result)
    except StopIteration as done:
        value: T = done.value
        return value


@dataclass(frozen=True, slots=True)
class Clients:
    """The clients an adapter was given: a blocking one for its sync methods, an asyncio
    one for its async methods. With only a blocking client, async methods run it in a
    worker thread; with only an asyncio client, sync methods raise ``TypeError``."""

    sync_client: MemoryClient | None
    async_client: AsyncMemoryClient | None

    @classmethod
    def of(cls, client: Client | None, aclient: AsyncMemoryClient | None) -> Clients:
        if isinstance(client, AsyncMemoryClient):
            client, aclient = None, aclient or client
        if client is None and aclient is None:
            raise TypeError("give a MemoryClient, an AsyncMemoryClient, or both")
        return cls(client, aclient)

    def run(self, plan: Plan[T]) -> T:
        if self.sync_client is None:
            raise TypeError(
                "only an AsyncMemoryClient was given: use the async methods, "
                "or give a MemoryClient too"
            )
        return run(self.sync_client, plan)

    async def arun(self, plan: Plan[T]) -> T:
        if self.async_client is not None:
            return await arun(self.async_client, plan)
        assert self.sync_client is not None  # of() keeps at least one
        return await asyncio.to_thread(run, self.sync_client, plan)
