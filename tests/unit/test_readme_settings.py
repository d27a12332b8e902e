"""Every setting of memory_service/config.py is documented in the README's
"## Configuration" section, by its full environment variable name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memory_service.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def configuration_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## Configuration' section"
    return match.group(1)


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_each_setting_has_a_row(field: str) -> None:
    prefix = Settings.model_config.get("env_prefix", "")
    variable = f"{prefix}{field}".upper()
    documented = set(re.findall(r"`(MEMORY_[A-Z0-9_]+)`", configuration_section()))
    assert variable in documented, f"{variable} is not in README.md's Configuration table"
