"""LangGraph's long-term memory in memory-service: ``MemoryServiceStore``, a ``BaseStore``.

``pip install 'memory-client[langgraph]'``. Compile a graph with
``store=MemoryServiceStore(client)`` and its nodes' ``store.put``, ``get``, ``search``,
``delete`` and ``list_namespaces`` (and their async forms) use the service.

How items are stored:

- each item is one memory of the service. Its text is what search matches: the value's
  fields as ``field: value`` lines (a value of one string field: that string), or only
  the fields at the paths given as ``index`` (to the store, or to one ``put``). The
  namespace, key and value go in the memory's metadata (``langgraph_namespace``, the
  labels joined by ``.``; ``langgraph_key``; ``langgraph_value``), so ``get`` returns the
  value exactly as it was put. A memory always has a text, so ``index=False`` on a put
  is taken as the store's ``index``: the item stays searchable;
- the namespace decides the memory's scope. ``NamespaceScope(user_id=1)`` (the default)
  takes the user id from the namespace's second label: ``("memories", "alice")`` is user
  ``alice``'s. A label used as a scope id must be one the API accepts
  (``[A-Za-z0-9_.:@-]``, at most 128 characters). A namespace too short to name a scope
  is stored under ``default_scope`` (agent ``langgraph``);
- ``search`` with a ``query`` is the service's hybrid search (kinds ``memory``, the fast
  route), scores as the service ranks them; a prefix naming no scope is searched in each
  scope its items live in, hits merged by score. Without a query, newest first.
  ``filter`` compares the value's fields (``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``,
  ``$lte``), as LangGraph's own stores do;
- ``get`` and ``put`` find the item's memory by its metadata (``get_all``'s
  ``filters``): one request. ``search`` and ``list_namespaces`` list the store's memories
  in the scope page by page (the whole tenant's when a prefix names no scope): one
  request per ``page_size`` memories. TTLs are not supported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

try:
    from langgraph.store.base import (
        BaseStore,
        GetOp,
        InvalidNamespaceError,
        Item,
        ListNamespacesOp,
        MatchCondition,
        Op,
        PutOp,
        Result,
        SearchItem,
        SearchOp,
    )
    from langgraph.store.base.embed import get_text_at_path
except ImportError as error:  # pragma: no cover - the extra is installed in the tests
    raise ImportError(
        "memory_client.integrations.langgraph needs LangGraph: "
        "pip install 'memory-client[langgraph]'"
    ) from error

from memory_client._async import AsyncMemoryClient
from memory_client._sync import MemoryClient
from memory_client.integrations._plans import Call, Clients, Plan, Scope
from memory_client.models import Memory, MemoryPage, SearchResult

__all__ = ["MemoryServiceStore", "NamespaceScope", "Scope"]

NAMESPACE = "langgraph_namespace"
KEY = "langgraph_key"
VALUE = "langgraph_value"


@dataclass(frozen=True, slots=True)
class NamespaceScope:
    """The scope a namespace's items live in: which labels (0-based positions) are the
    user, agent and session ids. ``None`` when the namespace is too short to name them:
    so a prefix names a scope only when every namespace under it has that same scope."""

    user_id: int | None = 1
    agent_id: int | None = None
    session_id: int | None = None

    def __post_init__(self) -> None:
        positions = (self.user_id, self.agent_id, self.session_id)
        if all(p is None for p in positions) or any(p is not None and p < 0 for p in positions):
            raise ValueError("give at least one label position, each 0 or more")

    def __call__(self, namespace: tuple[str, ...]) -> Scope | None:
        positions = (self.user_id, self.agent_id, self.session_id)
        if any(p is not None and p >= len(namespace) for p in positions):
            return None
        user, agent, session = (None if p is None else namespace[p] for p in positions)
        return Scope(user, agent, session)


USER_AT_1 = NamespaceScope(user_id=1)
"""The default rule: ``("memories", "alice")`` is user ``alice``'s."""
STORE_AGENT = Scope(agent_id="langgraph")
"""The default scope of a namespace too short to name one."""


class MemoryServiceStore(BaseStore):
    """A LangGraph ``BaseStore`` over memory-service (see the module's docstring).

    ``client``: a ``MemoryClient`` for the sync methods (``aclient``: an
    ``AsyncMemoryClient`` for the async ones; with only a blocking client they run it in
    a thread). ``scope`` maps a namespace, or a namespace prefix, to a scope (or None:
    no scope named; it must give every namespace under a prefix the prefix's scope).
    ``index``: the value's paths whose text is searched (None: the whole value).
    ``page_size``: memories per listing request (the server allows 100 by default).
    """

    def __init__(
        self,
        client: MemoryClient | AsyncMemoryClient | None = None,
        *,
        aclient: AsyncMemoryClient | None = None,
        scope: Callable[[tuple[str, ...]], Scope | None] = USER_AT_1,
        default_scope: Scope = STORE_AGENT,
        index: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> None:
        self._clients = Clients.of(client, aclient)
        self._scope = scope
        self._default_scope = default_scope
        self._index = list(index) if index is not None else None
        self._page_size = page_size

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self._clients.run(self._batch(ops))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await self._clients.arun(self._batch(ops))

    # -- plans: each op once, for both clients ------------------------------------------

    def _batch(self, ops: Iterable[Op]) -> Plan[list[Result]]:
        ops = list(ops)
        for op in ops:
            _check_labels(op)
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append((yield from self._get(op)))
            elif isinstance(op, PutOp):
                yield from self._put(op)
                results.append(None)
            elif isinstance(op, SearchOp):
                results.append((yield from self._search(op)))
            elif isinstance(op, ListNamespacesOp):
                results.append((yield from self._list_namespaces(op)))
            else:
                raise TypeError(f"unknown store operation: {op!r}")
        return results

    def _get(self, op: GetOp) -> Plan[Item | None]:
        found = yield from self._find(op.namespace, op.key)
        return _item(found[0]) if found else None

    def _put(self, op: PutOp) -> Plan[None]:
        found = yield from self._find(op.namespace, op.key)
        # A put racing another for a new key may leave two memories: the newest is kept.
        stale = found if op.value is None else found[1:]
        for memory in stale:
            yield Call("delete", (memory.id,))
        if op.value is None:
            return None
        fields = op.index if isinstance(op.index, list) else self._index
        text = text_of(op.value, fields)
        metadata = {NAMESPACE: ".".join(op.namespace), KEY: op.key, VALUE: dict(op.value)}
        if found:
            yield Call("update", (found[0].id,), {"text": text, "metadata": metadata})
        else:
            scope = self._home(op.namespace)
            yield Call("add_memory", (text,), {**scope.kwargs(), "metadata": metadata})
        return None

    def _search(self, op: SearchOp) -> Plan[list[SearchItem]]:
        scope = self._scope(op.namespace_prefix)
        memories = yield from self._memories(scope, op.namespace_prefix)
        kept = {m.id: m for m in memories if matches(m.metadata[VALUE], op.filter)}
        window = slice(op.offset, op.offset + op.limit)
        if not op.query:
            newest = sorted(kept.values(), key=lambda m: m.updated_at, reverse=True)
            return [_hit(m, None) for m in newest[window]]
        # The service searches one scope at a time: a prefix naming none is searched in
        # each scope its items live in, and the hits merged by score.
        scopes = {self._home(_namespace(m)) for m in kept.values()} if scope is None else {scope}
        wanted = min(self._page_size, max(4 * (op.offset + op.limit), 20))
        ranked: list[tuple[Memory, float]] = []
        for each in sorted(scopes, key=repr):
            found: SearchResult = yield Call(
                "search",
                (op.query,),
                {
                    **each.kwargs(),
                    "filters": {NAMESPACE: "*"},
                    "limit": wanted,
                    "kinds": ["memory"],
                    "mode": "fast",
                },
            )
            ranked += [(kept[h.id], h.score) for h in found.results if h.id in kept]
        ranked.sort(key=lambda pair: pair[1], reverse=True)
        return [_hit(m, score) for m, score in ranked[window]]

    def _list_namespaces(self, op: ListNamespacesOp) -> Plan[list[tuple[str, ...]]]:
        conditions = op.match_conditions or ()
        memories = yield from self._memories(self._listing_scope(conditions), ())
        namespaces = {_namespace(m) for m in memories}
        namespaces = {ns for ns in namespaces if all(_matches(c, ns) for c in conditions)}
        if op.max_depth is not None:
            namespaces = {ns[: op.max_depth] for ns in namespaces}
        return sorted(namespaces)[op.offset : op.offset + op.limit]

    def _listing_scope(self, conditions: Sequence[MatchCondition]) -> Scope | None:
        """The scope a prefix condition names, up to its first wildcard."""
        for condition in conditions:
            if condition.match_type == "prefix":
                labels = tuple(condition.path)
                fixed = labels[: labels.index("*")] if "*" in labels else labels
                return self._scope(fixed)
        return None

    def _home(self, namespace: tuple[str, ...]) -> Scope:
        """The scope a namespace's items are stored in."""
        return self._scope(namespace) or self._default_scope

    def _find(self, namespace: tuple[str, ...], key: str) -> Plan[list[Memory]]:
        """The memories holding ``namespace``/``key``, newest first (one, but for races)."""
        exact = {NAMESPACE: ".".join(namespace), KEY: key}
        memories = yield from self._memories(self._home(namespace), namespace, exact)
        found = [m for m in memories if _namespace(m) == namespace and m.metadata[KEY] == key]
        return sorted(found, key=lambda m: m.updated_at, reverse=True)

    def _memories(
        self,
        scope: Scope | None,
        prefix: tuple[str, ...],
        exact: Mapping[str, str] | None = None,
    ) -> Plan[list[Memory]]:
        """The store's active memories in ``scope`` (None: the tenant) under ``prefix``;
        ``exact``: metadata the server matches first (``get_all``'s ``filters``)."""
        filters = dict(exact) if exact else {NAMESPACE: "*"}
        kept: list[Memory] = []
        cursor: str | None = None
        while True:
            page: MemoryPage = yield Call(
                "get_all",
                (),
                {
                    **_kwargs(scope),
                    "filters": filters,
                    "limit": self._page_size,
                    "cursor": cursor,
                },
            )
            kept += [m for m in page.items if _stored(m) and _namespace(m)[: len(prefix)] == prefix]
            cursor = page.next_cursor
            if cursor is None:
                return kept


def text_of(value: Mapping[str, Any], fields: Sequence[str] | None = None) -> str:
    """The text search matches for ``value``: the texts at ``fields`` (LangGraph's path
    syntax), or every field as ``name: value`` (a value of one string field: that
    string). Never blank: the service refuses a blank memory."""
    if fields:
        text = "\n".join(t for path in fields for t in get_text_at_path(value, path))
    elif len(value) == 1 and isinstance(only := next(iter(value.values())), str):
        text = only
    else:
        text = "\n".join(f"{name}: {_plain(v)}" for name, v in value.items())
    return text if text.strip() else json.dumps(dict(value), sort_keys=True)


def matches(value: Mapping[str, Any], conditions: Mapping[str, Any] | None) -> bool:
    """Whether ``value`` passes a LangGraph search filter: each field equal to the
    condition, or passing its operators."""
    return all(_passes(value.get(name), want) for name, want in (conditions or {}).items())


def _passes(actual: Any, want: Any) -> bool:
    if isinstance(want, Mapping) and want and all(str(k).startswith("$") for k in want):
        return all(_compare(actual, op, operand) for op, operand in want.items())
    if isinstance(want, Mapping):
        return isinstance(actual, Mapping) and all(
            _passes(actual.get(k), v) for k, v in want.items()
        )
    return bool(actual == want)


def _compare(actual: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(actual == operand)
    if op == "$ne":
        return bool(actual != operand)
    if op not in ("$gt", "$gte", "$lt", "$lte"):
        raise ValueError(f"unsupported filter operator: {op}")
    if not isinstance(actual, int | float) or isinstance(actual, bool):
        return False
    number, bound = float(actual), float(operand)
    return {
        "$gt": number > bound,
        "$gte": number >= bound,
        "$lt": number < bound,
        "$lte": number <= bound,
    }[op]


def _matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if not path:
        return True
    if len(namespace) < len(path):
        return False
    labels = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    return all(p in ("*", label) for p, label in zip(path, labels, strict=True))


def _check_labels(op: Op) -> None:
    """Labels are joined with ``.`` in the metadata, so one may not hold a ``.``."""
    if isinstance(op, GetOp | PutOp):
        labels: Iterable[str] = op.namespace
    elif isinstance(op, SearchOp):
        labels = op.namespace_prefix
    elif isinstance(op, ListNamespacesOp):
        labels = [label for c in op.match_conditions or () for label in c.path]
    else:
        return
    for label in labels:
        if not isinstance(label, str) or not label or "." in label:
            raise InvalidNamespaceError(f"invalid namespace label {label!r}")


def _stored(memory: Memory) -> bool:
    """Whether a memory holds a store item (the tenant may hold other memories)."""
    meta = memory.metadata
    return (
        isinstance(meta.get(NAMESPACE), str)
        and isinstance(meta.get(KEY), str)
        and (isinstance(meta.get(VALUE), dict))
    )


def _namespace(memory: Memory) -> tuple[str, ...]:
    return tuple(str(memory.metadata[NAMESPACE]).split("."))


def _item(memory: Memory) -> Item:
    return Item(
        namespace=_namespace(memory),
        key=memory.metadata[KEY],
        value=memory.metadata[VALUE],
        created_at=memory.created_at,
        updated_at=memory.updated_at,
    )


def _hit(memory: Memory, score: float | None) -> SearchItem:
    item = _item(memory)
    return SearchItem(item.namespace, item.key, item.value, item.created_at, item.updated_at, score)


def _kwargs(scope: Scope | None) -> dict[str, str | None]:
    return scope.kwargs() if scope is not None else {}


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
