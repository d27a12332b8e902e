"""Search queries through the local models' int8 copies, and through ONNX Runtime,
against their fp32 traced forward.

    python -m evals.bench.query_int8 [--questions 300] [--reps 3]

The development split's LoCoMo questions (``--data``), each encoded alone (as a search
encodes its query) on one thread, by MiniLM's and SPLADE's fp32 traced forward
(``embed_sync`` / ``encode_sync``, what stored texts get), by their int8 copies
(``query_int8``: ``adapters.quantized``) and by the fp32 model in ONNX Runtime
(``query_onnx``: ``adapters.exported``), each through the query side
(``embed_query_sync`` / ``encode_query_sync``). Printed: p50 / p95 ms per query, and
how close each query side's vectors are to the fp32 ones (cosine, mean and least; the
learned-sparse vectors' cosine over their terms).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo" / "locomo-dev.json"


def questions(path: Path, most: int) -> list[str]:
    found = [q["question"] for c in json.loads(path.read_text()) for q in c["qa"]]
    return found[:most]


def timed(encode: Callable[[list[str]], Any], texts: Sequence[str], reps: int) -> list[float]:
    """ms per call, each text alone, ``reps`` times over."""
    encode([texts[0]])  # loaded
    ms = []
    for _ in range(reps):
        for text in texts:
            started = time.perf_counter()
            encode([text])
            ms.append((time.perf_counter() - started) * 1000)
    return ms


def dense_cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # both unit length


def sparse_cosine(a: dict[int, float], b: dict[int, float]) -> float:
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    norms = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norms if norms else 1.0


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    import torch

    from memory_service.adapters.local_embedder import LocalEmbedder
    from memory_service.adapters.splade import SpladeEncoder

    torch.set_num_threads(1)
    texts = questions(args.data, args.questions)
    int8 = LocalEmbedder(device="cpu", query_int8=True), SpladeEncoder(device="cpu")
    onnx = (
        LocalEmbedder(device="cpu", query_int8=False),
        SpladeEncoder(device="cpu", query_int8=False),
    )
    rows = []
    Encode = Callable[[list[str]], list[Any]]
    models: list[tuple[str, Encode, Encode, Encode, Callable[[Any, Any], float]]] = [
        (
            "MiniLM",
            int8[0].embed_sync,
            int8[0].embed_query_sync,
            onnx[0].embed_query_sync,
            dense_cosine,
        ),
        (
            "SPLADE",
            int8[1].encode_sync,
            int8[1].encode_query_sync,
            onnx[1].encode_query_sync,
            sparse_cosine,
        ),
    ]
    for name, fp32, *queries, cosine in models:
        reference = fp32(texts)
        for kind, encode in (("fp32", fp32), *zip(("int8", "onnx"), queries, strict=True)):
            ms = timed(encode, texts, args.reps)
            row = {"model": name, "forward": kind, "p50_ms": statistics.median(ms)}
            row |= {"p95_ms": pct(ms, 0.95), "calls": len(ms)}
            if kind != "fp32":
                close = [cosine(a, b) for a, b in zip(reference, encode(texts), strict=True)]
                row |= {"cosine_mean": statistics.fmean(close), "cosine_min": min(close)}
            rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.bench.query_int8", description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    rows = run(args)
    for row in rows:
        close = ""
        if "cosine_mean" in row:
            close = f"  cosine to fp32 mean {row['cosine_mean']:.4f} min {row['cosine_min']:.4f}"
        print(
            f"{row['model']:7} {row['forward']}: p50 {row['p50_ms']:.2f} p95 {row['p95_ms']:.2f} "
            f"ms per query ({row['calls']} calls){close}"
        )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
