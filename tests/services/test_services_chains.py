"""The chain, outreach and match services called directly, as the API, the dashboard and the CLI
call them: a real SQLite database with the sample cluster and its chain, real keys, no server.

Covers what only the service layer decides: region authorisation (one function, one rule per kind
of request), permissions, audit rows, and the errors raised."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from chainmatch.chains.schemas import gap_lists_read
from chainmatch.chains.store import read_definition_file
from chainmatch.db import init_db, make_engine, session_scope
from chainmatch.errors import (
    ChainExists,
    ChainNotFound,
    Forbidden,
    InvalidInput,
    OutreachConflict,
    OutreachNotFound,
    RegionForbidden,
    RegionInvalid,
    RegionMissing,
)
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal, authenticate, create_key
from chainmatch.services import chains, match, outreach
from chainmatch.services.context import Caller, operator_caller
from chainmatch.services.regions import ASSESS, MATCH, REMATCH, authorise_region
from chainmatch.settings import Settings
from models.apikey import Role
from models.audit import AuditEvent
from models.chain import ChainCreate, ChainUpdate
from models.firm import Firm
from models.matching import MatchRequest
from models.outreach import OutreachCreate, Stage, StageChange
from recommender.corpus import Region, Scope
from tests.conftest import SAMPLE_DIR, load_sample, make_settings, sample_leaders

CHAIN_ID = "precision-instruments-gd"
GD, JS = "广东省", "江苏省"


@dataclass(frozen=True)
class World:
    settings: Settings
    db: Engine
    index: IndexService
    admin: Principal
    bureau_gd: Principal
    bureau_sz: Principal  # 深圳 city bureau
    bureau_js: Principal
    leader: Principal

    def caller(self, principal: Principal, route: str | None = "GET /test") -> Caller:
        return Caller(principal, self.db, self.index, self.settings, route=route)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("services") / "var")
    load_sample(settings)
    db = make_engine(settings)
    init_db(db)
    scopes = [
        (Role.ADMIN, {}),
        (Role.BUREAU, {"province": GD}),
        (Role.BUREAU, {"province": GD, "city": "深圳"}),
        (Role.BUREAU, {"province": JS}),
        (Role.LEADER, {"firm_id": sample_leaders()[0]}),
    ]
    with session_scope(db) as session:
        secrets = [create_key(session, role, **scope)[1] for role, scope in scopes]
    with Session(db) as session:
        principals = [authenticate(session, secret) for secret in secrets]
    assert all(p is not None for p in principals)
    admin, bureau_gd, bureau_sz, bureau_js, leader = principals
    assert admin and bureau_gd and bureau_sz and bureau_js and leader
    world = World(settings, db, IndexService(settings, db), admin, bureau_gd, bureau_sz, bureau_js, leader)
    operator = operator_caller(settings, db)
    assert chains.import_chain(operator, read_definition_file(SAMPLE_DIR / "chain.json")) == "created"
    yield world
    db.dispose()


def audit_rows(db: Engine, **where: object) -> list[AuditEvent]:
    with Session(db) as session:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(session.exec(query))


def audit_count(db: Engine) -> int:
    with Session(db) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


# ------------------------------------------------------------------------------ region rules
def test_region_rules_differ_only_where_routes_always_differed(world: World) -> None:
    gd, sz = world.bureau_gd, world.bureau_sz
    # A bureau's default is its own region under every rule.
    for rule in (ASSESS, MATCH, REMATCH):
        assert authorise_region(gd, None, None, rule=rule) == Region(GD, None)
        assert authorise_region(sz, None, None, rule=rule) == Region(GD, "深圳市")
        assert authorise_region(gd, "粤", "东莞", rule=rule) == Region(GD, "东莞市")
        with pytest.raises(RegionForbidden):
            authorise_region(gd, JS, None, rule=rule)
    # A city bureau naming only its province: narrowed to its city when assessing; refused when
    # matching or re-matching, with each route's own words.
    assert authorise_region(sz, GD, None, rule=ASSESS) == Region(GD, "深圳市")
    with pytest.raises(RegionForbidden, match="以本辖区为区域查询"):
        authorise_region(sz, GD, None, rule=MATCH)
    with pytest.raises(RegionForbidden, match="重新匹配本辖区"):
        authorise_region(sz, GD, None, rule=REMATCH)
    with pytest.raises(RegionForbidden, match="只能查看本辖区"):
        authorise_region(sz, GD, "广州", rule=ASSESS)


def test_admin_regions_and_firms_under_each_rule(world: World) -> None:
    admin = world.admin
    chain_region = Region(GD, None)
    assert authorise_region(admin, None, None, rule=ASSESS, default=chain_region) == chain_region
    with pytest.raises(RegionMissing):
        authorise_region(admin, None, None, rule=ASSESS)
    assert authorise_region(admin, None, None, rule=MATCH) is None  # a search without a region
    with pytest.raises(RegionMissing, match="须指定 region"):
        authorise_region(admin, None, None, rule=REMATCH)
    # An unknown province is refused when assessing, searched as given when matching.
    with pytest.raises(RegionInvalid):
        authorise_region(admin, "火星", None, rule=ASSESS)
    assert authorise_region(admin, "火星", None, rule=MATCH) == Region("火星", None)
    with pytest.raises(RegionForbidden, match="企业不能查看区域分析"):
        authorise_region(world.leader, GD, None, rule=ASSESS)


def test_match_query_applies_the_match_rule(world: World) -> None:
    sz = world.caller(world.bureau_sz)
    query = match.engine_query(sz, MatchRequest(text="分子泵", scope=Scope.OUTSIDE))
    assert query.region == Region(GD, "深圳市")
    with pytest.raises(RegionForbidden):
        match.engine_query(sz, MatchRequest(text="分子泵", region=GD))
    admin = world.caller(world.admin)
    assert match.engine_query(admin, MatchRequest(text="分子泵")).region is None
    with pytest.raises(RegionMissing, match="inside/outside"):
        match.engine_query(admin, MatchRequest(text="分子泵", scope=Scope.INSIDE))
    with pytest.raises(InvalidInput, match="k 最大为"):
        match.engine_query(admin, MatchRequest(text="分子泵", k=world.settings.max_k + 1))


# ------------------------------------------------------------------------------ chains
def test_chain_in_region_loads_resolves_checks_and_audits(world: World) -> None:
    admin = world.caller(world.admin, route="POST /v1/chains/x/report")
    located = chains.chain_in_region(admin, CHAIN_ID, None, None, action="report")
    assert located.region == Region(GD, None) and located.label == "广东省"  # the chain's region
    assert located.chain.id == CHAIN_ID and located.chain.nodes
    row = audit_rows(world.db, route="POST /v1/chains/x/report")[-1]
    assert (row.action, row.object_type, row.object_id, row.key_id) == (
        "report",
        "chain",
        CHAIN_ID,
        world.admin.key_id,
    )
    js = world.caller(world.bureau_js)
    assert chains.chain_in_region(js, CHAIN_ID, None, None).region == Region(JS, None)
    before = audit_count(world.db)
    with pytest.raises(RegionForbidden):
        chains.chain_in_region(js, CHAIN_ID, GD, None, action="report")
    with pytest.raises(ChainNotFound):
        chains.chain_in_region(admin, "no-such-chain", GD, None, action="report")
    with pytest.raises(Forbidden):
        chains.chain_in_region(world.caller(world.leader), CHAIN_ID, None, None)
    assert audit_count(world.db) == before  # nothing read, nothing recorded


def test_weak_links_audit_the_chain_and_every_list_they_carry(world: World) -> None:
    route = "GET /v1/chains/precision-instruments-gd/weak-links"
    result = chains.weak_links(world.caller(world.bureau_gd, route=route), CHAIN_ID, None, None)
    assert result.region.province == GD and result.links
    rows = audit_rows(world.db, route=route)
    assert (rows[0].action, rows[0].object_type, rows[0].object_id) == ("weak_links", "chain", CHAIN_ID)
    lists = {(r.object_id, r.object_version) for r in rows if r.object_type == "gap_list"}
    assert lists and lists == {(ref.id, ref.version) for ref in gap_lists_read(result)}
    # The CLI's operator is not audited (it never was).
    before = audit_count(world.db)
    operator = operator_caller(world.settings, world.db, world.index)
    assert chains.weak_links(operator, CHAIN_ID, None, None).links == result.links
    assert audit_count(world.db) == before


def test_chain_writes_follow_the_region(world: World) -> None:
    body = ChainCreate.model_validate(
        {
            "id": "svc-test-chain",
            "name": "测试链",
            "nodes": [{"id": "a", "name": "分子泵", "segment": "upstream", "products": ["分子泵"]}],
        }
    )
    gd, js = world.caller(world.bureau_gd), world.caller(world.bureau_js)
    created = chains.create_chain(gd, body)
    assert (created.region_province, created.version) == (GD, 1)  # a bureau's default: its region
    with pytest.raises(ChainExists):
        chains.create_chain(gd, body)
    update = ChainUpdate.model_validate(body.model_dump(exclude={"id"}) | {"name": "测试链二"})
    with pytest.raises(RegionForbidden):
        chains.replace_chain(js, body.id, update)
    with pytest.raises(RegionForbidden):
        chains.delete_chain(js, body.id)
    assert chains.replace_chain(gd, body.id, update).version == 2
    assert body.id in {c.id for c in chains.list_chains(js)}  # planning data every bureau reads
    chains.delete_chain(gd, body.id)
    with pytest.raises(ChainNotFound):
        chains.read_chain(gd, body.id)
    with pytest.raises(Forbidden):
        chains.import_chain(gd, body)  # the file import is the operator's


# ------------------------------------------------------------------------------ outreach
def test_outreach_is_scoped_to_the_region(world: World) -> None:
    gd, js, sz = (world.caller(p) for p in (world.bureau_gd, world.bureau_js, world.bureau_sz))
    overview = chains.chain_overview(gd, CHAIN_ID, None, None)
    link = next(lk for lk in overview.assessment.links if lk.score is not None and lk.products)
    with Session(world.db) as session:  # a firm outside 广东: an investment target
        firm_id = session.exec(select(Firm.id).where(Firm.province == JS).order_by(col(Firm.id))).first()
    assert firm_id is not None
    body = OutreachCreate.model_validate(
        {"chain_id": CHAIN_ID, "node_id": link.node_id, "product": link.products[0], "firm_id": firm_id}
    )
    record = outreach.create_record(gd, body)
    assert (record.region_province, record.stage, record.kind.value) == (GD, Stage.SHORTLISTED, "target")
    with pytest.raises(OutreachConflict):
        outreach.create_record(gd, body)
    for outsider in (js, sz):  # another province; a city bureau for a province-wide record
        with pytest.raises(OutreachNotFound):
            outreach.read_record(outsider, record.id)
        assert record.id not in {r.id for r in outreach.list_records(outsider, size=50).items}
    moved = outreach.change_stage(gd, record.id, StageChange(stage=Stage.CONTACTED, note="电话沟通"))
    assert (moved.stage, moved.version) == (Stage.CONTACTED, record.version + 1)
    assert [e.to_stage for e in outreach.record_events(gd, record.id)] == [Stage.SHORTLISTED, Stage.CONTACTED]
    page = outreach.list_records(gd, size=1)
    assert len(page.items) == 1 and (page.next_cursor is None) == (
        len(outreach.list_records(gd, size=50).items) == 1
    )
    assert [r.record_id for r in outreach.feedback(gd, chain_id=CHAIN_ID)][-2:] == [record.id, record.id]
    with pytest.raises(RegionForbidden):
        outreach.list_records(gd, size=10, region=JS)


def test_caller_context_is_frozen_and_checks_roles(world: World) -> None:
    caller = world.caller(world.leader)
    with pytest.raises(Forbidden, match="该操作仅限"):
        caller.require(Role.BUREAU, Role.ADMIN)
    with pytest.raises(AttributeError):
        caller.route = "x"  # type: ignore[misc]
    assert replace(caller, audited=False).audited is False
