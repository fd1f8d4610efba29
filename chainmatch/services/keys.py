"""API keys, for the platform operator: create (the plaintext is shown once), revoke, list."""

from __future__ import annotations

from sqlmodel import Session, col, select

from chainmatch import keys
from chainmatch.errors import NotFound
from chainmatch.services.context import Caller
from models.apikey import ApiKey, Role


def _detached(session: Session, key: ApiKey) -> ApiKey:
    """``key`` as written, readable after its transaction ends."""
    session.flush()
    session.expunge(key)
    return key


def create(
    caller: Caller,
    role: Role,
    *,
    province: str | None = None,
    city: str | None = None,
    firm_id: str | None = None,
    label: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored or shown again. A scope that does not
    fit the role (a bureau without a province, a firm key without a live firm …): KeyScopeError."""
    caller.require(Role.ADMIN)
    with caller.writing() as session:
        key, plaintext = keys.create_key(
            session, role, province=province, city=city, firm_id=firm_id, label=label
        )
        return _detached(session, key), plaintext


def revoke(caller: Caller, key_id_or_prefix: str) -> ApiKey:
    """Revoke a key (by id or prefix) at once; revoking a revoked key changes nothing."""
    caller.require(Role.ADMIN)
    with caller.writing() as session:
        key = keys.revoke_key(session, key_id_or_prefix)
        if key is None:
            raise NotFound(f"密钥 {key_id_or_prefix} 不存在 (no such key)")
        return _detached(session, key)


def list_keys(caller: Caller) -> list[ApiKey]:
    """Every key, by id, with role, scope and last use (the rows hold only salted hashes)."""
    caller.require(Role.ADMIN)
    with caller.reading() as session:
        return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))))
