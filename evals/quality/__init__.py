"""Retrieval and answer quality on LoCoMo and LongMemEval, scored, aggregated, reported."""
