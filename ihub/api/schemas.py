"""Request and response bodies: what callers send (…Create/…Update) and what they get back (…Public).

Public models never carry a secret or an API key's hash; the key itself appears only in the
answer that issues it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from models.config import ActionKind, DeletedMode, EndpointStatus, IntegrationSource, IntegrationStatus, UpdateType
from models.logs import ActionStatus, Attempt, RunCounts, Trigger


NUL_PROBLEM = "text must not contain a NUL character (\\u0000)"


def contains_nul(value: Any) -> bool:
    """PostgreSQL can neither store nor compare text holding a NUL: such input is refused up front."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if contains_nul(data):
            raise ValueError(NUL_PROBLEM)
        return data


class Message(BaseModel):
    message: str


class Problem(BaseModel):
    """Every error answer (401, 403, 404, 409, 422): one readable line, never a secret."""

    detail: str = Field(description="what went wrong; for 422 each problem as `where: what`, joined by `; `")


class CustomerCreate(_In):
    name: str = Field(max_length=200)


class CustomerUpdate(_In):
    name: str = Field(max_length=200, description="the new name")


class CustomerPublic(BaseModel):
    name: str
    created_at: datetime


class CustomerRemoved(Message):
    integrations: list[str]
    endpoints: list[str]
    credential_blocks: list[str]


class EndpointCreate(_In):
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=10_000, description="mandatory")


class EndpointUpdate(_In):
    description: str | None = Field(default=None, max_length=10_000)
    name: str | None = Field(default=None, max_length=200, description="refused: an endpoint's name never changes")


class EndpointPublic(BaseModel):
    name: str
    description: str
    partner: str | None
    status: EndpointStatus | None
    connected: bool
    region: str | None
    base_url: str | None
    status_message: str
    connected_at: datetime | None
    integrations: list[str]


class ConnectResult(EndpointPublic):
    accepted: bool = Field(description="whether the partner accepted the credentials sent; refused, they replaced "
                                       "nothing")


class PartnerPublic(BaseModel):
    slug: str
    name: str
    author: str
    support_contact: str
    description: str
    docs_url: str | None
    auth_type: str
    credential_fields: list[str]
    regions: dict[str, str]
    data_types: dict[str, str] = Field(description="data type -> label")


class PartnersAdd(_In):
    partners: list[str] = Field(description="partner names from the catalog", max_length=100)


class ConnectRequest(_In):
    region: str = Field(max_length=200)
    tenant: str | None = Field(default=None, max_length=200)
    credentials: dict[str, SecretStr] = Field(description="e.g. {\"api_key\": \"...\"}; see the partner's "
                                                          "credential_fields")


class IntegrationCreate(_In):
    name: str = Field(max_length=200)
    endpoint: str = Field(max_length=200)
    data_type: str | None = Field(default=None, max_length=200, description="a data type of the endpoint's partner")
    spec: dict[str, Any] | None = Field(default=None, description="a universal-connector spec")
    external: bool = Field(default=False, description="built outside the hub; it reports through the API")
    author: str | None = Field(default=None, max_length=200)
    support_contact: str | None = Field(default=None, max_length=200)


class IntegrationPublic(BaseModel):
    """The integration manager's header (seed 003) and the integration's settings (seed 002)."""

    ref: str
    customer: str
    name: str
    status: IntegrationStatus
    source: IntegrationSource
    data_type: str | None
    endpoint: str
    partner: str | None
    connected: bool | None
    author: str
    support_contact: str
    last_log_update_at: datetime | None
    last_heartbeat_at: datetime | None
    schedule: dict[str, str | int | None] | None
    update_types: list[UpdateType]
    deleted_mode: DeletedMode
    alert_emails: list[str]
    error_threshold: int
    consecutive_failures: int
    disabled_reason: str
    flow_retries: int
    flow_retry_delay_seconds: int
    api_key_issued_at: datetime | None


class MappingField(BaseModel):
    target: str
    rule: dict[str, Any]
    primary_key: bool


class MappingSet(_In):
    rule: str | dict[str, Any] = Field(description="a source path such as model.name, or a full rule")
    primary_key: bool = False


class SyncKey(_In):
    target: str = Field(max_length=200)


class UpdateTypes(_In):
    types: list[str] = Field(max_length=10)
    deleted_mode: str | None = None


class Alerts(_In):
    add: list[str] = Field(default_factory=list, max_length=100)
    remove: list[str] = Field(default_factory=list, max_length=100)
    threshold: int | None = Field(default=None, ge=-(2**31), le=2**31)


class Schedule(_In):
    cron: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=200)


class Retries(_In):
    retries: int | None = Field(default=None, ge=-(2**31), le=2**31)
    delay_seconds: int | None = Field(default=None, ge=-(2**31), le=2**31)


class ScheduleOut(BaseModel):
    cron: str
    timezone: str
    interval_seconds: int | None = None


class ApiKeyIssued(BaseModel):
    key: str = Field(description="shown only in this answer; the hub keeps its hash")
    issued_at: datetime


class ActionCreate(_In):
    name: str = Field(max_length=200)
    kind: ActionKind = ActionKind.other
    description: str = Field(default="", max_length=2000)


class ActionPublic(BaseModel):
    name: str
    kind: ActionKind
    flow: str | None
    description: str


class RequestCreate(_In):
    action: str = Field(max_length=200)
    record: str | None = Field(default=None, max_length=500, description="the hub record, e.g. its sync key")


class LogPublic(RunCounts):
    id: int
    integration: str
    action: str
    status: ActionStatus
    trigger: Trigger
    record_ref: str | None
    message: str
    flow_run_id: str | None
    attempt: int
    first_trigger: Trigger = Field(description='how the run was first started; `trigger` is "retry" after a retry')
    attempts: list[Attempt] = Field(description="every attempt of the run, oldest first; the last is this log's own")
    history: str = Field(description='"attempt 1 Failed: ...; attempt 2 Completed: ..." for a retried run, '
                                     "else the message")
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class QueuedRequest(BaseModel):
    id: int
    action: str
    kind: ActionKind
    record: str | None
    log_id: int
    created_at: datetime


_Count = Field(default=0, ge=0, le=2**31 - 1)


class Counts(_In):
    pages: int = _Count
    fetched: int = _Count
    inserted: int = _Count
    updated: int = _Count
    unchanged: int = _Count
    rejected: int = _Count
    drifted: int = _Count
    skipped: int = _Count
    deleted: int = _Count
    expected_total: int | None = Field(default=None, ge=0, le=2**31 - 1)


class LogReport(_In):
    """An integration built outside the hub reporting an attempt (a new log)."""

    action: str = Field(max_length=200)
    status: ActionStatus = ActionStatus.in_progress
    record: str | None = Field(default=None, max_length=500)
    message: str | None = Field(default=None, max_length=10_000)
    trigger: Trigger = Trigger.manual
    counts: Counts | None = None


class LogUpdate(_In):
    status: ActionStatus | None = None
    message: str | None = Field(default=None, max_length=10_000)
    counts: Counts | None = None


class Heartbeat(BaseModel):
    integration: str
    last_heartbeat_at: datetime
