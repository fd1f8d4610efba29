"""API keys: ``cm_<prefix>_<secret>``. Only a salted SHA-256 of the secret is stored.

The secret is 256 random bits, so one salted hash round is enough (slow hashes protect low-entropy
passwords, not random keys) and keeps authentication off the latency budget.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from chainmatch.db import writer
from chainmatch.errors import KeyScopeError
from models.apikey import ApiKey, Role
from models.common import utcnow
from models.firm import Firm
from models.regions import normalize_city, normalize_province

logger = logging.getLogger(__name__)

_LAST_USED_RESOLUTION = timedelta(seconds=60)
# Roles scoped to one firm: a chain leader (its gap lists) and a supplier (its supply offers).
FIRM_ROLES = frozenset({Role.LEADER, Role.SUPPLIER})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as far as authorisation cares."""

    key_id: int
    role: Role
    province: str | None = None
    city: str | None = None
    firm_id: str | None = None


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def create_key(
    session: Session,
    role: Role,
    *,
    province: str | None = None,
    city: str | None = None,
    firm_id: str | None = None,
    label: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its plaintext, which is never stored or shown again."""
    province, city = normalize_province(province), normalize_city(city)
    if role is Role.BUREAU and not province:
        raise KeyScopeError("招商局密钥必须指定省份 --province (a bureau key needs a province)")
    if role in FIRM_ROLES:
        if not firm_id:
            raise KeyScopeError(
                "企业密钥（链主、配套企业）必须指定企业 --firm (a leader or supplier key needs a firm id)"
            )
        firm = session.get(Firm, firm_id)
        if firm is None or firm.deleted_at is not None:
            raise KeyScopeError(f"企业 {firm_id} 不存在 (firm not found)")
    if role is Role.ADMIN and (province or firm_id):
        raise KeyScopeError("管理员密钥不带范围 (an admin key has no scope)")
    if role not in FIRM_ROLES and firm_id:
        raise KeyScopeError(
            "只有企业密钥（链主、配套企业）可以指定企业 (only leader and supplier keys name a firm)"
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    key = ApiKey(
        role=role,
        province=province if role is Role.BUREAU else None,
        city=city if role is Role.BUREAU else None,
        firm_id=firm_id if role in FIRM_ROLES else None,
        label=label,
        prefix=prefix,
        salt=salt,
        secret_hash=_hash(salt, secret),
    )
    session.add(key)
    session.flush()
    return key, f"cm_{prefix}_{secret}"


def authenticate(session: Session, presented: str) -> Principal | None:
    """The principal for a presented key, or None (unknown, malformed or revoked)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "cm" or not parts[1] or not parts[2] or len(presented) > 200:
        return None
    key = session.exec(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if key is None or key.revoked_at is not None:
        # Still hash once, so timing does not tell a wrong prefix from a wrong secret.
        hmac.compare_digest(_hash("0" * 32, parts[2]), "0" * 64)
        return None
    if not hmac.compare_digest(_hash(key.salt, parts[2]), key.secret_hash):
        return None
    now = utcnow()
    last = key.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    assert key.id is not None
    principal = Principal(key.id, Role(key.role), key.province, key.city, key.firm_id)
    if last is None or now - last > _LAST_USED_RESOLUTION:
        # End the read transaction, then stamp the key as a writer: upgrading a read transaction
        # to a write one deadlocks on SQLite under concurrent writers ("database is locked").
        session.rollback()
        try:
            with Session(writer(session.get_bind())) as stamp:  # type: ignore[arg-type]
                stamp.exec(update(ApiKey).where(col(ApiKey.id) == principal.key_id).values(last_used_at=now))
                stamp.commit()
        except OperationalError as exc:
            # The stamp is advisory (minute resolution): a busy database must not turn a valid
            # key away. The next request stamps again.
            logger.warning("could not record last use of key %s: %s", principal.key_id, exc)
    return principal


def revoke_key(session: Session, key_id_or_prefix: str) -> ApiKey | None:
    query = select(ApiKey).where(ApiKey.prefix == key_id_or_prefix)
    if key_id_or_prefix.isdigit():
        query = select(ApiKey).where(ApiKey.id == int(key_id_or_prefix))
    key = session.exec(query).first()
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    return key
