"""An in-memory, deterministic unit of work, to test services without PostgreSQL.

``FakeUnitOfWork(FakeStore(seed=0))``: see :class:`FakeUnitOfWork` for where it is
not PostgreSQL.
"""

from memory_service.fake_store._tables import FakeStore, RetrievalRow
from memory_service.fake_store._uow import FakeUnitOfWork

__all__ = ["FakeStore", "FakeUnitOfWork", "RetrievalRow"]
