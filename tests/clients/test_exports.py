"""The public surface: ``__all__``, private modules, and nothing from the server."""

from __future__ import annotations

import ast
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import memory_client
from memory_client import errors, models

PUBLIC_MODULES = {"errors", "integrations", "models"}  # integrations: one module per extra
ALLOWED_IMPORTS = {"memory_client", "httpx", "pydantic"}


def test_all_is_sorted_unique_and_resolves() -> None:
    names = memory_client.__all__
    assert names == sorted(set(names))
    for name in names:
        assert getattr(memory_client, name) is not None


def test_every_error_and_model_is_exported() -> None:
    exported = set(memory_client.__all__)
    for module in (errors, models):
        for name, value in vars(module).items():
            if not inspect.isclass(value) or value.__module__ != module.__name__:
                continue
            if issubclass(value, errors.MemoryServiceError) or (
                issubclass(value, models.ResponseModel) and value is not models.ResponseModel
            ):
                assert name in exported, f"{module.__name__}.{name} is not in __all__"
    expected = {
        "MemoryClient",
        "AsyncMemoryClient",
        "RetryPolicy",
        "Message",
        "MemoryServiceError",
        "APIStatusError",
        "APIConnectionError",
        "AuthenticationError",
        "NotFoundError",
        "ConflictError",
        "ValidationError",
        "RateLimitError",
    }
    assert expected <= exported


def test_implementation_modules_are_private() -> None:
    path = memory_client.__path__
    modules = {m.name for m in pkgutil.iter_modules(path)}
    assert {m for m in modules if not m.startswith("_")} == PUBLIC_MODULES
    assert (Path(path[0]) / "py.typed").is_file()


def test_depends_on_httpx_and_pydantic_only() -> None:
    for source in Path(memory_client.__path__[0]).glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            outside = roots - ALLOWED_IMPORTS - set(sys.stdlib_module_names) - {"__future__"}
            assert not outside, f"{source.name} imports {outside}"


def test_importing_loads_nothing_of_the_server() -> None:
    probe = (
        "import sys, memory_client; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'memory_service', 'fastapi', 'sqlalchemy'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
