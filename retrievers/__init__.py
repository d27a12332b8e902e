"""Retrievers decide which candidates exist: vector, full text, and their fusion."""
