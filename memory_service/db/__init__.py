"""SQLAlchemy models, repositories and the unit of work: the store's adapters."""
