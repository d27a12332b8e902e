"""A model call's torch threads: one for a light call, the process's for a heavy one, set
for the calling thread only and put back when the call ends."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import torch

from memory_service.adapters import threads
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.adapters.splade import SpladeEncoder
from memory_service.adapters.threads import LIGHT_PIECES, call_threads, process_threads, threads_for

STARTED_WITH = torch.get_num_threads()
"""torch's own count, read before any call in this module set one."""


def test_a_light_call_gets_one_thread_a_heavy_one_the_process() -> None:
    assert threads_for(1) == 1
    assert threads_for(LIGHT_PIECES) == 1
    assert threads_for(LIGHT_PIECES + 1) == process_threads()


def test_the_count_holds_inside_the_call_and_is_put_back_after() -> None:
    torch.set_num_threads(process_threads())
    with call_threads(10) as count:
        assert count == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == process_threads()
    with pytest.raises(RuntimeError), call_threads(10):
        raise RuntimeError("the model failed")
    assert torch.get_num_threads() == process_threads()


def test_a_light_call_in_one_thread_leaves_another_threads_count_alone() -> None:
    """What running a query's encoding beside a batch relies on."""
    if process_threads() < 2:
        pytest.skip("torch runs on one thread here: nothing to tell apart")
    inside, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def light_call() -> None:
        with call_threads(10):
            seen.append(torch.get_num_threads())
            inside.set()
            release.wait(10)

    other = threading.Thread(target=light_call)
    other.start()
    try:
        assert inside.wait(10)
        with call_threads(LIGHT_PIECES + 1):
            assert torch.get_num_threads() == process_threads()
    finally:
        release.set()
        other.join()
    assert seen == [1]


@pytest.mark.parametrize("first", [10, LIGHT_PIECES + 1])
def test_the_default_is_read_before_the_first_call_sets_one(
    monkeypatch: pytest.MonkeyPatch, first: int
) -> None:
    before = process_threads()
    monkeypatch.setattr(threads, "_default", None)
    torch.set_num_threads(3)
    try:
        with call_threads(first):  # the process's first call, light or heavy
            pass
        assert torch.get_num_threads() == 3
        assert process_threads() == 3
        with call_threads(1):
            pass
        assert process_threads() == 3  # not the 1 a call set meanwhile
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


class Recording:
    """A forward that notes the torch threads it ran on."""

    def __init__(self, forward: Any) -> None:
        self.forward = forward
        self.counts: list[int] = []

    def __call__(self, ids: Any, mask: Any) -> Any:
        self.counts.append(torch.get_num_threads())
        return self.forward(ids, mask)


@pytest.mark.parametrize(
    "make", [lambda: LocalEmbedder(device="cpu"), lambda: SpladeEncoder(device="cpu")]
)
def test_the_encoders_run_a_query_on_one_thread_and_a_batch_on_all(make: Any) -> None:
    encoder = make()
    encode = encoder.embed_sync if isinstance(encoder, LocalEmbedder) else encoder.encode_sync
    encode(["load"])
    assert encoder._forward is not None  # traced on a CPU
    recording = Recording(encoder._forward)
    encoder._forward = recording
    query = encode(["When did Caroline go to the support group?"])
    batch = encode([f"message {i} of a long write about the trip to Lisbon" for i in range(50)])
    assert process_threads() == STARTED_WITH  # a query's 1 never became the default
    first, *rest = recording.counts
    assert first == 1
    assert rest
    assert set(rest) == {process_threads()}
    assert len(query) == 1
    assert len(batch) == 50
