"""The dashboard's login sessions, kept in the database (``dashboard_session``).

A login is an opaque random token the browser holds in a cookie; only its SHA-256 is stored, so a
database leak yields no usable session, and logout, expiry or revoking the API key behind it end it
at once. Each session has its own CSRF token: every cookie-authenticated form post and every
cookie-authenticated unsafe ``/v1`` call must present it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col

from chainmatch.db import session_scope
from chainmatch.keys import Principal, authenticate
from models.apikey import ApiKey, Role
from models.common import utcnow
from models.firm import Firm
from models.outreach import DashboardSession

MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live dashboard login: who it acts for, its CSRF token, and what names the caller."""

    principal: Principal
    csrf: str
    key_label: str | None
    firm_name: str | None  # a leader's or supplier's own firm


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(db: Engine, presented_key: str, hours: int) -> tuple[str, Principal] | None:
    """Check a pasted API key and open a session for it: the token to put in the cookie (never
    stored as such) and whom it acts for; None for an unknown, malformed or revoked key."""
    with session_scope(db, write=False) as session:
        principal = authenticate(session, presented_key.strip())
    if principal is None:
        return None
    return _open_session(db, principal.key_id, hours), principal


def _open_session(db: Engine, key_id: int, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    with session_scope(db) as session:
        # sessions that ended more than a day ago are of no use to anyone: drop them on the way
        session.exec(
            delete(DashboardSession).where(col(DashboardSession.expires_at) < utcnow() - timedelta(days=1))
        )
        session.add(
            DashboardSession(
                token_hash=_digest(token),
                key_id=key_id,
                csrf_token=secrets.token_urlsafe(24),
                expires_at=utcnow() + timedelta(hours=hours),
            )
        )
    return token


def find_session(db: Engine, token: str | None) -> WebSession | None:
    """The live session a cookie token belongs to; None when unknown, ended, expired or its key
    revoked."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    with session_scope(db, write=False) as session:
        row = session.get(DashboardSession, _digest(token))
        if row is None or row.revoked_at is not None:
            return None
        now = utcnow()
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=now.tzinfo)
        if expires < now:
            return None
        key = session.get(ApiKey, row.key_id)
        if key is None or key.revoked_at is not None:
            return None
        principal = Principal(row.key_id, Role(key.role), key.province, key.city, key.firm_id)
        firm = session.get(Firm, principal.firm_id) if principal.firm_id else None
        return WebSession(principal, row.csrf_token, key.label, firm.name if firm else None)


def close_session(db: Engine, token: str) -> None:
    """Logout: the session ends on the server, so the old cookie is useless afterwards."""
    if len(token) > MAX_TOKEN_LENGTH:
        return
    with session_scope(db) as session:
        row = session.get(DashboardSession, _digest(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
