"""Offline evaluation of the memory service on LoCoMo and LongMemEval."""
