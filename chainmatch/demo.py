"""The main job on the bundled sample: load, index, and print two explained lists per weak link."""

from __future__ import annotations

from rich.console import Console
from sqlmodel import Session, col, select

from chainmatch.chains.store import import_chain, read_definition_file
from chainmatch.db import init_db, make_engine, session_scope
from chainmatch.gapfile import import_gap_lists
from chainmatch.gaplists import items_of
from chainmatch.indexing import IndexService
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import parse_records
from chainmatch.ingest.relations import ingest_relations
from chainmatch.keys import create_key, revoke_key
from chainmatch.labels import OUTCOMES
from chainmatch.matching import recommend_gap_list
from chainmatch.settings import Settings
from models.apikey import ApiKey, Role
from models.firm import Firm
from models.gap import GapList

DEMO_KEY_LABELS = ("demo admin", "demo bureau 广东省")


def run_demo(settings: Settings, console: Console, *, k: int = 5) -> dict[str, str]:
    """Idempotent: a second run finds everything loaded and changes nothing but the demo keys
    (new ones, the old ones revoked). Returns the demo keys."""
    from chainmatch.cli import results_table

    sample_dir = settings.sample_dir
    db = make_engine(settings)
    init_db(db)
    console.rule("ChainMatch 演示 · 广东精密仪器产业集群 (sample cluster)")
    for name, ingest in (("firms.jsonl", ingest_firms), ("relations.jsonl", ingest_relations)):
        records, _ = parse_records((sample_dir / name).read_bytes(), name=name)
        report = ingest(db, records, progress=True)
        if not report.written:
            raise RuntimeError(f"sample {name} did not load: {report.errors[:3]}")
        console.print(
            f"{name}: 新增 {report.inserted}，更新 {report.updated}，未变 {report.unchanged}，"
            f"警告 {len(report.warnings)}"
        )
    report = import_gap_lists(db, sample_dir / "gap_lists.json")
    if not report.written:
        raise RuntimeError(f"sample gap lists did not load: {report.errors[:3]}")
    console.print(f"gap_lists.json: 新增 {report.inserted}，更新 {report.updated}，未变 {report.unchanged}")
    with session_scope(db) as session:
        outcome = import_chain(session, read_definition_file(sample_dir / "chain.json"))
    console.print(f"chain.json: {OUTCOMES[outcome]}")

    index = IndexService(settings, db)
    index.start(progress=True)

    keys: dict[str, str] = {}
    with Session(db) as session:
        lists = session.exec(
            select(GapList).where(col(GapList.deleted_at).is_(None)).order_by(GapList.title)
        ).all()
        for gap_list in lists:
            leader = session.get(Firm, gap_list.leader_firm_id)
            items = items_of(session, gap_list)
            with index.searching() as engine:
                recs = recommend_gap_list(engine, gap_list, items, k=k)
            console.rule(f"{gap_list.title} — {leader.name if leader else gap_list.leader_firm_id}")
            for item in recs.items:
                console.print(
                    f"\n[bold]薄弱环节 weak link: {item.item.name}[/bold]"
                    f"（用于 {item.item.for_product or '—'}，进口占比 {item.item.import_share or 0:.0%}）"
                )
                console.print(results_table("招商目标 investment targets (区域外)", item.investment_targets))
                console.print(results_table("本地配套 local suppliers (区域内)", item.local_suppliers))
    with session_scope(db) as session:
        # Secrets are stored hashed and cannot be printed again: each run revokes the keys of
        # the previous one and makes new ones, so demo keys do not pile up.
        for old in session.exec(select(ApiKey).where(col(ApiKey.label).in_(DEMO_KEY_LABELS))):
            revoke_key(session, str(old.id))
        _, keys["admin"] = create_key(session, Role.ADMIN, label=DEMO_KEY_LABELS[0])
        _, keys["bureau"] = create_key(session, Role.BUREAU, province="广东省", label=DEMO_KEY_LABELS[1])
    console.rule("演示密钥 demo keys (X-API-Key)")
    for role, key in keys.items():
        console.print(f"{role}: {key}")
    return keys
