"""Offline evaluation of the memory service.

``evals.quality``: LoCoMo and LongMemEval runs (retrieval and answer quality), their
reports, and the quality gate's calibration and training. ``evals.bench``: performance
benchmarks (store, scan, load, GPU embedder). ``evals.runner`` is the ``memory-eval`` CLI.
"""
