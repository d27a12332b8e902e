"""The adapters' packaging: each framework is imported only with its adapter, a missing
one names the extra to install, and the SDK's README shows the examples the tests run."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from tests.clients.integrations.conftest import EXAMPLES
from tests.conftest import ROOT

ADAPTERS = [
    ("langgraph", "langgraph.store.base", "langgraph"),
    ("langchain", "langchain_core.callbacks", "langchain"),
    ("openai_agents", "agents", "openai-agents"),
]


@pytest.mark.parametrize(("adapter", "framework", "extra"), ADAPTERS)
def test_a_missing_framework_names_its_extra(
    adapter: str, framework: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, framework, None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, f"memory_client.integrations.{adapter}", raising=False)
    with pytest.raises(ImportError, match=re.escape(f"pip install 'memory-client[{extra}]'")):
        importlib.import_module(f"memory_client.integrations.{adapter}")


def test_the_sdk_imports_no_framework() -> None:
    check = (
        "import sys, memory_client, memory_client.integrations; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "assert not loaded & {'langgraph', 'langchain_core', 'agents'}, loaded"
    )
    subprocess.run([sys.executable, "-c", check], check=True, cwd=ROOT)


def test_the_readme_shows_the_examples() -> None:
    readme = (ROOT / "clients" / "python" / "README.md").read_text()
    for example in sorted(EXAMPLES.glob("*.py")):
        shown = f"<!-- {example.relative_to(ROOT / 'clients' / 'python')} -->\n```python\n"
        assert shown + example.read_text() + "```\n" in readme, example.name
