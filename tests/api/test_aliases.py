"""Product aliases: the shipped tables, the admin API over real HTTP (with the match it changes and
every worker seeing the change), the access matrix, the CLI, and the migration that adds them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from chainmatch.db import init_db, make_engine, migrate
from chainmatch.indexing import IndexService
from recommender.aliases import DEFAULT_ALIAS_DIR, Alias, AliasTable, read_tsv
from tests.chainmatch.test_cli import run
from tests.conftest import SAMPLE_DIR, World, make_settings

CURATED = DEFAULT_ALIAS_DIR / "curated.tsv"
CEDICT = DEFAULT_ALIAS_DIR / "cedict.tsv"


# ------------------------------------------------------------------------------------ the tables
@pytest.fixture(scope="module")
def shipped() -> AliasTable:
    return AliasTable.from_files()


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("PMT", "光电倍增管"),
        ("NaOH", "氢氧化钠"),
        ("烧碱", "氢氧化钠"),
        ("纯碱", "碳酸钠"),
        ("H2SO4", "硫酸"),
        ("MEG", "乙二醇"),
        ("PU", "聚氨酯"),
        ("PVC", "聚氯乙烯"),
        ("TiO2", "钛白粉"),
        ("IGBT", "绝缘栅双极型晶体管"),
        ("MLCC", "片式多层陶瓷电容器"),
        ("BJT", "晶体管"),
        ("PCB", "印制电路板"),
        ("sCMOS", "科学级CMOS相机"),
        ("SiPM", "硅光电倍增管"),
        ("APD", "雪崩光电二极管"),
        ("TMP", "涡轮分子泵"),
        ("LNG", "液化天然气"),
        ("coal", "煤炭"),
        ("crude oil", "原油"),
        ("copper", "铜"),
    ],
)
def test_curated_rows_load(shipped: AliasTable, alias: str, canonical: str) -> None:
    assert canonical in shipped.canonicals(alias)
    assert any(a.source == "curated" and a.canonical == canonical for a in shipped.lookup(alias))


def test_lookup_folds_case_width_spaces_and_plurals(shipped: AliasTable) -> None:
    for written in ("pmt", "Pmt", "ＰＭＴ", " PMT "):
        assert shipped.canonicals(written)[0] == "光电倍增管", written
    assert shipped.canonicals("photomultiplier tube")[0] == "光电倍增管"
    assert shipped.canonicals("Photomultiplier Tubes")[0] == "光电倍增管"  # plural, capitals
    assert shipped.canonicals("turbo pumps")[0] == "涡轮分子泵"
    assert shipped.canonicals("ｎａｏｈ")[0] == "氢氧化钠"  # full-width
    assert shipped.canonicals("燒鹼") == shipped.canonicals("烧碱")  # traditional characters
    assert shipped.canonicals("no such thing") == []


def test_curated_file_is_well_formed() -> None:
    lines = CURATED.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "alias\tcanonical\tnote"
    rows = [line.split("\t") for line in lines[1:] if line and not line.startswith("#")]
    assert len(rows) >= 300
    assert all(len(r) == 3 and r[0].strip() and r[1].strip() for r in rows)
    # the product side is a Chinese product name as registries write it (PCBA they write so)
    assert {r[1] for r in rows if not any("\u4e00" <= c <= "\u9fff" for c in r[1])} <= {"PCBA"}
    pairs = read_tsv(CURATED, "curated")
    table = AliasTable(pairs)
    assert len(table) == len(pairs)  # no empty, self-referential or repeated pair


def test_cedict_file_is_small_credited_and_only_pairs(shipped: AliasTable) -> None:
    assert CEDICT.stat().st_size < 1_000_000
    lines = CEDICT.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "alias\tcanonical"
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert "CC-CEDICT" in header and "CC BY-SA 4.0" in header
    rows = [line.split("\t") for line in lines[1:] if not line.startswith("#")]
    assert rows and all(len(r) == 2 for r in rows)
    assert "氢氧化钠" in shipped.canonicals("sodium hydroxide")
    assert any(a.source == "cedict" for a in shipped.lookup("sodium hydroxide"))
    readme = (DEFAULT_ALIAS_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in readme and "CC-CEDICT" in readme


def test_cedict_generator_keeps_short_noun_glosses_of_known_products() -> None:
    import importlib.util
    from collections import Counter

    spec = importlib.util.spec_from_file_location("build_cedict", DEFAULT_ALIAS_DIR / "build_cedict.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert list(module.gloss_aliases("sodium hydroxide NaOH")) == ["NaOH", "sodium hydroxide"]
    assert list(module.gloss_aliases("glycol (antifreeze)")) == ["glycol"]
    assert list(module.gloss_aliases("to run")) == []
    assert list(module.gloss_aliases("CL:個|个[ge4]")) == []
    assert list(module.gloss_aliases("a very long explanation of a thing made here")) == []
    assert list(module.gloss_aliases("material")) == []  # too generic
    dictionary = [
        "# CC-CEDICT",
        "氫氧化鈉 氢氧化钠 [qing1 yang3 hua4 na4] /caustic soda/sodium hydroxide NaOH/",
        "跑 跑 [pao3] /to run/",
        "光電倍增管 光电倍增管 [guang1 dian4 bei4 zeng1 guan3] /photomultiplier tube/",
        "貓 猫 [mao1] /cat/",
    ]
    vocab = Counter({"氢氧化钠": 2, "光电倍增管": 2})
    pairs = module.build(dictionary, vocab)
    assert ("caustic soda", "氢氧化钠") in pairs and ("NaOH", "氢氧化钠") in pairs
    assert ("photomultiplier tube", "光电倍增管") in pairs
    assert all(head in vocab for _, head in pairs)  # 猫 is no product of the registry


# ------------------------------------------------------------------------------------ the API
# The `world` fixture: a server of this module's own over the sample cluster, in process (these
# tests add and delete aliases).
pytestmark = pytest.mark.world()


def _turbo_pump_makers(min_share: float = 0.1) -> set[str]:
    makers = set()
    for line in (SAMPLE_DIR / "firms.jsonl").read_text(encoding="utf-8").splitlines():
        firm = json.loads(line)
        if any(
            p["name"].strip() == "涡轮分子泵" and (p.get("share") or 0) >= min_share for p in firm["products"]
        ):
            makers.add(firm["id"])
    return makers


def test_list_shows_shipped_aliases_with_their_source_and_pages(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        found = c.get("/v1/product-aliases", params={"q": "PMT"})
        assert found.status_code == 200, found.text
        items = found.json()["items"]
        assert {"alias": "PMT", "canonical": "光电倍增管", "source": "curated"}.items() <= next(
            i for i in items if i["alias"] == "PMT" and i["source"] == "curated"
        ).items()
        assert all(i["id"] is None for i in items if i["source"] != "user")
        by_product = c.get("/v1/product-aliases", params={"q": "氢氧化钠", "limit": 200}).json()["items"]
        assert {"NaOH", "烧碱"} <= {i["alias"] for i in by_product}
        cedict = c.get("/v1/product-aliases", params={"source": "cedict", "limit": 3}).json()
        assert len(cedict["items"]) == 3 and all(i["source"] == "cedict" for i in cedict["items"])
        assert cedict["next_cursor"]
        second = c.get(
            "/v1/product-aliases", params={"source": "cedict", "limit": 3, "cursor": cedict["next_cursor"]}
        ).json()
        first_pairs = {(i["alias"], i["canonical"]) for i in cedict["items"]}
        assert second["items"] and not first_pairs & {(i["alias"], i["canonical"]) for i in second["items"]}
        assert c.get("/v1/product-aliases", params={"source": "nope"}).status_code == 422
        assert c.get("/v1/product-aliases", params={"cursor": "!!"}).status_code == 422
        assert c.get("/v1/product-aliases", params={"limit": 10_000}).status_code == 422
    with server.client() as anonymous:
        assert anonymous.get("/v1/product-aliases").status_code == 401


def test_admin_alias_changes_the_match_at_every_worker_without_a_rebuild(world: World) -> None:
    server, keys = world
    # Another worker process of the same deployment: its own engine, loaded from the same disk.
    other = IndexService(server.settings, make_engine(server.settings), serving=True)
    other.start()
    with other.searching() as engine:
        assert engine.aliases.canonicals("XYZ-9") == []
        firms_before = engine.n_firms

    body = {"text": "XYZ-9", "scope": "all", "k": 20}
    with server.client(keys.bureau_gd) as bureau, server.client(keys.admin) as admin:
        before = bureau.post("/v1/match", json=body)
        assert before.status_code == 200, before.text
        created = admin.post("/v1/product-aliases", json={"alias": "XYZ-9", "canonical": "涡轮分子泵"})
        assert created.status_code == 201, created.text
        alias = created.json()
        assert alias["source"] == "user" and isinstance(alias["id"], int) and alias["created_at"]
        assert alias["alias"] == "XYZ-9" and alias["canonical"] == "涡轮分子泵"
        listed = bureau.get("/v1/product-aliases", params={"source": "user"}).json()["items"]
        assert [(i["id"], i["alias"]) for i in listed] == [(alias["id"], "XYZ-9")]
        again = admin.post("/v1/product-aliases", json={"alias": "xyz-9", "canonical": "涡轮分子泵"})
        assert again.status_code == 409 and "已存在" in again.text

        after = bureau.post("/v1/match", json=body)
        assert after.status_code == 200, after.text
        results = after.json()["results"]
        makers = _turbo_pump_makers()
        ids = [r["firm_id"] for r in results]
        assert results and results[0]["firm_id"] in _turbo_pump_makers(0.0), ids
        assert makers <= set(ids), (makers - set(ids), ids)
        assert not makers <= {r["firm_id"] for r in before.json()["results"]}

        # The other worker sees it at its next search, with no rebuild.
        with other.searching() as engine:
            assert engine.aliases.canonicals("XYZ-9") == ["涡轮分子泵"]
            assert engine.n_firms == firms_before
        assert other.origin == "loaded"

        assert admin.delete(f"/v1/product-aliases/{alias['id']}").status_code == 204
        assert admin.delete(f"/v1/product-aliases/{alias['id']}").status_code == 404
        assert admin.delete("/v1/product-aliases/999999").status_code == 404
        assert bureau.get("/v1/product-aliases", params={"source": "user"}).json()["items"] == []
    with other.searching() as engine:
        assert engine.aliases.canonicals("XYZ-9") == []
        assert "光电倍增管" in engine.aliases.canonicals("PMT")  # the shipped ones stay
    other.db.dispose()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alias": "", "canonical": "涡轮分子泵"}, "别名 alias"),
        ({"alias": "   ", "canonical": "涡轮分子泵"}, "别名 alias"),
        ({"alias": "TMP-X", "canonical": ""}, "产品名称 canonical"),
        ({"alias": "A" * 101, "canonical": "涡轮分子泵"}, "别名 alias"),
        ({"alias": "TMP-X", "canonical": "泵" * 201}, "产品名称 canonical"),
        ({"alias": "涡轮分子泵", "canonical": "涡轮分子泵"}, "不能与产品名称"),
        ({"alias": "Ｘ", "canonical": "x"}, "不能与产品名称"),  # the same once normalised
        ({"alias": 7, "canonical": "涡轮分子泵"}, "别名 alias"),
        ({"alias": "TMP-X"}, "canonical"),
        ({"alias": "TMP-X", "canonical": "涡轮分子泵", "source": "curated"}, "source"),
    ],
)
def test_create_validation_names_the_field_in_chinese(
    world: World, body: dict[str, object], field: str
) -> None:
    server, keys = world
    with server.client(keys.admin) as c:
        response = c.post("/v1/product-aliases", json=body)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_only_admin_writes_aliases(world: World) -> None:
    server, keys = world
    body = {"alias": "ACL-1", "canonical": "涡轮分子泵"}
    with server.client(keys.admin) as admin:
        created = admin.post("/v1/product-aliases", json=body)
        assert created.status_code == 201
        alias_id = created.json()["id"]
    try:
        for key in (keys.bureau_gd, keys.bureau_js, keys.leader_a):
            with server.client(key) as c:
                assert c.get("/v1/product-aliases").status_code == 200
                assert (
                    c.post("/v1/product-aliases", json={"alias": "ACL-2", "canonical": "分子泵"}).status_code
                    == 403
                )
                assert c.delete(f"/v1/product-aliases/{alias_id}").status_code == 403
                assert c.delete("/v1/product-aliases/999999").status_code == 403  # role first, never 404
        with server.client() as anonymous:
            assert anonymous.post("/v1/product-aliases", json=body).status_code == 401
            assert anonymous.delete(f"/v1/product-aliases/{alias_id}").status_code == 401
    finally:
        with server.client(keys.admin) as admin:
            assert admin.delete(f"/v1/product-aliases/{alias_id}").status_code == 204


def test_routes_are_documented(world: World) -> None:
    server, _ = world
    with server.client() as c:
        paths = c.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/v1/product-aliases"])
    assert "delete" in paths["/v1/product-aliases/{alias_id}"]


# ------------------------------------------------------------------------------------ the CLI
def test_cli_add_list_remove_and_import(tmp_path: Path) -> None:
    var = tmp_path / "var"
    added = run(var, "aliases", "add", "XYZ-9", "涡轮分子泵")
    assert "XYZ-9 → 涡轮分子泵" in added.stdout
    duplicate = run(var, "aliases", "add", "xyz-9", "涡轮分子泵", check=False)
    assert duplicate.returncode == 1 and "已存在" in duplicate.stderr
    blank = run(var, "aliases", "add", " ", "涡轮分子泵", check=False)
    assert blank.returncode == 2 and "别名 alias" in blank.stderr
    same = run(var, "aliases", "add", "分子泵", "分子泵", check=False)
    assert same.returncode == 2 and "不能与产品名称" in same.stderr

    users = run(var, "aliases", "list", "--source", "user").stdout
    assert "XYZ-9" in users and "涡轮分子泵" in users and "curated" not in users
    curated = run(var, "aliases", "list", "--q", "PMT").stdout
    assert "光电倍增管" in curated and "curated" in curated
    assert run(var, "aliases", "list", "--source", "nope", check=False).returncode == 2

    shipped = run(var, "aliases", "remove", "PMT", check=False)
    assert shipped.returncode == 1 and "curated" in shipped.stderr
    assert run(var, "aliases", "remove", "XYZ-9", "光电倍增管", check=False).returncode == 1
    removed = run(var, "aliases", "remove", "XYZ-9")
    assert "已删除" in removed.stdout
    assert "XYZ-9" not in run(var, "aliases", "list", "--source", "user").stdout

    bad = tmp_path / "bad.tsv"
    bad.write_text("alias\tcanonical\nAB-1\t涡轮分子泵\n分子泵\t分子泵\nAB-3\t\n", encoding="utf-8")
    failed = run(var, "aliases", "import", str(bad), check=False)
    assert failed.returncode == 1
    assert "第3行" in failed.stderr and "第4行" in failed.stderr and "canonical" in failed.stderr
    assert "AB-1" not in run(var, "aliases", "list", "--source", "user").stdout  # all or nothing

    good = tmp_path / "good.csv"
    with open(good, "w", encoding="gb18030", newline="") as fh:  # GBK-family CSV, as Excel writes it
        writer = csv.writer(fh)
        writer.writerows(
            [["别名", "产品名称"], ["AB-1", "涡轮分子泵"], ["AB-2", "光电倍增管"], ["AB-1", "涡轮分子泵"]]
        )
    imported = run(var, "aliases", "import", str(good))
    assert "新增 2" in imported.stdout and "已存在 1" in imported.stdout
    listing = run(var, "aliases", "list", "--source", "user").stdout
    assert "AB-1" in listing and "AB-2" in listing


# ------------------------------------------------------------------------------------ migration
@pytest.mark.parametrize("start", ["0002", "0003"])
def test_earlier_schema_upgrades_to_product_aliases(tmp_path: Path, start: str) -> None:
    engine = make_engine(make_settings(tmp_path / "var"))
    migrate(engine, start)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO corpus_state (id, instance, revision, relations_revision) "
                "VALUES (1, 'abc', 7, 3)"
            )
        )
    init_db(engine)  # to head
    with engine.begin() as conn:
        state = conn.execute(
            text("SELECT revision, relations_revision, aliases_revision FROM corpus_state WHERE id = 1")
        ).one()
        assert tuple(state) == (7, 3, 0)
        conn.execute(
            text("INSERT INTO product_alias (alias, canonical, key) VALUES ('PMT', '光电倍增管', 'pmt')")
        )
        assert conn.execute(text("SELECT count(*) FROM product_alias")).scalar() == 1

    from sqlmodel import Session

    from chainmatch.aliases import load_user_aliases

    with Session(engine) as session:
        assert load_user_aliases(session) == [Alias("PMT", "光电倍增管", "user")]
    engine.dispose()
