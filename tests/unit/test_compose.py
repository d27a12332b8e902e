"""docker-compose.yml's shape (no Docker engine here: ``docker compose config`` and a
``docker compose up`` are checked by hand, see the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_one_image_runs_every_role_with_a_healthcheck() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "api", "worker", "mcp"}
    roles = {name: services[name] for name in ("api", "worker", "mcp")}
    assert {s["image"] for s in roles.values()} == {"memory-service:local"}
    assert all(s["build"] == "." for s in roles.values())
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), name
    assert roles["mcp"]["command"][:4] == ["memory-service", "mcp", "--transport", "http"]
    assert "readyz" in " ".join(roles["api"]["healthcheck"]["test"])
    for service in roles.values():
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["environment"]["MEMORY_BROKER_URL"].startswith("redis://")


def test_the_dockerfile_runs_as_a_user_and_checks_readiness() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "\nUSER memory\n" in dockerfile
    assert "HEALTHCHECK" in dockerfile
    assert "/readyz" in dockerfile
