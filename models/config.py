"""Configuration tables: customers, their integration endpoints, integrations and mappings."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any
from uuid import uuid4

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


class EndpointStatus(str, Enum):
    """A partner endpoint's connection (seed 001); a custom endpoint has none."""

    available = "Available"
    enabled = "Enabled"
    failed = "Failed"


class IntegrationEndpoint(SQLModel, table=True):
    """A customer's connection point to one third-party system (seed 000).

    An endpoint added from the partner catalog (seed 001) names its `partner` and carries the
    connection: region, base URL, the credentials block and whether it is currently connected.
    """

    __tablename__ = "integration_endpoint"
    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE")
    name: str
    description: str
    partner: str | None = None
    status: EndpointStatus | None = Field(default=None, sa_type=enum_column(EndpointStatus))
    connected: bool = False
    region: str | None = None
    base_url: str | None = None
    credentials_block: str | None = None
    status_message: str = ""
    connected_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class IntegrationStatus(str, Enum):
    inactive = "Inactive"
    active = "Active"
    disabled = "Disabled"


class IntegrationSource(str, Enum):
    """Where an integration comes from: a partner's data type, a connector spec, or outside the hub."""

    partner = "partner"
    connector = "connector"
    external = "external"


class UpdateType(str, Enum):
    """Which vendor changes a sync applies (seed 002's "type of updates")."""

    created = "created"
    updated = "updated"
    deleted = "deleted"


class DeletedMode(str, Enum):
    """What "deleted" does to a record the vendor no longer returns on a full sync."""

    mark = "mark"
    remove = "remove"


DEFAULT_UPDATE_TYPES = [UpdateType.created.value, UpdateType.updated.value]
DEFAULT_ERROR_THRESHOLD = 5


class Integration(SQLModel, table=True):
    """One integration: a connector spec (less its mapping, which lives in `FieldMapping`).

    An external integration (built outside the hub, seed 003) has no spec: it reports through
    the API with its own key.
    """

    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=lambda: uuid4().hex, unique=True)
    """Stable and unique across hub databases: names the integration's lease on a shared Prefect server."""
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE")
    endpoint_id: int = Field(foreign_key="integration_endpoint.id", ondelete="RESTRICT")
    name: str
    source: IntegrationSource = Field(default=IntegrationSource.connector, sa_type=enum_column(IntegrationSource))
    data_type: str | None = None
    """The partner data type it was created from (source partner)."""
    spec: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: IntegrationStatus = Field(default=IntegrationStatus.inactive, sa_type=enum_column(IntegrationStatus))
    author: str = ""
    support_contact: str = ""
    update_types: list[str] = Field(default_factory=lambda: list(DEFAULT_UPDATE_TYPES),
                                    sa_column=Column(JSON, nullable=False))
    deleted_mode: DeletedMode = Field(default=DeletedMode.mark, sa_type=enum_column(DeletedMode))
    alert_emails: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    error_threshold: int = DEFAULT_ERROR_THRESHOLD
    """Consecutive failed runs after which the integration is Disabled and the alert e-mails go out."""
    consecutive_failures: int = 0
    """Failed runs since the last successful one; reset by a success or by re-activating."""
    disabled_reason: str = ""
    """Why the hub disabled it (the last error), shown until it is re-activated."""
    flow_retries: int = 0
    """How many times Prefect re-runs a failed run of this integration by itself."""
    flow_retry_delay_seconds: int = 60
    api_key_hash: str | None = Field(default=None, unique=True)
    api_key_created_at: datetime | None = None
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


class ActionKind(str, Enum):
    import_ = "import"
    export = "export"
    other = "other"


class IntegrationAction(SQLModel, table=True):
    """A capability of an integration, e.g. "Import Assets" or "Export Asset" (seed 003).

    `flow` names the Prefect flow that performs it; an external integration's actions have
    none: the integration itself picks up their requests.
    """

    __tablename__ = "integration_action"
    __table_args__ = (UniqueConstraint("integration_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", ondelete="CASCADE", index=True)
    name: str
    kind: ActionKind = Field(sa_type=enum_column(ActionKind))
    flow: str | None = None
    description: str = ""
