"""One embedding space per tenant: the vectors a search compares were all made by one
model. A service whose embedder is not the one that made a tenant's vectors refuses to
write or search them (``EmbedderMismatch``) rather than mix two models in one index."""

from __future__ import annotations

from uuid import UUID

from memory_service.domain.errors import EmbedderMismatch
from memory_service.domain.spaces import EmbeddingSpace
from memory_service.ports import Embedder, UnitOfWork


def space_of(embedder: Embedder) -> EmbeddingSpace:
    return EmbeddingSpace(embedder.name, embedder.dim)


async def require_space(uow: UnitOfWork, tenant: UUID, embedder: Embedder, *, write: bool) -> None:
    """Pass when ``embedder`` made the tenant's vectors, else ``EmbedderMismatch``.

    A write (``write=True``) holds the tenant's record until its transaction ends, and
    records the embedder's space for a tenant that has none yet (a new tenant, or one
    from before spaces were recorded). A read records nothing (it may run on a read-only
    replica): a tenant with no space recorded is searched as it is."""
    wanted = space_of(embedder)
    # A write reads before it locks: holding the row in share mode and then claiming it
    # (an UPDATE) would deadlock two first writes of one tenant.
    recorded = await uow.tenants.embedding_space(tenant)
    if recorded is not None and write:
        recorded = await uow.tenants.embedding_space(tenant, lock=True)
    if recorded is None:
        width = await uow.tenants.vector_width()
        if width is not None and width != wanted.dim:
            raise EmbedderMismatch(
                f"the store holds {width}-d vectors, but this service embeds with {wanted}. "
                f"Start it with an embedder of {width}-d vectors, or run `memory-service "
                f"reembed` to re-embed everything with {wanted.model} (the store then "
                f"holds {wanted.dim}-d vectors)"
            )
        if write:
            recorded = await uow.tenants.claim_space(tenant, wanted)
    if recorded is not None and recorded != wanted:
        raise EmbedderMismatch(mismatch(recorded, wanted))


def mismatch(recorded: EmbeddingSpace, configured: EmbeddingSpace) -> str:
    return (
        f"the stored vectors were made with {recorded}, but this service embeds with "
        f"{configured}: vectors of two models cannot be compared. Start the service with "
        f"the embedder that made them, or run `memory-service reembed` to re-embed "
        f"everything with {configured.model}"
    )
