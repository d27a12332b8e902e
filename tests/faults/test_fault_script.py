"""The fault script, at tiny bounds: one round of an API killed, a PostgreSQL killed and
a SIGTERM, with every acknowledged write stored once and no PostgreSQL left behind."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from evals.bench import faults
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_one_round_of_faults_loses_nothing() -> None:
    data_dir = ROOT / ".memory-data-test" / f"fault-script-{uuid.uuid4().hex[:8]}"
    out = data_dir.with_suffix(".json")
    try:
        argv = ["--rounds", "1", "--seconds", "4", "--writers", "2"]
        assert faults.main([*argv, "--data-dir", str(data_dir), "--out", str(out)]) == 0
        (only,) = json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert only["acknowledged"] > 0
    assert only["stored"] == only["acknowledged"]
    assert (only["missing"], only["duplicates"], only["leftover_postgres"]) == (0, 0, 0)
    assert only["other_errors"] == {}
    assert only["api_restart_s"] is not None
    assert only["pg_restart_s"] is not None
