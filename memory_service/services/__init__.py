"""Use cases: they orchestrate ports, own side effects, and never commit."""
