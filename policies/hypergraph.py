"""Hypergraph analysis with networkx: components and entity merge candidates (HGMem)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from uuid import UUID

import networkx as nx

from memory_service.domain.models import Entity, Membership

_POSSESSIVE = re.compile(r"['’]s$")
MERGEABLE = frozenset({"person", "organization", "place", "object", "event", "other"})


def normalise(name: str) -> tuple[str, ...]:
    """Lower-case word tokens, possessive dropped: "Melanie's" -> ("melanie",)."""
    words = [_POSSESSIVE.sub("", w) for w in re.findall(r"[\w'’]+", name.lower())]
    return tuple(w for w in words if w)


def incidence_graph(entities: Sequence[Entity], members: Sequence[Membership]) -> nx.Graph:
    """Bipartite graph: entity nodes ("entity", id) joined to hyperedge nodes (kind, id)."""
    graph = nx.Graph()
    graph.add_nodes_from((("entity", e.id) for e in entities), bipartite=0)
    for m in members:
        graph.add_edge(("entity", m.entity_id), (m.edge_kind, m.edge_id), role=m.role)
    return graph


def components(entities: Sequence[Entity], members: Sequence[Membership]) -> list[list[UUID]]:
    """Groups of entities connected through shared hyperedges, largest first."""
    graph = incidence_graph(entities, members)
    groups = [
        sorted((node[1] for node in comp if node[0] == "entity"), key=str)
        for comp in nx.connected_components(graph)
    ]
    return sorted((g for g in groups if g), key=lambda g: (-len(g), str(g[0])))


def merge_candidates(
    entities: Sequence[Entity], members: Sequence[Membership]
) -> list[tuple[UUID, UUID]]:
    """(keep, drop) pairs that name the same thing: same type, and one name's words are a
    leading part of the other's ("Caroline" / "Caroline Smith") or equal once normalised.
    A prefix match also needs the two in one connected component. The entity with more
    memberships (then the longer name) is kept; each entity is dropped at most once."""
    degree = Counter(m.entity_id for m in members)
    comp_of = {eid: i for i, group in enumerate(components(entities, members)) for eid in group}
    pairs: list[tuple[UUID, UUID]] = []
    dropped: set[UUID] = set()
    ordered = sorted(entities, key=lambda e: (-degree[e.id], -len(e.name), str(e.id)))
    for i, keep in enumerate(ordered):
        if keep.id in dropped or keep.type not in MERGEABLE:
            continue
        keep_words = normalise(keep.name)
        for drop in ordered[i + 1 :]:
            if drop.id in dropped or drop.type != keep.type:
                continue
            words = normalise(drop.name)
            same = bool(words) and words == keep_words
            shorter, longer = sorted((words, keep_words), key=len)
            prefix = bool(shorter) and longer[: len(shorter)] == shorter
            connected = comp_of.get(keep.id) == comp_of.get(drop.id)
            if same or (prefix and connected):
                pairs.append((keep.id, drop.id))
                dropped.add(drop.id)
    return pairs
