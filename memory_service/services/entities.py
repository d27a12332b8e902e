"""Resolving mentioned entities against the scope's stored ones (name, alias, embedding)."""

from __future__ import annotations

from uuid import UUID

from memory_service.domain.consolidation import ExtractedEntity
from memory_service.domain.models import Scope
from memory_service.ports import Embedder, UnitOfWork


class EntityResolver:
    """Maps a mention to one entity of the scope, creating it when nothing matches.

    A mention matches an entity with the same name or alias (any case), or one of
    the same type whose name embedding has cosine similarity >= ``threshold``
    (then the mention becomes an alias). Results are cached for one job.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        embedder: Embedder,
        tenant: UUID,
        scope: Scope,
        *,
        threshold: float = 0.9,
    ) -> None:
        self.uow = uow
        self.tenant = tenant
        self._embedder = embedder
        self._scope = scope
        self._threshold = threshold
        self._known: dict[str, UUID] = {}

    async def resolve(self, mention: ExtractedEntity) -> UUID:
        key = " ".join(mention.name.split()).lower()
        if key in self._known:
            return self._known[key]
        entities = self.uow.entities
        found = await entities.by_names(self.tenant, self._scope, [key])
        if found:
            same_type = [e for e in found if e.type == mention.type]
            self._known[key] = (same_type or found)[0].id
            return self._known[key]
        [vector] = await self._embedder.embed([mention.name])
        for entity, similarity in await entities.nearest(self.tenant, self._scope, vector, 3):
            if similarity >= self._threshold and entity.type == mention.type:
                await entities.add_alias(self.tenant, entity.id, mention.name)
                self._known[key] = entity.id
                return entity.id
        created = await entities.add(self.tenant, self._scope, mention.name, mention.type, vector)
        self._known[key] = created.id
        return created.id
