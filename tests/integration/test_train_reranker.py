"""The reranker's training script end to end on a tiny sample of the development split:
it writes a model that the service's adapter loads (offline) and that scores pairs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals.train_reranker import Mining, groups_for, main
from memory_service.adapters.cross_encoder import REQUIRED, CrossEncoderScorer
from memory_service.bootstrap import build_reranker
from memory_service.config import Settings

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo" / "locomo-dev.json"
pytestmark = pytest.mark.skipif(not DATA.is_file(), reason="no LoCoMo development split here")


def test_groups_put_the_positive_first_and_never_an_evidence_turn_among_negatives() -> None:
    groups, counts = groups_for(DATA, ["conv-26"], 0, Mining(per_conversation=50))
    assert counts == {"conv-26": 50}
    assert len(groups) == 50
    assert all(len(g.texts) == 4 and g.texts[0] not in g.texts[1:] for g in groups)
    again, _ = groups_for(DATA, ["conv-26"], 0, Mining(per_conversation=50))
    assert again == groups  # deterministic


def test_tiny_training_writes_a_model_the_service_loads(tmp_path: Path) -> None:
    out = tmp_path / "reranker"
    main(["--tiny", "--data", str(DATA), "--out", str(out)])
    assert all((out / name).is_file() for name in REQUIRED)
    facts = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert facts["groups"] == 6
    assert facts["trained_on"] == {"conv-26": 300}
    scorer = build_reranker(Settings(reranker_path=out))
    assert isinstance(scorer, CrossEncoderScorer)
    scores = scorer.score_sync([("Where did Caroline go?", "Caroline: to a support group")] * 2)
    assert len(scores) == 2
    assert all(math.isfinite(s) for s in scores)
    assert scores[0] == pytest.approx(scores[1])
