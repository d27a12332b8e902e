"""Celery app and tasks: thin shims over ``memory_service.services`` (see issue 4)."""
