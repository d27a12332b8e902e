"""The command line documents itself: a description naming every command, help on
every option, and ``--version``."""

from __future__ import annotations

import argparse

import pytest

from memory_service import __version__
from memory_service.cli import parser


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    pending = [("memory-service", parser())]
    seen: list[tuple[str, argparse.ArgumentParser]] = []
    while pending:
        name, p = pending.pop()
        seen.append((name, p))
        pending += [(f"{name} {sub}", child) for sub, child in _subparsers(p).items()]
    return seen


def test_the_description_names_every_command() -> None:
    top = parser()
    commands = _subparsers(top)
    assert set(commands) == {
        "serve",
        "worker",
        "mcp",
        "migrate",
        "keys",
        "encode-sparse",
        "reembed",
    }
    lines = (top.description or "").splitlines()
    for command in commands:
        assert any(line.strip().startswith(command + " ") for line in lines), command


@pytest.mark.parametrize(("name", "p"), _all_parsers(), ids=[n for n, _ in _all_parsers()])
def test_every_option_and_argument_has_help(name: str, p: argparse.ArgumentParser) -> None:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{name} {choice.dest}: no help"
            continue
        assert action.help, f"{name} {action.dest}: no help"
        assert action.help != argparse.SUPPRESS, f"{name} {action.dest}: hidden"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"memory-service {__version__}"
