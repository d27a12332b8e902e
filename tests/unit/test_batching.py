"""The micro-batching queue in front of the models: concurrent callers share model
calls, each gets its own results in order, and errors, cancellation and new event
loops leave it working. The model here is a fake that records its calls and can be
held busy, so what arrives while it runs is known exactly."""

from __future__ import annotations

import asyncio
import threading

import pytest

from memory_service.adapters.batching import Batcher

WAIT_S = 5.0


class Model:
    """Upper-cases its items and records each call and its thread. A held model
    finishes a call only when the test allows one (``allow()``); ``started`` counts
    the calls begun."""

    def __init__(self, *, held: bool = False, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.threads: set[int] = set()
        self.held = held
        self.fail_on = fail_on
        self.permits = threading.Semaphore(0)
        self.started = threading.Semaphore(0)
        self.active = 0
        self.most_active = 0
        self._count = threading.Lock()

    def allow(self) -> None:
        self.permits.release()

    def __call__(self, items: list[str]) -> list[str]:
        held = self.held  # read before the test can see the call begin
        with self._count:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            self.calls.append(list(items))
            self.threads.add(threading.get_ident())
            self.started.release()
            if held:
                assert self.permits.acquire(timeout=WAIT_S), "the test never allowed the call"
            if self.fail_on is not None and self.fail_on in items:
                raise ValueError(f"cannot encode {self.fail_on}")
            return [item.upper() for item in items]
        finally:
            with self._count:
                self.active -= 1


async def running(model: Model) -> None:
    """Until the model has begun its next call."""
    assert await asyncio.to_thread(model.started.acquire, True, WAIT_S)


async def busy(
    model: Model, batcher: Batcher[str, str], items: list[str]
) -> asyncio.Task[list[str]]:
    """A caller whose call is running (held) when this returns."""
    task = asyncio.create_task(batcher(items))
    await running(model)
    return task


async def settle() -> None:
    """Let every ready task run up to its next wait."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_caller_runs_at_once_in_a_worker_thread() -> None:
    model = Model()
    batcher = Batcher(model)
    assert await batcher(["a", "b"]) == ["A", "B"]
    assert model.calls == [["a", "b"]]
    assert threading.get_ident() not in model.threads
    assert await batcher([]) == []
    assert model.calls == [["a", "b"]]


async def test_callers_arriving_while_the_model_runs_share_the_next_call() -> None:
    model = Model(held=True)
    batcher = Batcher(model, max_batch=64)
    first = await busy(model, batcher, ["first"])
    waiting = [asyncio.create_task(batcher([f"t{i}a", f"t{i}b"])) for i in range(15)]
    await settle()
    model.allow()
    model.allow()
    assert await first == ["FIRST"]
    results = await asyncio.gather(*waiting)
    assert results == [[f"T{i}A", f"T{i}B"] for i in range(15)]
    assert model.calls == [["first"], [t for i in range(15) for t in (f"t{i}a", f"t{i}b")]]
    assert batcher.stats.calls == 2
    assert batcher.stats.items == 31
    assert batcher.stats.requests == 16
    assert batcher.stats.largest == 30


async def test_the_event_loop_keeps_serving_while_the_model_runs() -> None:
    model = Model(held=True)
    batcher = Batcher(model)
    call = await busy(model, batcher, ["slow"])
    ticks = 0
    for _ in range(20):
        await asyncio.sleep(0.001)
        ticks += 1
    assert not call.done()
    assert ticks == 20
    model.allow()
    assert await call == ["SLOW"]


async def test_a_call_holds_at_most_max_batch_items_and_small_requests_go_whole() -> None:
    model = Model()
    batcher = Batcher(model, max_batch=5)
    model.held = True
    first = await busy(model, batcher, ["x"])
    model.held = False
    pairs = [asyncio.create_task(batcher([f"p{i}", f"q{i}"])) for i in range(6)]
    large = asyncio.create_task(batcher([f"l{i}" for i in range(7)]))
    await settle()
    model.allow()
    await first
    assert await asyncio.gather(*pairs) == [[f"P{i}", f"Q{i}"] for i in range(6)]
    assert await large == [f"L{i}" for i in range(7)]
    assert [len(c) for c in model.calls] == [1, 4, 4, 5, 5, 1]
    assert model.calls[1] == ["p0", "q0", "p1", "q1"]  # the next pair waits rather than split
    # The large request could never go whole: its pieces fill the room left.
    assert model.calls[3:] == [
        ["p4", "q4", "p5", "q5", "l0"],
        [f"l{i}" for i in range(1, 6)],
        ["l6"],
    ]


async def test_a_large_request_goes_in_pieces_and_lets_later_callers_in_between() -> None:
    model = Model(held=True)
    batcher = Batcher(model, max_batch=4)
    bulk = await busy(model, batcher, [f"b{i}" for i in range(10)])  # its first piece runs
    search = asyncio.create_task(batcher(["query"]))
    await settle()
    model.held = False
    model.allow()
    assert await search == ["QUERY"]
    assert await bulk == [f"B{i}" for i in range(10)]
    assert model.calls == [
        ["b0", "b1", "b2", "b3"],
        ["query", "b4", "b5", "b6"],
        ["b7", "b8", "b9"],
    ]


async def test_heavy_items_go_fewer_to_a_call_and_light_callers_pass_them() -> None:
    """Weighed as a text model pads: a call costs its count times its heaviest item."""
    model = Model(held=True)
    batcher = Batcher(model, max_batch=8, weight=len, max_weight=8)
    bulk = await busy(model, batcher, ["long"] * 5)  # 4 each: two to a call
    search = asyncio.create_task(batcher(["q"]))
    short = asyncio.create_task(batcher(["a", "b", "c"]))
    await settle()
    model.held = False
    model.allow()
    assert await search == ["Q"]
    assert await short == ["A", "B", "C"]
    assert await bulk == ["LONG"] * 5
    assert model.calls == [["long"] * 2, ["q", "a", "b", "c"], ["long"] * 2, ["long"]]
    assert await batcher(["x" * 20, "y"]) == ["X" * 20, "Y"]  # one item always goes
    assert model.calls[-2:] == [["x" * 20], ["y"]]


async def test_a_light_caller_is_not_padded_by_a_heavy_piece() -> None:
    model = Model(held=True)
    batcher = Batcher(model, max_batch=8, weight=len, max_weight=16)  # light: up to 2
    bulk = await busy(model, batcher, ["long"] * 6)  # four to a call
    search = asyncio.create_task(batcher(["q"]))
    await settle()
    model.held = False
    model.allow()
    assert await search == ["Q"]
    assert await bulk == ["LONG"] * 6
    # ["q", "long", "long"] would fit in 16, but would make the search's call 12
    assert model.calls == [["long"] * 4, ["q"], ["long"] * 2]


async def test_light_can_be_set_apart_from_the_calls_size() -> None:
    """A call twice as long holds the same padded weight, and what mixes stays as it
    was: items up to ``light`` join a lighter call, heavier ones wait for their own."""
    model = Model(held=True)
    batcher = Batcher(model, max_batch=8, weight=len, max_weight=16, light=4)
    bulk = await busy(model, batcher, ["x"])
    mixed = asyncio.create_task(batcher(["q", "abc", "a"]))  # 3 <= light: one call
    heavy = asyncio.create_task(batcher(["hello"]))  # 5 > light: a call of its own
    await settle()
    model.held = False
    model.allow()
    assert await bulk == ["X"]
    assert await mixed == ["Q", "ABC", "A"]
    assert await heavy == ["HELLO"]
    # (With the default light, 16 // 8 = 2, "abc" would have split the second call.)
    assert model.calls == [["x"], ["q", "abc", "a"], ["hello"]]


async def test_an_error_in_one_piece_fails_the_large_request_once() -> None:
    model = Model(fail_on="b5")
    batcher = Batcher(model, max_batch=4)
    with pytest.raises(ValueError, match="cannot encode b5"):
        await batcher([f"b{i}" for i in range(10)])
    assert model.calls == [["b0", "b1", "b2", "b3"], ["b4", "b5", "b6", "b7"]]
    assert await batcher(["next"]) == ["NEXT"]


async def test_an_error_reaches_every_caller_of_its_call_and_the_next_call_works() -> None:
    model = Model(fail_on="bad")
    batcher = Batcher(model)
    model.held = True
    first = await busy(model, batcher, ["ok"])
    model.held = False
    doomed = [asyncio.create_task(batcher(items)) for items in (["a"], ["bad"], ["c"])]
    await settle()
    model.allow()
    assert await first == ["OK"]
    for task in doomed:
        with pytest.raises(ValueError, match="cannot encode bad"):
            await task
    assert await batcher(["after"]) == ["AFTER"]
    assert model.calls[-1] == ["after"]


async def test_a_wrong_number_of_results_is_an_error_for_the_callers() -> None:
    batcher: Batcher[str, str] = Batcher(lambda items: items[:-1])
    with pytest.raises(RuntimeError, match="1 results for 2 items"):
        await batcher(["a", "b"])
    same: Batcher[str, str] = Batcher(lambda items: items)
    assert await same(["c"]) == ["c"]


async def test_a_caller_cancelled_while_its_call_runs_leaves_the_others_their_results() -> None:
    model = Model(held=True)
    batcher = Batcher(model)
    first = await busy(model, batcher, ["first"])
    batch = [asyncio.create_task(batcher([name])) for name in ("a", "b", "c")]
    await settle()
    model.allow()  # the first call ends; "a", "b", "c" go in as one call
    await first
    await running(model)
    batch[1].cancel()
    await settle()
    model.allow()
    assert await batch[0] == ["A"]
    assert await batch[2] == ["C"]
    with pytest.raises(asyncio.CancelledError):
        await batch[1]
    assert model.calls == [["first"], ["a", "b", "c"]]


async def test_a_caller_cancelled_while_it_waits_is_left_out_of_the_call() -> None:
    model = Model()
    batcher = Batcher(model)
    model.held = True
    first = await busy(model, batcher, ["first"])
    model.held = False
    batch = [asyncio.create_task(batcher([name])) for name in ("a", "b", "c")]
    await settle()
    batch[0].cancel()
    await settle()
    model.allow()
    await first
    assert [await batch[1], await batch[2]] == [["B"], ["C"]]
    assert batch[0].cancelled()
    assert model.calls == [["first"], ["b", "c"]]


def test_it_works_in_one_event_loop_after_another() -> None:
    model = Model()
    batcher = Batcher(model)

    async def burst(tag: str) -> list[list[str]]:
        return await asyncio.gather(*(batcher([f"{tag}{i}"]) for i in range(8)))

    assert asyncio.run(burst("x")) == [[f"X{i}"] for i in range(8)]
    assert asyncio.run(burst("y")) == [[f"Y{i}"] for i in range(8)]
    assert sorted(t for call in model.calls for t in call) == sorted(
        [f"x{i}" for i in range(8)] + [f"y{i}" for i in range(8)]
    )
    assert batcher.stats.requests == 16


def test_loops_in_two_threads_take_turns_at_the_model() -> None:
    model = Model()
    batcher = Batcher(model)
    results: dict[str, list[list[str]]] = {}

    def run(tag: str) -> None:
        async def burst() -> list[list[str]]:
            out = []
            for i in range(10):
                out.append(await batcher([f"{tag}{i}"]))
            return out

        results[tag] = asyncio.run(burst())

    threads = [threading.Thread(target=run, args=(tag,)) for tag in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 2)
    assert results == {tag: [[f"{tag.upper()}{i}"] for i in range(10)] for tag in ("x", "y")}
    assert model.most_active == 1


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Batcher(Model(), max_batch=0)
