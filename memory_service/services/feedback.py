"""Feedback on a retrieval updates the utility Q of what it returned (MemRL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from memory_service.domain.errors import InvalidInput, NotFound
from memory_service.ports import UnitOfWork

ALPHA = 0.3
"""MemRL's learning rate for ``Q <- Q + alpha (r - Q)``."""


def feedback_id_for(tenant: UUID, key: str | None) -> UUID:
    """The id feedback is deduplicated on: derived from the client's key within its
    tenant (so two tenants' keys never collide), or fresh when there is none."""
    return uuid5(NAMESPACE_URL, f"memory-feedback:{tenant}:{key}") if key else uuid4()


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    feedback_id: UUID
    applied: bool
    """False when this feedback id was applied before (nothing changed this time)."""
    utilities: dict[UUID, float]


async def give_feedback(
    uow: UnitOfWork,
    tenant: UUID,
    retrieval_id: UUID,
    reward: float,
    *,
    feedback_id: UUID,
    item_ids: Sequence[UUID] | None = None,
    alpha: float = ALPHA,
) -> FeedbackResult:
    """Credit ``reward`` in [-1, 1] to the items the retrieval returned (all, or the
    subset ``item_ids``), once per ``feedback_id``, in the caller's transaction."""
    if not -1.0 <= reward <= 1.0:
        raise InvalidInput({"reward": "must be in [-1, 1]"})
    record = await uow.feedback.retrieval(tenant, retrieval_id)
    if record is None:
        raise NotFound(f"retrieval {retrieval_id} not found")
    returned = {item_id: kind for kind, item_id in record.items}
    chosen = list(dict.fromkeys(item_ids)) if item_ids is not None else list(returned)
    unknown = [str(i) for i in chosen if i not in returned]
    if unknown:
        raise InvalidInput({"memory_ids": f"not returned by this retrieval: {unknown}"})
    if not await uow.feedback.add(tenant, feedback_id, retrieval_id, reward, chosen):
        return FeedbackResult(feedback_id, applied=False, utilities={})
    items = [(returned[i], i) for i in chosen]
    utilities = await uow.feedback.update_utilities(tenant, items, reward, alpha)
    return FeedbackResult(feedback_id, applied=True, utilities=utilities)
