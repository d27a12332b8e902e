"""Policies decide which candidates survive, and in what order."""
