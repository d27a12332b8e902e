"""MemoryClient and AsyncMemoryClient offer the same methods with the same signatures."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from memory_client import AsyncMemoryClient, MemoryClient


def public(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")}


def shape(signature: inspect.Signature, *, skip: str = "") -> list[tuple[Any, ...]]:
    return [
        (p.name, p.kind, p.default, None if p.name == skip else p.annotation)
        for p in signature.parameters.values()
    ]


def test_same_public_names() -> None:
    assert public(MemoryClient) == public(AsyncMemoryClient)


@pytest.mark.parametrize("name", sorted(public(MemoryClient)))
def test_same_signature(name: str) -> None:
    blocking = inspect.getattr_static(MemoryClient, name)
    awaited = inspect.getattr_static(AsyncMemoryClient, name)
    if isinstance(blocking, property):
        assert isinstance(awaited, property)
        return
    sync_sig, async_sig = inspect.signature(blocking), inspect.signature(awaited)
    assert shape(sync_sig) == shape(async_sig)
    returns = str(async_sig.return_annotation).replace("AsyncIterator[", "Iterator[")
    assert returns == str(sync_sig.return_annotation)
    if inspect.isgeneratorfunction(blocking):
        assert inspect.isasyncgenfunction(awaited)
    else:
        assert inspect.iscoroutinefunction(awaited)
    assert (blocking.__doc__ is None) == (awaited.__doc__ is None)


def test_same_constructor() -> None:
    sync_sig = inspect.signature(MemoryClient.__init__)
    async_sig = inspect.signature(AsyncMemoryClient.__init__)
    assert shape(sync_sig, skip="transport") == shape(async_sig, skip="transport")
    assert async_sig.parameters["transport"].annotation == "httpx.AsyncBaseTransport | None"


def test_both_are_context_managers() -> None:
    assert callable(MemoryClient.__enter__)
    assert callable(MemoryClient.__exit__)
    assert inspect.iscoroutinefunction(AsyncMemoryClient.__aenter__)
    assert inspect.iscoroutinefunction(AsyncMemoryClient.__aexit__)
