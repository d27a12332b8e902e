"""The OpenAPI document: operation ids, described parameters, the errors every /v1
operation can answer, schemas for the exports; and /docs, /redoc served offline."""

from __future__ import annotations

import re
from typing import Any

from httpx import AsyncClient

OPERATIONS = ("get", "post", "put", "patch", "delete")
ERROR_BODY = "#/components/schemas/ErrorBody"


async def _document(client: AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    document: dict[str, Any] = r.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS
    ]


async def test_every_operation_has_a_stable_snake_case_id(client: AsyncClient) -> None:
    operations = _operations(await _document(client))
    ids = [op.get("operationId") for _, _, op in operations]
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    by_route = {(m, p): op["operationId"] for m, p, op in operations}
    assert by_route["post", "/v1/search"] == "search"
    assert by_route["get", "/v1/memories"] == "list_memories"
    assert by_route["post", "/v1/import"] == "import"
    assert by_route["get", "/v1/graph/export"] == "export_graph"


async def test_every_parameter_is_described(client: AsyncClient) -> None:
    for method, path, op in _operations(await _document(client)):
        for parameter in op.get("parameters", []):
            assert parameter.get("description"), (method, path, parameter["name"])


async def test_every_v1_operation_documents_its_errors(client: AsyncClient) -> None:
    operations = [o for o in _operations(await _document(client)) if o[1].startswith("/v1/")]
    assert len(operations) > 15
    for method, path, op in operations:
        for code in ("401", "422", "429", "503"):
            response = op["responses"].get(code)
            assert response is not None, (method, path, code)
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_BODY}, (method, path, code)


async def test_the_exports_have_schemas(client: AsyncClient) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]
    graph = document["paths"]["/v1/graph/export"]["get"]["responses"]["200"]
    assert graph["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GraphOut"
    }
    assert {"entities", "hyperedges", "components"} <= set(schemas["GraphOut"]["properties"])
    export = document["paths"]["/v1/export"]["get"]["responses"]["200"]
    assert set(export["content"]) == {"application/x-ndjson"}
    assert export["content"]["application/x-ndjson"]["schema"] == {
        "$ref": "#/components/schemas/ExportLine"
    }
    line = schemas["ExportLine"]
    assert set(line["discriminator"]["mapping"]) == {
        "header",
        "episode",
        "memory",
        "history",
        "entity",
        "membership",
    }


async def test_docs_work_offline(client: AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200
        urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", r.text)
        assert urls, page
        assert "http://" not in r.text, page
        assert "https://" not in r.text, page
        for url in urls:
            assert url.startswith("/"), (page, url)  # nothing from a CDN
            if url != "/openapi.json" and not url.startswith("/docs/oauth2"):
                asset = await client.get(url)
                assert asset.status_code == 200, url
                assert len(asset.content) > 1000, url
