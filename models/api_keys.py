"""An API key per integration (seed 003): shown once when issued, stored only as a SHA-256 digest.

The key is 256 random bits, so a plain digest is enough to store it safely and lets a request
find its integration with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from models.config import Integration, utcnow
from models.errors import Conflict
from models.integrations import integration_ref

PREFIX = "ihk_"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(db: Session, integration: Integration, rotate: bool = False) -> str:
    """A new key for the integration; the previous one, if any, stops working (only when rotating)."""
    if integration.api_key_hash is not None and not rotate:
        raise Conflict(f"{integration_ref(db, integration)} already has an API key (issued "
                       f"{integration.api_key_created_at:%Y-%m-%d %H:%M} UTC); it is shown only once, "
                       "so rotate it to get a new one")
    key = PREFIX + secrets.token_urlsafe(32)
    integration.api_key_hash = digest(key)
    integration.api_key_created_at = utcnow()
    db.add(integration)
    db.commit()
    return key


def integration_for_key(db: Session, key: str) -> Integration | None:
    if not key.startswith(PREFIX):
        return None
    return db.exec(select(Integration).where(Integration.api_key_hash == digest(key))).first()
