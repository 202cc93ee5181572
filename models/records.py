"""The hub's own objects that synced vendor records land in, keyed by (integration, sync key).

`record_hash` is a digest of the mapped fields: a re-sync compares it to tell updated from
unchanged records without touching unchanged rows.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.config import utcnow


def record_hash(row: dict[str, Any]) -> str:
    """A mapped row's digest: the same for the same values, whatever order its keys are in."""
    encoded = orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


class SyncedRecord(SQLModel):
    integration_id: int = Field(foreign_key="integration.id", ondelete="CASCADE", primary_key=True)
    sync_key: str = Field(primary_key=True)
    record_hash: str
    first_seen_at: datetime = Field(default_factory=utcnow)
    last_synced_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None
    """Set when a full sync no longer finds the record at the vendor and deletions are marked."""


class Asset(SyncedRecord, table=True):
    name: str | None = None
    asset_tag: str | None = None
    serial_number: str | None = None
    model: str | None = None
    manufacturer: str | None = None
    category: str | None = None
    status: str | None = None
    assigned_to: str | None = None
    location: str | None = None
    purchased_at: datetime | None = None
    cost: float | None = None


class Person(SyncedRecord, table=True):
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    title: str | None = None
    department: str | None = None
    status: str | None = None
    manager_email: str | None = None
    phone: str | None = None


class CustomRecord(SyncedRecord, table=True):
    __tablename__ = "custom_record"

    object_type: str = Field(index=True)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
