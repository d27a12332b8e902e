"""Where the runner finds the benchmark files, and what it says when one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals import runner
from evals.datasets import sources


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(sources.DATA_DIR_ENV, raising=False)
    return tmp_path


def test_the_default_is_data_under_the_working_directory(empty_cwd: Path) -> None:
    assert sources.default_path(sources.LOCOMO) == Path("data/locomo10.json")
    assert sources.default_path(sources.LONGMEMEVAL) == Path("data/longmemeval_s_cleaned.json")
    (empty_cwd / "data").mkdir()
    (empty_cwd / "data" / "locomo10.json").write_text("[]")
    assert sources.resolve(sources.LOCOMO, None) == Path("data/locomo10.json")


def test_the_environment_names_another_data_directory(tmp_path: Path) -> None:
    (tmp_path / "locomo10.json").write_text("[]")
    env = {sources.DATA_DIR_ENV: str(tmp_path)}
    assert sources.resolve(sources.LOCOMO, None, env) == tmp_path / "locomo10.json"
    assert sources.data_dir({sources.DATA_DIR_ENV: ""}) == Path("data")


def test_an_explicit_file_wins(tmp_path: Path) -> None:
    given = tmp_path / "dev.json"
    given.write_text("[]")
    assert sources.resolve(sources.LOCOMO, given, {sources.DATA_DIR_ENV: "/nowhere"}) == given


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["locomo"], ["LoCoMo", "data/locomo10.json", "snap-research/LoCoMo", "--data PATH"]),
        (["longmemeval"], ["LongMemEval", "xiaowu0162/LongMemEval", "longmemeval-cleaned"]),
        (["memrl"], ["LoCoMo", "snap-research/LoCoMo"]),
        (["locomo", "--data", "missing.json"], ["--data missing.json names no file"]),
    ],
)
def test_a_missing_file_stops_the_run_saying_where_to_get_it(
    empty_cwd: Path, argv: list[str], says: list[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        runner.main(argv)  # stops before any model or database starts
    message = str(stopped.value.code)
    assert stopped.value.code not in (0, None)
    for text in says:
        assert text in message
    assert "../shared" not in message


def test_no_default_points_outside_the_checkout() -> None:
    p = runner.parser()
    for argv in (["locomo"], ["longmemeval"], ["memrl"]):
        assert p.parse_args(argv).data is None  # resolved at run time, from ./data or the env
