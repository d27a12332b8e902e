"""GPU benchmark and CUDA-path check of the local embedder (all-MiniLM-L6-v2).

    python -m evals.bench.gpu --model .gpu-carry/minilm-fp16 [--require-cuda]
    python -m evals.bench.gpu --model .gpu-carry/minilm-fp16 --quick    # CPU-only smoke run

Made for a machine that has torch, sentence-transformers and numpy but none of our other
dependencies and no network; run it from the repository root. The model folder comes from
``scripts/export-minilm-fp16`` (the bundled model as fp16 safetensors, ~44 MiB). Besides
those three and the standard library it imports only ``evals.bench.chat_turns`` and
``memory_service.adapters.local_embedder``, whose import chain (``memory_service``,
``memory_service.adapters``, ``memory_service.domain`` -> ``errors``, ``models``) is
standard library only; torch and sentence-transformers it loads lazily. So the check and
the benchmark exercise the real ``LocalEmbedder`` (its device selection, its
``SentenceTransformer(path, device=..., local_files_only=True)`` load and its
``encode(batch_size=..., normalize_embeddings=True, convert_to_numpy=True)`` call).

Weights dtype: the folder holds fp16 weights; depending on the transformers version they
load as fp16 or fp32, so each embedder is cast explicitly (``.half()`` / ``.float()``).
Production loads the bundled fp32 weights, i.e. runs fp32.

What it does, in one run (well under 3 minutes on an H100):

1. prints the device, torch, transformers and sentence-transformers versions;
2. CUDA-path check: ``LocalEmbedder`` with no device picks CUDA; 200 sentences embedded on
   CUDA in fp16 and in fp32 against CPU fp32 (all through ``embed_sync``); fails (exit 1)
   when the min cosine fp16-vs-CPU is not above 0.99, or vectors are not 384-d unit norm;
3. throughput (sentences/s) over 20,000 deterministic synthetic chat turns (LoCoMo-like, 8
   to 30 words) on CUDA fp16 and fp32 for batch sizes 32, 128 and 512 (a warm-up first,
   ``torch.cuda.synchronize`` around each timed pass, median of 3 passes), the peak GPU
   memory of each (``torch.cuda.max_memory_allocated``); ``model.encode`` with the same
   arguments as ``embed_sync`` (without its conversion to Python lists);
4. ``LocalEmbedder.embed_sync`` as production runs it (default device, batch 64, fp32,
   lists of floats included) over the same texts;
5. a CPU fp32 baseline on 2,000 of the texts, one pass a batch size (the slow part: fewer
   texts when the check's CPU rate says a pass would take over ``--cpu-pass-s``, 15 s).

Prints a table; writes JSON to ``$OUT/bench_gpu.json`` when ``OUT`` is set (or to
``--json``). Exit status: 0 ok, 1 check failed, 2 no CUDA under ``--require-cuda`` (or no
model), 3 a benchmark raised (the JSON still has the check and what was measured).
Without CUDA it runs the CPU parts only, and the check compares CPU fp16 with CPU fp32
(``--quick`` keeps that under a minute).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evals.bench.chat_turns import chat_turns
from memory_service.adapters.local_embedder import DIM, LocalEmbedder

MIN_COSINE_FP16 = 0.99
BATCH_SIZES = (32, 128, 512)
PROD_BATCH_SIZE = 64  # LocalEmbedder's default
# Modules our other dependencies would bring in; none may be imported by this script.
PROJECT_ONLY_MODULES = (
    "pydantic",
    "pydantic_settings",
    "sqlalchemy",
    "fastapi",
    "spacy",
    "litellm",
    "celery",
    "redis",
    "asyncpg",
    "psycopg",
)
OFFLINE_ENV = (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ("TRANSFORMERS_VERBOSITY", "error"),
    ("TOKENIZERS_PARALLELISM", "true"),
)


def make_embedder(model: Path, device: str | None, dtype: torch.dtype, batch: int) -> LocalEmbedder:
    """A ``LocalEmbedder`` over the ``model`` folder, loaded now and cast to ``dtype``."""
    emb = LocalEmbedder(device=device, batch_size=batch, model_path=model)
    emb._load().to(dtype)
    return emb


# --- measurements -----------------------------------------------------------------------------


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} x{os.cpu_count()}"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def encode(model: Any, texts: Sequence[str], batch: int) -> np.ndarray:
    """``LocalEmbedder.embed_sync``'s encode call, minus the conversion to lists."""
    return np.asarray(
        model.encode(
            list(texts),
            batch_size=batch,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    )


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    cos = (a64 * b64).sum(1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))
    return float(cos.min())


def throughput(
    run: Callable[[], object],
    n: int,
    device: str,
    repeats: int,
    warmup: Callable[[], object],
) -> dict[str, Any]:
    """Seconds of ``repeats`` timed passes of ``run`` over ``n`` texts, after ``warmup``;
    sentences/s of the median and of the best pass; on CUDA, peak and resident MiB."""
    warmup()
    sync(device)
    resident = 0.0
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        resident = torch.cuda.memory_allocated() / 2**20
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        run()
        sync(device)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    row: dict[str, Any] = {
        "n": n,
        "repeats": repeats,
        "seconds": [round(t, 4) for t in times],
        "sentences_per_s": round(n / med, 1),
        "best_sentences_per_s": round(n / min(times), 1),
    }
    if device.startswith("cuda"):
        row["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        row["resident_gpu_mib"] = round(resident, 1)  # weights of every loaded model
    return row


class Embedders:
    """One embedder per (device, dtype), each loaded once; shared by the check and the runs.

    ``auto`` is built as production builds it (no device, default batch size), cast to fp32;
    on CUDA it is also the CUDA fp32 embedder.
    """

    def __init__(self, model: Path, cuda: bool) -> None:
        self.cuda = cuda
        self.dev = "cuda" if cuda else "cpu"
        self.auto = LocalEmbedder(model_path=model)
        self.auto._load().to(torch.float32)
        self.cpu32 = make_embedder(model, "cpu", torch.float32, PROD_BATCH_SIZE)
        self.half = make_embedder(model, self.dev, torch.float16, PROD_BATCH_SIZE)

    def model(self, device: str, dtype: torch.dtype) -> Any:
        if device == "cpu" and dtype == torch.float32:
            return self.cpu32._load()
        if dtype == torch.float16 and device == self.dev:
            return self.half._load()
        if self.cuda and device == "cuda" and dtype == torch.float32:
            return self.auto._load()
        raise ValueError(f"no embedder for {device} {dtype}")


# --- the CUDA-path check ----------------------------------------------------------------------


def _vector_problems(result: dict[str, Any], arrays: dict[str, np.ndarray], n: int) -> list[str]:
    """Shape and unit-norm problems of each array; records each norm range in ``result``."""
    problems = []
    for name, arr in arrays.items():
        if arr.shape != (n, DIM):
            problems.append(f"{name} shape {arr.shape}")
        norms = np.linalg.norm(arr.astype(np.float64), axis=1)
        result[f"{name}_norm_range"] = [float(norms.min()), float(norms.max())]
        if not np.all(np.abs(norms - 1.0) < 1e-2):
            problems.append(f"{name} not unit norm")
    return problems


def run_check(embs: Embedders, texts: list[str]) -> dict[str, Any]:
    dev, cuda = embs.dev, embs.cuda
    t0 = time.perf_counter()
    ref = np.asarray(embs.cpu32.embed_sync(texts))
    cpu_rate = len(texts) / (time.perf_counter() - t0)
    half = np.asarray(embs.half.embed_sync(texts))
    picked = embs.auto.device
    result: dict[str, Any] = {
        "n": len(texts),
        "device": dev,
        "default_device_picked": picked,
        "fp16_vs_cpu_fp32_min_cosine": min_cosine(half, ref),
        "threshold": MIN_COSINE_FP16,
        "cpu_fp32_sentences_per_s_cold": round(cpu_rate, 1),
    }
    problems = []
    if cuda and not picked.startswith("cuda"):
        problems.append(f"LocalEmbedder picked {picked}, not CUDA")
    problems += _vector_problems(result, {"cpu_fp32": ref, f"{dev}_fp16": half}, len(texts))
    if cuda:
        full = np.asarray(embs.auto.embed_sync(texts))
        result["cuda_fp32_vs_cpu_fp32_min_cosine"] = min_cosine(full, ref)
        result["cuda_fp16_vs_cuda_fp32_min_cosine"] = min_cosine(half, full)
    if not result["fp16_vs_cpu_fp32_min_cosine"] > MIN_COSINE_FP16:  # NaN fails too
        problems.append(
            f"min cosine {result['fp16_vs_cpu_fp32_min_cosine']:.6f} <= {MIN_COSINE_FP16}"
        )
    result["problems"] = problems
    result["ok"] = not problems
    return result


def print_check(check: dict[str, Any], cuda: bool) -> None:
    print(
        f"\ncheck ({check['device']} fp16 vs CPU fp32, {check['n']} sentences): "
        f"min cosine {check['fp16_vs_cpu_fp32_min_cosine']:.6f} "
        f"(> {MIN_COSINE_FP16} required); default device picked: "
        f"{check['default_device_picked']}"
    )
    if cuda:
        print(
            f"  CUDA fp32 vs CPU fp32 min cosine {check['cuda_fp32_vs_cpu_fp32_min_cosine']:.6f}"
            f"; CUDA fp16 vs CUDA fp32 {check['cuda_fp16_vs_cuda_fp32_min_cosine']:.6f}"
        )
    print("  " + ("OK" if check["ok"] else "FAILED: " + "; ".join(check["problems"])))


# --- the throughput runs ----------------------------------------------------------------------


@dataclass
class Runs:
    """The timed runs of one invocation, each skipped once ``budget_s`` has passed."""

    embs: Embedders
    texts: list[str]
    started: float
    budget_s: float
    results: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def over_budget(self, label: str) -> bool:
        if time.perf_counter() - self.started > self.budget_s:
            self.skipped.append(label)
            print(f"  skipped {label}: over the {self.budget_s:.0f} s budget")
            return True
        return False

    def bench(self, device: str, dtype: torch.dtype, batch: int, n: int, reps: int) -> None:
        """``model.encode`` on ``device`` in ``dtype``: the model alone."""
        label = f"{device} {str(dtype).removeprefix('torch.')} batch {batch}"
        if self.over_budget(label):
            return
        m = self.embs.model(device, dtype)
        sample = self.texts[:n]
        # GPU: a few batches (kernels, allocator); CPU: a few sentences, it is the slow part.
        warm = min(n, max(2 * batch, 256) if device.startswith("cuda") else 16)
        row = throughput(
            lambda: encode(m, sample, batch),
            n,
            device,
            reps,
            warmup=lambda: encode(m, sample[:warm], batch),
        )
        row.update({"device": device, "dtype": str(dtype).removeprefix("torch."), "batch": batch})
        row["what"] = "model.encode"
        self.results.append(row)
        print(f"  {label}: {row['sentences_per_s']:.0f} sentences/s")
        if device.startswith("cuda"):
            torch.cuda.empty_cache()

    def bench_prod(self, n: int, reps: int) -> None:
        """``LocalEmbedder.embed_sync`` as production runs it: default device and batch, fp32."""
        label = f"LocalEmbedder.embed_sync default device fp32 batch {PROD_BATCH_SIZE}"
        if self.over_budget(label):
            return
        emb = self.embs.auto
        device = emb.device
        sample = self.texts[:n]
        row = throughput(
            lambda: emb.embed_sync(sample),
            n,
            device,
            reps,
            warmup=lambda: emb.embed_sync(sample[: 256 if device.startswith("cuda") else 16]),
        )
        row.update({"device": device, "dtype": "float32", "batch": PROD_BATCH_SIZE})
        row["what"] = "LocalEmbedder.embed_sync (lists of floats)"
        self.results.append(row)
        print(f"  {label} ({device}): {row['sentences_per_s']:.0f} sentences/s")


@dataclass(frozen=True, slots=True)
class Sizes:
    """Texts for the GPU runs, the CPU runs and the check; timed passes on GPU."""

    gpu_n: int
    cpu_n: int
    check_n: int
    repeats: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Sizes:
        return cls(
            gpu_n=args.n or (2000 if args.quick else 20000),
            cpu_n=args.cpu_n or (64 if args.quick else 2000),
            check_n=args.check_n or (32 if args.quick else 200),
            repeats=args.repeats or (2 if args.quick else 3),
        )


def run_all(runs: Runs, sizes: Sizes, cpu_rate: float, cpu_pass_s: float) -> str | None:
    """Every timed run; the error (repr) that stopped them, if one did."""
    cuda = runs.embs.cuda
    try:  # a one-shot run: keep what was measured, and the check, if a benchmark breaks
        if cuda:
            for dtype in (torch.float16, torch.float32):
                for batch in BATCH_SIZES:
                    runs.bench("cuda", dtype, batch, sizes.gpu_n, sizes.repeats)
            runs.bench_prod(sizes.gpu_n, 1)
        # The CPU is the slow part: size each CPU pass to about --cpu-pass-s from the rate the
        # check saw (cold, so an underestimate), never below 64 sentences.
        cpu_n = min(sizes.cpu_n, max(64, int(cpu_rate * cpu_pass_s)))
        for batch in BATCH_SIZES:
            runs.bench("cpu", torch.float32, batch, cpu_n, 1)
        if not cuda:
            runs.bench_prod(cpu_n, 1)
    except Exception as exc:  # the entry point's own boundary: report it, exit 3
        traceback.print_exc()
        return repr(exc)
    return None


# --- the run ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path(".gpu-carry/minilm-fp16"))
    parser.add_argument("--quick", action="store_true", help="small sizes (CPU smoke test)")
    parser.add_argument("--require-cuda", action="store_true", help="exit 2 without CUDA")
    parser.add_argument("--n", type=int, help="texts for the GPU runs (20000; quick 2000)")
    parser.add_argument("--cpu-n", type=int, help="texts for the CPU runs (2000; quick 64)")
    parser.add_argument("--check-n", type=int, help="texts for the check (200; quick 32)")
    parser.add_argument("--repeats", type=int, help="timed passes on GPU (3; quick 2); CPU: 1")
    parser.add_argument(
        "--budget-s", type=float, default=150.0, help="skip what would start after this"
    )
    parser.add_argument(
        "--cpu-pass-s", type=float, default=15.0, help="cap on one CPU pass (fewer texts)"
    )
    parser.add_argument("--json", type=Path, help="default: $OUT/bench_gpu.json when OUT is set")
    return parser.parse_args(argv)


def environment(model: Path, cuda: bool, quick: bool) -> dict[str, Any]:
    return {
        "device": torch.cuda.get_device_name(0) if cuda else "CPU only",
        "cuda": cuda,
        "cpu": cpu_name(),
        "cuda_version": torch.version.cuda,
        "torch": torch.__version__,
        "transformers": importlib.metadata.version("transformers"),
        "sentence_transformers": importlib.metadata.version("sentence-transformers"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "embedder": "LocalEmbedder",
        "model": str(model),
        "quick": quick,
    }


def text_figures(texts: list[str], embs: Embedders) -> dict[str, Any]:
    """Word counts of the texts, token counts of the first 2,000, and three examples."""
    tokenizer = embs.cpu32._load().tokenizer
    lengths = [len(ids) for ids in tokenizer(texts[:2000])["input_ids"]]
    words = [len(t.split()) for t in texts]
    return {
        "n_texts": len(texts),
        "words_min_mean_max": [min(words), round(statistics.mean(words), 1), max(words)],
        "tokens_mean_max_first_2000": [round(statistics.mean(lengths), 1), max(lengths)],
        "examples": texts[:3],
    }


def print_table(results: Sequence[dict[str, Any]]) -> None:
    print(
        f"\n{'device':<6} {'dtype':<8} {'batch':>5} {'n':>6} {'sent/s':>9} {'best':>9} "
        f"{'peak MiB':>9}  what"
    )
    for r in results:
        print(
            f"{r['device']:<6} {r['dtype']:<8} {r['batch']:>5} {r['n']:>6} "
            f"{r['sentences_per_s']:>9.0f} {r['best_sentences_per_s']:>9.0f} "
            f"{r.get('peak_gpu_mib', '-')!s:>9}  {r['what']}"
        )


def write_json(report: dict[str, Any], out: Path | None) -> None:
    """To ``out``, else to ``$OUT/bench_gpu.json`` when ``OUT`` is set, else nowhere."""
    if out is None and os.environ.get("OUT"):
        out = Path(os.environ["OUT"]) / "bench_gpu.json"
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {out}")


def setup(args: argparse.Namespace, cuda: bool) -> int | None:
    """Offline, quiet libraries; exit status 2 when the model or CUDA is missing."""
    for key, value in OFFLINE_ENV:
        os.environ.setdefault(key, value)
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    if not (args.model / "config.json").exists():
        print(f"no model under {args.model}: run scripts/export-minilm-fp16 first", file=sys.stderr)
        return 2
    if args.require_cuda and not cuda:
        print("CUDA is not available (--require-cuda)", file=sys.stderr)
        return 2
    return None


def load(args: argparse.Namespace, cuda: bool) -> tuple[dict[str, Any], Embedders]:
    """The environment (printed) and the three embedders, timed."""
    env = environment(args.model, cuda, args.quick)
    for key, value in env.items():
        print(f"{key:>22}: {value}")
    t0 = time.perf_counter()
    embs = Embedders(args.model, cuda)
    env["load_seconds"] = round(time.perf_counter() - t0, 2)
    print(f"{'load_seconds':>22}: {env['load_seconds']} (3 embedders)")
    return env, embs


def check_and_time(
    args: argparse.Namespace, embs: Embedders, started: float
) -> tuple[dict[str, Any], dict[str, Any], Runs, str | None]:
    """The CUDA-path check, then the timed runs: (check, text figures, runs, error)."""
    sizes = Sizes.from_args(args)
    check = run_check(embs, chat_turns(sizes.check_n, seed=7))
    if embs.cuda:
        check["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print_check(check, embs.cuda)
    texts = chat_turns(max(sizes.gpu_n if embs.cuda else 0, sizes.cpu_n))
    data = text_figures(texts, embs)
    print(f"\ntexts: {data}")
    runs = Runs(embs, texts, started, args.budget_s)
    print()
    cpu_rate = float(check["cpu_fp32_sentences_per_s_cold"])
    error = run_all(runs, sizes, cpu_rate, args.cpu_pass_s)
    return check, data, runs, error


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    cuda = torch.cuda.is_available()
    if (status := setup(args, cuda)) is not None:
        return status
    env, embs = load(args, cuda)
    check, data, runs, error = check_and_time(args, embs, started)
    # each timed config resets the peak: the overall one is the largest seen
    peaks = [float(r["peak_gpu_mib"]) for r in runs.results if "peak_gpu_mib" in r]
    peak = max([float(check.get("peak_gpu_mib", 0.0)), *peaks])
    leaked = sorted(m for m in PROJECT_ONLY_MODULES if m in sys.modules)
    total = time.perf_counter() - started
    report: dict[str, Any] = {
        "env": env,
        "check": check,
        "texts": data,
        "results": runs.results,
        "skipped": runs.skipped,
        "peak_gpu_mib_overall": peak if cuda else None,
        "project_only_modules_imported": leaked,
        "total_seconds": round(total, 1),
        "error": error,
    }
    print_table(runs.results)
    print(
        f"\ncheck: {'OK' if check['ok'] else 'FAILED'}; total {total:.1f} s"
        + (f"; project-only modules imported: {leaked}" if leaked else "")
    )
    write_json(report, args.json)
    if not check["ok"]:
        return 1
    return 3 if error else 0


if __name__ == "__main__":
    raise SystemExit(main())
