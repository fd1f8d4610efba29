"""The gap-list and requirement services called directly, as the API, the dashboard and the CLI call
them: on a real SQLite database with the sample cluster, no HTTP and no mocks.

What they must do on their own, whoever calls: keep a list outside the caller's scope invisible
(the same 404 as a list that does not exist), let only the owner and admin change one, write the
audit rows (reads in their own transaction, writes in the write's), and read sourcing facts from
an item's text on submission.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chainmatch.db import init_db, make_engine
from chainmatch.errors import Forbidden, InvalidInput, NotFound, RequirementError
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal, authenticate
from chainmatch.services import gap_lists, keys, requirements
from chainmatch.services.access import Access
from chainmatch.services.context import Caller, operator_caller
from models.apikey import Role
from models.audit import AuditEvent
from models.gap import GapItemCreate, GapListCreate, GapListRevision, GapListUpdate, RegionIn
from models.requirement import RequirementIn, RequirementsUpdate
from tests.conftest import make_settings
from tests.worlds import sample_data

ROUTE = "TEST /service"


@dataclass(frozen=True)
class World:
    db: Engine
    index: IndexService
    operator: Caller
    callers: dict[str, Caller]  # by role name: admin, bureau_gd, bureau_js, leader_a, leader_b
    leader_a: str
    leader_b: str

    def list_of(self, leader: str) -> str:
        page = gap_lists.list_page(self.operator, limit=100)
        ids = [gl.id for gl in page.items if gl.leader_firm_id == leader and gl.title.endswith("风险清单")]
        assert len(ids) == 1, f"the sample has one list per leader: {leader}"
        return ids[0]

    def events(self, action: str, object_id: str) -> list[AuditEvent]:
        with Session(self.db) as session:
            query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == object_id)
            return list(session.exec(query.order_by(col(AuditEvent.id))))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("services") / "var")
    sample = sample_data(settings)  # the sample cluster, a key for every role, the fitted index
    db = make_engine(settings)
    init_db(db)
    index = IndexService(settings, db)
    index.start()
    operator = operator_caller(settings, db, index)

    def caller(plaintext: str) -> Caller:
        with Session(db) as session:
            principal = authenticate(session, plaintext)
        assert principal is not None
        return Caller(principal, db, index, settings, route=ROUTE)

    callers = {
        role: caller(sample.of(role) or "")
        for role in ("admin", "bureau_gd", "bureau_js", "leader_a", "leader_b")
    }
    yield World(db, index, operator, callers, sample.leader_a_firm, sample.leader_b_firm)
    db.dispose()


def item(name: str, **fields: object) -> GapItemCreate:
    return GapItemCreate.model_validate({"name": name, **fields})


# ------------------------------------------------------------------------------ finding
def test_a_list_outside_the_callers_scope_is_as_missing_as_one_that_does_not_exist(world: World) -> None:
    list_a = world.list_of(world.leader_a)
    for who in ("leader_b", "bureau_js"):
        with pytest.raises(NotFound) as hidden:
            gap_lists.find(world.callers[who], list_a)
        with pytest.raises(NotFound) as missing:
            gap_lists.find(world.callers[who], "gl_no_such_list")
        assert str(hidden.value) == str(missing.value) == "清单不存在 (not found)"
    for who in ("leader_a", "bureau_gd", "admin"):
        assert gap_lists.find(world.callers[who], list_a).leader_firm_id == world.leader_a


def test_only_the_owner_and_admin_may_change_a_list(world: World) -> None:
    list_a = world.list_of(world.leader_a)
    assert gap_lists.find(world.callers["leader_a"], list_a, Access.WRITE).id == list_a
    assert gap_lists.find(world.callers["admin"], list_a, Access.WRITE).id == list_a
    with pytest.raises(Forbidden, match="招商局不能修改"):
        gap_lists.find(world.callers["bureau_gd"], list_a, Access.WRITE)
    with pytest.raises(Forbidden):
        gap_lists.delete(world.callers["bureau_gd"], list_a)
    gap_lists.find(world.callers["admin"], list_a)  # still there


# ------------------------------------------------------------------------------ reading
def test_listing_shows_each_role_its_scope_in_pages_and_audits_every_list_shown(world: World) -> None:
    everything = gap_lists.list_page(world.callers["admin"], limit=100).items
    assert len(everything) >= 8
    own = gap_lists.list_page(world.callers["leader_a"], limit=100).items
    assert {gl.leader_firm_id for gl in own} == {world.leader_a}
    assert gap_lists.list_page(world.callers["bureau_js"], limit=100).items == []

    first = gap_lists.list_page(world.callers["bureau_gd"], limit=3)
    assert len(first.items) == 3 and first.next_cursor == first.items[-1].id
    second = gap_lists.list_page(world.callers["bureau_gd"], limit=3, cursor=first.next_cursor)
    assert [gl.id for gl in second.items] == sorted(gl.id for gl in second.items)
    assert second.items[0].id > first.items[-1].id

    shown = first.items[0]
    [event] = [
        e for e in world.events("list", shown.id) if e.key_id == world.callers["bureau_gd"].principal.key_id
    ]
    assert (event.role, event.route, event.object_version) == ("bureau", ROUTE, shown.version)


def test_a_read_is_audited_for_api_callers_but_not_for_the_operator(world: World) -> None:
    list_b = world.list_of(world.leader_b)
    before = len(world.events("read", list_b))
    public = gap_lists.read(world.callers["bureau_gd"], list_b)
    assert public.items and [i.position for i in public.items] == list(range(len(public.items)))
    assert len(world.events("read", list_b)) == before + 1
    gap_lists.read(world.operator, list_b)
    assert len(world.events("read", list_b)) == before + 1


# ------------------------------------------------------------------------------ writing
def test_a_leader_submits_for_its_own_firm_and_the_text_fills_sourcing_facts(world: World) -> None:
    body = GapListCreate(
        title="服务层测试清单",
        items=[item("离子源，主要依赖日本进口，进口占比约70%"), item("分子泵", import_share=0.2)],
    )
    created = gap_lists.create(world.callers["leader_a"], body)
    assert created.leader_firm_id == world.leader_a and created.region_province == "广东省"
    sentence, pump = created.items
    assert sentence.name == body.items[0].name  # stored as written (NFKC-normalised)
    assert (sentence.current_source_country, sentence.import_share) == ("日本", pytest.approx(0.7))
    assert pump.import_share == pytest.approx(0.2)  # a value sent always wins
    [event] = world.events("create", created.id)
    assert (event.object_type, event.key_id) == ("gap_list", world.callers["leader_a"].principal.key_id)

    with pytest.raises(Forbidden, match="只能为本企业"):
        gap_lists.create(
            world.callers["leader_a"], body.model_copy(update={"leader_firm_id": world.leader_b})
        )
    with pytest.raises(InvalidInput, match="leader_firm_id"):
        gap_lists.create(world.callers["admin"], body)
    with pytest.raises(Forbidden):
        gap_lists.create(world.callers["bureau_gd"], body)


def test_too_many_items_or_an_unknown_leader_write_nothing(world: World) -> None:
    small = replace(
        world.callers["admin"],
        settings=world.callers["admin"].settings.model_copy(update={"max_gap_items": 1}),
    )
    body = GapListCreate(title="两项", leader_firm_id=world.leader_b, items=[item("分子泵"), item("四极杆")])
    with pytest.raises(InvalidInput, match="最多 1 项"):
        gap_lists.create(small, body)
    with pytest.raises(InvalidInput, match="不存在"):
        gap_lists.create(world.callers["admin"], body.model_copy(update={"leader_firm_id": "NO-SUCH-FIRM"}))
    titles = {gl.title for gl in gap_lists.list_page(world.callers["admin"], limit=100).items}
    assert "两项" not in titles


def test_a_revision_keeps_the_previous_version_and_a_deleted_list_is_gone(world: World) -> None:
    owner = world.callers["leader_b"]
    created = gap_lists.create(owner, GapListCreate(title="待修订", items=[item("射频电源")]))
    revised = gap_lists.revise(
        owner,
        created.id,
        GapListUpdate(
            title="已修订",
            region=RegionIn(province="广东", city="深圳市"),
            items=[item("雾化器"), item("采样锥")],
        ),
    )
    assert (revised.version, revised.title, revised.region_city) == (2, "已修订", "深圳市")
    assert [i.name for i in revised.items] == ["雾化器", "采样锥"]
    with Session(world.db) as session:
        [kept] = session.exec(select(GapListRevision).where(GapListRevision.gap_list_id == created.id)).all()
    assert kept.version == 1 and [i["name"] for i in kept.snapshot["items"]] == ["射频电源"]
    assert len(world.events("update", created.id)) == 1

    gap_lists.delete(owner, created.id)
    with pytest.raises(NotFound):
        gap_lists.read(world.callers["admin"], created.id)
    with pytest.raises(NotFound):
        gap_lists.revise(owner, created.id, GapListUpdate(title="x", items=[item("y")]))
    assert len(world.events("delete", created.id)) == 1


def test_a_spreadsheet_is_read_row_by_row_and_a_dry_run_writes_nothing(world: World) -> None:
    sheet = "名称,进口占比,来源国\n涡轮分子泵,70%,德国\n四极杆质量分析器,0.5,美国\n".encode()
    leader = world.callers["leader_a"]
    dry = gap_lists.upload(leader, sheet, "risks.csv", title="表格清单", dry_run=True)
    assert not dry.errors and not dry.written and dry.gap_list is None and len(dry.rows) == 2
    report = gap_lists.upload(leader, sheet, "risks.csv", title="表格清单", province="广东省")
    assert report.written and report.gap_list is not None
    assert [(i.name, i.import_share) for i in report.gap_list.items] == [
        ("涡轮分子泵", 0.7),
        ("四极杆质量分析器", 0.5),
    ]
    assert gap_lists.read(leader, report.gap_list.id).title == "表格清单"

    bad = gap_lists.upload(leader, "名称,进口占比\n涡轮分子泵,很多\n".encode(), "bad.csv", title="坏表")
    assert bad.errors and not bad.written
    with pytest.raises(ValidationError):
        gap_lists.upload(leader, sheet, "risks.csv", title="   ")


def test_recommendations_are_capped_and_audited_as_a_read_of_the_list(world: World) -> None:
    list_a = world.list_of(world.leader_a)
    caller = world.callers["bureau_gd"]
    with pytest.raises(InvalidInput, match="k 最大为"):
        gap_lists.recommendations(caller, list_a, k=caller.settings.max_k + 1)
    result = gap_lists.recommendations(caller, list_a, k=3)
    assert result.gap_list_id == list_a and result.items
    assert all(len(i.investment_targets) <= 3 for i in result.items)
    assert world.events("recommend", list_a)[-1].route == ROUTE


# ------------------------------------------------------------------------------ requirements
def test_requirements_name_items_of_the_list_and_are_as_confidential_as_it(world: World) -> None:
    list_a = world.list_of(world.leader_a)
    names = [i.name for i in gap_lists.read(world.callers["leader_a"], list_a).items]
    body = RequirementsUpdate(requirements=[RequirementIn(item=names[0], certifications=["ISO 9001"])])
    written = requirements.replace(world.callers["leader_a"], list_a, body)
    assert [r.item for r in written.requirements] == [names[0]]
    assert written.gap_list_version == gap_lists.find(world.callers["admin"], list_a).version

    wrong = RequirementsUpdate(requirements=[RequirementIn(item="清单里没有的东西")])
    with pytest.raises(RequirementError, match=r"requirements\[0\]\.item"):
        requirements.replace(world.callers["leader_a"], list_a, wrong)
    with pytest.raises(Forbidden):
        requirements.replace(world.callers["bureau_gd"], list_a, body)
    with pytest.raises(NotFound):
        requirements.read(world.callers["leader_b"], list_a)

    assert requirements.read(world.callers["bureau_gd"], list_a).requirements[0].certifications == [
        "ISO 9001"
    ]
    assert world.events("read_requirements", list_a)[-1].key_id == world.callers["bureau_gd"].principal.key_id
    [update] = world.events("update_requirements", list_a)
    assert update.object_version == written.gap_list_version


def test_the_operator_creates_and_revokes_keys_and_a_revoked_key_stops_at_once(world: World) -> None:
    key, plaintext = keys.create(world.operator, Role.BUREAU, province="浙江", label="测试")
    assert (key.role, key.province, key.label) == (Role.BUREAU, "浙江省", "测试")
    assert plaintext.startswith(f"cm_{key.prefix}_")
    with Session(world.db) as session:
        assert authenticate(session, plaintext) == Principal(key.id or 0, Role.BUREAU, "浙江省")
    keys.revoke(world.operator, key.prefix)
    with Session(world.db) as session:
        assert authenticate(session, plaintext) is None
    with pytest.raises(NotFound):
        keys.revoke(world.operator, "no-such-prefix")
    with pytest.raises(Forbidden):
        keys.list_keys(world.callers["bureau_gd"])
    assert key.id in {k.id for k in keys.list_keys(world.operator)}
