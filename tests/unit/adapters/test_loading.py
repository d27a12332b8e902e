"""One local model loads at a time (transformers' lazy imports are not safe from two
threads at once), and a loaded model's calls take no lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.adapters.offline import LOADING
from memory_service.adapters.splade import SpladeEncoder


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, threading.Event]:
    """``call`` started in a daemon thread (a call stuck on the lock cannot hang the
    run), and the event it sets when it returns."""
    done = threading.Event()

    def run() -> None:
        call()
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def loads_only_when_free(load: Callable[[], Any]) -> None:
    with LOADING:
        loader, done = in_thread(load)
        assert not done.wait(0.5)  # waits for the lock while another model loads
    assert done.wait(120)
    loader.join()


@pytest.mark.parametrize(
    "make", [lambda: LocalEmbedder(device="cpu"), lambda: SpladeEncoder(device="cpu")]
)
def test_a_model_waits_for_another_one_loading(make: Callable[[], Any]) -> None:
    encoder = make()
    loads_only_when_free(encoder.load)
    encode = getattr(encoder, "embed_sync", None) or encoder.encode_sync
    encoded: list[Any] = []
    with LOADING:  # loaded: its calls no longer take the lock
        caller, done = in_thread(lambda: encoded.extend(encode(["hi"])))
        assert done.wait(60)
    caller.join()
    assert len(encoded) == 1
