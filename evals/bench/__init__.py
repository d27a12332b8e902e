"""Performance benchmarks: store and scan latency, load, GPU embedder throughput."""
