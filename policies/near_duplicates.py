"""Near-duplicate facts within one consolidation batch, clustered with FAISS."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memory_service.domain.consolidation import ExtractedFact


def clusters(vectors: Sequence[Sequence[float]], threshold: float) -> list[list[int]]:
    """Groups of indices whose unit vectors are linked by cosine >= ``threshold``
    (transitively: single-linkage), each group in index order, groups by first index."""
    n = len(vectors)
    if n == 0:
        return []
    import faiss

    matrix = np.ascontiguousarray(np.asarray(vectors, dtype="float32"))
    index = faiss.IndexFlatIP(matrix.shape[1])
    index.add(matrix)
    lims, _, neighbours = index.range_search(matrix, float(threshold))
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in neighbours[lims[i] : lims[i + 1]]:
            a, b = root(i), root(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def merge_near_duplicates(
    facts: Sequence[ExtractedFact], vectors: Sequence[Sequence[float]], threshold: float
) -> tuple[list[ExtractedFact], list[Sequence[float]]]:
    """One fact per cluster: the longest text, all provenance and entities, earliest date."""
    merged_facts: list[ExtractedFact] = []
    merged_vectors: list[Sequence[float]] = []
    for group in clusters(vectors, threshold):
        members = [facts[i] for i in group]
        best = max(range(len(group)), key=lambda i: (len(members[i].text), -i))
        dates = [f.valid_from for f in members if f.valid_from is not None]
        merged_facts.append(
            ExtractedFact(
                text=members[best].text,
                source_episode_ids=tuple(
                    dict.fromkeys(e for f in members for e in f.source_episode_ids)
                ),
                entities=tuple(dict.fromkeys(e for f in members for e in f.entities)),
                valid_from=min(dates) if dates else None,
            )
        )
        merged_vectors.append(vectors[group[best]])
    return merged_facts, merged_vectors
