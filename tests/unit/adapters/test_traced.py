"""Tracing a model's forward: used only when the traced graph gives the eager numbers."""

from __future__ import annotations

from typing import Any

import torch

from memory_service.adapters.traced import PROBE, traced_forward


class Tokenizer:
    """Each character one id, padded with 0 to the longest text."""

    def __call__(self, texts: list[str], **_: Any) -> dict[str, torch.Tensor]:
        width = max(len(t) for t in texts) or 1
        ids = [[ord(c) % 97 + 1 for c in t] + [0] * (width - len(t)) for t in texts]
        mask = [[1] * len(t) + [0] * (width - len(t)) for t in texts]
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}


class Out(dict[str, torch.Tensor]):
    def __getattr__(self, name: str) -> torch.Tensor:
        return self[name]


class Sums(torch.nn.Module):
    """Per token: its id times a weight, where the mask is set."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(0.5))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Out:
        return Out(hidden=input_ids * attention_mask * self.weight)


class Branchy(Sums):
    """A Python branch on the data: a trace keeps the branch it saw."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Out:
        if int(attention_mask.sum()) > 60:  # True for the traced pair, False for "Hi!"
            return Out(hidden=input_ids * 2.0)
        return super().forward(input_ids, attention_mask)


def test_a_faithful_trace_is_used_for_any_batch_shape() -> None:
    forward = traced_forward(Sums(), Tokenizer(), "hidden")
    assert forward is not None
    batch = Tokenizer()(["a", "longer text", *PROBE])
    eager = Sums()(**batch).hidden
    assert torch.equal(forward(batch["input_ids"], batch["attention_mask"]), eager)


def test_a_trace_that_gives_other_numbers_is_refused() -> None:
    assert traced_forward(Branchy(), Tokenizer(), "hidden") is None


def test_a_model_that_cannot_be_traced_is_refused() -> None:
    assert traced_forward(Sums(), Tokenizer(), "no such output") is None


def test_the_head_is_traced_with_the_model() -> None:
    def total(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (hidden * mask).sum(1)

    forward = traced_forward(Sums(), Tokenizer(), "hidden", total)
    assert forward is not None
    batch = Tokenizer()(["ab", "longer text", *PROBE])
    eager = total(Sums()(**batch).hidden, batch["attention_mask"])
    assert torch.equal(forward(batch["input_ids"], batch["attention_mask"]), eager)
