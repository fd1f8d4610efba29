"""A sample-cluster server with what the two-sided tests need: supplier keys, two otherwise equal
firms outside 广东省 making one product, a local maker, and a leader list naming that product."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chainmatch.db import init_db, make_engine, session_scope
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import ParsedRecord
from chainmatch.keys import create_key
from models.apikey import Role
from tests.servers import InProcessServer, LiveServer, Server
from tests.worlds import Keys, make_settings, sample_data

PRODUCT = "星际齿轮泵"
TWIN_A, TWIN_B = "TWIN-A", "TWIN-B"  # 江苏省, the same products and profile
LOCAL = "TWIN-GD"  # 广东省 maker
OTHER = "TWIN-ZJ"  # 浙江省 maker, large


def _firm(fid: str, name: str, province: str, city: str, scale: str = "small") -> dict[str, object]:
    return {
        "id": fid,
        "name": name,
        "province": province,
        "city": city,
        "scale": scale,
        "products": [{"name": PRODUCT, "share": 0.8}, {"name": "齿轮泵配件", "share": 0.2}],
    }


EXTRA_FIRMS = [
    _firm(TWIN_A, "双子泵业", "江苏省", "苏州市"),
    _firm(TWIN_B, "双子泵业", "江苏省", "苏州市"),
    _firm(LOCAL, "粤星泵业", "广东省", "佛山市"),
    _firm(OTHER, "浙星泵业", "浙江省", "宁波市", "large"),
]


@dataclass
class World:
    server: Server
    keys: Keys
    supplier_a: str  # key of TWIN-A
    supplier_b: str  # key of TWIN-B
    supplier_local: str  # key of TWIN-GD
    list_id: str  # leader A's list with PRODUCT

    def client(self, role: str) -> httpx.Client:
        suppliers = {
            "supplier_a": self.supplier_a,
            "supplier_b": self.supplier_b,
            "supplier_local": self.supplier_local,
        }
        if role == "none":
            return self.server.client(None)
        return self.server.client(suppliers[role] if role in suppliers else getattr(self.keys, role))

    @property
    def url(self) -> str:
        """The server's URL, for a browser: only a world made with ``live=True`` has one."""
        assert isinstance(self.server, LiveServer), "make_world(..., live=True) serves over HTTP"
        return self.server.url


def make_world(tmp: Path, *, live: bool = False) -> Iterator[World]:
    """The two-sided world, served in process (``live``: under uvicorn, for a browser)."""
    settings = make_settings(tmp / "var")
    keys = sample_data(settings)  # the sample's fitted index too: the server catches up the 4 firms
    db = make_engine(settings)
    init_db(db)
    assert ingest_firms(db, [ParsedRecord(n, f) for n, f in enumerate(EXTRA_FIRMS, start=1)]).written
    with session_scope(db) as session:
        supplier_a = create_key(session, Role.SUPPLIER, firm_id=TWIN_A)[1]
        supplier_b = create_key(session, Role.SUPPLIER, firm_id=TWIN_B)[1]
        supplier_local = create_key(session, Role.SUPPLIER, firm_id=LOCAL)[1]
    db.dispose()
    with LiveServer(settings) if live else InProcessServer(settings) as server:
        with server.client(keys.leader_a) as c:
            response = c.post(
                "/v1/gap-lists",
                json={"title": "双面匹配", "items": [{"name": PRODUCT}, {"name": "涡轮分子泵"}]},
            )
            assert response.status_code == 201, response.text
        yield World(server, keys, supplier_a, supplier_b, supplier_local, response.json()["id"])


def offer_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "齿轮泵配套意愿",
        "products": [PRODUCT],
        "capacity": "年产 5000 台",
        "annual_capacity_cny": 2e7,
        "lead_time_days": 30,
        "certifications": ["ISO 9001"],
        "invest_locally": True,
        "invest_provinces": ["广东"],
        "contact_name": "张伟",
        "contact_phone": "13700000000",
        "valid_until": "2099-12-31",
    }
    body.update(overrides)
    return body


@contextmanager
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's settings (environment, read once per process) pointed at ``world``'s data."""
    from chainmatch.settings import get_settings

    settings = world.server.settings
    monkeypatch.setenv("CHAINMATCH_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("CHAINMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()
