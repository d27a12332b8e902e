"""Loaders for the benchmark datasets (LoCoMo, LongMemEval) into frozen dataclasses."""
