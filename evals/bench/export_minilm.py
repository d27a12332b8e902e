"""Export the bundled all-MiniLM-L6-v2 as an fp16 sentence-transformers folder.

The GPU machine has torch and sentence-transformers but not our dependencies and
no network, and only 64 MiB of git-ignored files travel with the working tree; the
bundled fp32 weights (~87 MiB) do not fit, fp16 ones (~44 MiB) do. This copies
every file of the bundled model folder (tokenizer, configs, pooling) unchanged,
so that any sentence-transformers/transformers version that reads the original
reads the copy, and rewrites only ``model.safetensors`` with its floating-point
tensors cast to fp16 (same names; integer buffers such as ``position_ids`` kept).

Then it checks the copy: total size under the limit, and on CPU the copy (cast to
fp32) gives embeddings with cosine > 0.999 to the bundled fp32 model's.

    scripts/export-minilm-fp16            # or: .venv/bin/python -m evals.bench.export_minilm
    scripts/export-minilm-fp16 --out DIR --force
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

DEFAULT_OUT = Path(".gpu-carry/minilm-fp16")
CARRY_LIMIT_BYTES = 64 * 1024 * 1024
SIZE_BUDGET_BYTES = 56 * 1024 * 1024  # "well under" the carry limit
MIN_COSINE = 0.999
WEIGHTS = "model.safetensors"
SKIP = {WEIGHTS, "README.md", ".gitattributes"}
CHECK_SENTENCES = [
    "I adopted a greyhound named Pixel yesterday.",
    "Caroline went to the LGBTQ support group on Tuesday and felt welcomed.",
    "What is the name of my dog?",
    "Melanie painted a sunrise over the lake last summer for her kids.",
    "We should book the flights to Lisbon before prices go up in March.",
    "ok",
]


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def export(src: Path, out: Path) -> None:
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp, ignore=lambda _d, names: [n for n in names if n in SKIP])
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(src / WEIGHTS), framework="pt") as f:
        metadata = f.metadata() or {"format": "pt"}
        for key in f.keys():  # noqa: SIM118 (safe_open is not a dict)
            t = f.get_tensor(key)
            tensors[key] = t.to(torch.float16) if t.is_floating_point() else t
    save_file(tensors, str(tmp / WEIGHTS), metadata=metadata)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def check(src: Path, out: Path) -> float:
    """Min cosine between the copy (fp32 on CPU) and the bundled fp32 model."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    def encode(path: Path) -> np.ndarray:
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True).float()
        return np.asarray(
            model.encode(
                CHECK_SENTENCES,
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float64,
        )

    a, b = encode(src), encode(out)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true", help="rewrite an existing export")
    parser.add_argument("--no-check", action="store_true", help="skip the cosine check")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

    from memory_service.adapters.local_embedder import bundled_model_path

    src = bundled_model_path()
    out: Path = args.out
    if (out / WEIGHTS).exists() and not args.force:
        print(f"{out} exists (use --force to rewrite); checking it")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        export(src, out)
        print(f"wrote {out} from {src}")
    size = folder_bytes(out)
    print(f"size: {size} bytes ({size / 2**20:.1f} MiB; carry limit 64 MiB)")
    ok = size <= SIZE_BUDGET_BYTES
    if not ok:
        print(f"FAIL: over the {SIZE_BUDGET_BYTES / 2**20:.0f} MiB budget", file=sys.stderr)
    if not args.no_check:
        cos = check(src, out)
        print(f"min cosine fp16 copy (as fp32, CPU) vs bundled fp32: {cos:.6f}")
        if cos <= MIN_COSINE:
            print(f"FAIL: min cosine {cos:.6f} <= {MIN_COSINE}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
