"""The JSON boundary hands the body it parsed and checked to the bulk routes (parsed once)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api.jsonguard import JsonGuard, checked_body
from chainmatch.ingest.readers import Format, UnreadableInput, checked_json_records, parse_records


def guarded_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        await request.body()
        checked = checked_body(request)
        return {"checked": checked is not None, "value": checked[0] if checked else None}

    app.add_middleware(JsonGuard)
    return app


def test_the_guard_passes_on_the_body_it_checked() -> None:
    client = TestClient(guarded_app())
    body = [{"id": "F1", "name": "某厂"}]
    assert client.post("/echo", json=body).json() == {"checked": True, "value": body}
    not_json = client.post("/echo", content=b"[{", headers={"content-type": "application/json"})
    assert not_json.json() == {"checked": False, "value": None}  # the route parses (and refuses) it
    refused = client.post("/echo", content=b'[{"share": NaN}]', headers={"content-type": "application/json"})
    assert refused.status_code == 422
    ndjson = client.post("/echo", content=b'{"id": "F1"}\n', headers={"content-type": "application/x-ndjson"})
    assert ndjson.json()["checked"] is False


@pytest.mark.parametrize(
    "body",
    [
        [{"id": "F1", "name": "某厂"}, 3, {"id": "F2", "products": [{"name": "泵", "share": 0.5}]}],
        {"id": "F3"},
        [],
    ],
)
def test_checked_records_are_the_records_parsed_from_bytes(body: Any) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert checked_json_records(json.loads(raw)) == parse_records(raw, fmt=Format.JSON)[0]


def test_a_checked_body_that_is_no_array_is_refused_alike() -> None:
    for value in ("text", 3, None):
        with pytest.raises(UnreadableInput):
            checked_json_records(value)
        with pytest.raises(UnreadableInput):
            parse_records(json.dumps(value).encode(), fmt=Format.JSON)
