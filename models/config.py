"""Configuration tables: customers, their integration endpoints, integrations and mappings."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def enum_column(enum: type[Enum]) -> SAEnum:
    """Store an enum's readable value ("In Progress") as VARCHAR, so adding a value needs no DDL."""
    return SAEnum(enum, native_enum=False, length=32, values_callable=lambda members: [m.value for m in members])


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class IntegrationEndpoint(SQLModel, table=True):
    """A customer's connection point to one third-party system (seed 000)."""

    __tablename__ = "integration_endpoint"
    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE")
    name: str
    description: str
    created_at: datetime = Field(default_factory=utcnow)


class IntegrationStatus(str, Enum):
    inactive = "Inactive"
    active = "Active"
    disabled = "Disabled"


class Integration(SQLModel, table=True):
    """One integration: a connector spec (less its mapping, which lives in `FieldMapping`)."""

    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE")
    endpoint_id: int = Field(foreign_key="integration_endpoint.id", ondelete="RESTRICT")
    name: str
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: IntegrationStatus = Field(default=IntegrationStatus.inactive, sa_type=enum_column(IntegrationStatus))
    sync_state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """What incremental sync remembers between runs (the highest cursor value seen)."""
    last_heartbeat_at: datetime | None = None
    last_log_update_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class FieldMapping(SQLModel, table=True):
    """One target field of an integration and the rule that fills it (seed 002's field assignment)."""

    __tablename__ = "field_mapping"
    __table_args__ = (UniqueConstraint("integration_id", "target_field"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", ondelete="CASCADE", index=True)
    target_field: str
    rule: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    is_sync_key: bool = False
