"""Replacing an integration's connector spec in place (`ihub integrations edit`, `PUT …/spec`, the console).

The new spec is validated whole by the caller (`ConnectorSpec.parse`/`from_yaml`) before this
runs. What an integration has gathered stays: its synced records, action logs, incremental sync
state, schedule (unless the new spec sets one), status and API key. The mapping, actions and
everything else of the spec follow the new one.

A new sync key (or a new source for it) or a new target object changes which stored record a
vendor record is: the stored ones could never be matched again. That is refused while records
are stored, unless forced, and forcing it deletes them and the sync state so the next sync reads
everything anew; the refusal says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, func, select

from models.config import Customer, Integration, IntegrationEndpoint, IntegrationStatus
from models.errors import Conflict, Invalid
from models.integrations import connector_spec, integration_ref, save_integration
from models.schedules import schedule_of
from models.spec import ConnectorSpec, ScheduleSpec, SpecError
from models.targets import TABLES


@dataclass
class SpecEdit:
    """What an edit did, for the operator: one line per change that matters."""

    ref: str
    changes: list[str] = field(default_factory=list)
    records_kept: int = 0
    records_deleted: int = 0
    schedule_kept: bool = True

    def summary(self) -> str:
        done = [f"spec of {self.ref} replaced"]
        if self.records_deleted:
            done.append(f"{self.records_deleted} stored records and the incremental sync state deleted: "
                        "the next sync reads everything anew")
        else:
            done.append(f"{self.records_kept} stored records, the action logs, the sync state and the API key kept")
        done.append("schedule kept" if self.schedule_kept else "schedule taken from the new spec")
        return "; ".join(done)


def edit_spec(db: Session, integration: Integration, spec: ConnectorSpec, force: bool = False) -> SpecEdit:
    """Replace the spec of `integration` with `spec` (already validated); see the module's docstring."""
    ref = integration_ref(db, integration)
    if integration.spec is None:
        raise Invalid(f"{ref} is built outside the hub: it has no spec here")
    if spec.sync_key is None and integration.status == IntegrationStatus.active:
        raise Invalid(f"the new spec of {ref} has no sync_key, and an Active integration needs its primary key: "
                      f"add sync_key to the spec, or deactivate {ref} first")
    try:
        current = connector_spec(db, integration)
    except SpecError:  # a stored spec no longer valid (the hub changed): only the new one counts
        current = None
    edit = SpecEdit(ref, changes=_identity_changes(current, spec) if current else [])
    stored = _stored_records(db, integration)
    if edit.changes and stored and not force:
        what = current.target.object if current else "stored"
        raise Conflict(
            f"the new spec of {ref} changes {' and '.join(edit.changes)}: the {stored} {what} records stored "
            f"could not be matched to the vendor's again, and the next sync would store every record a second time "
            f"beside them. Force the edit to delete the {stored} stored records and the incremental sync state "
            f"(the next sync then reads everything anew); nothing was changed")
    if edit.changes and stored:
        for table in TABLES.values():
            for row in db.exec(select(table).where(table.integration_id == integration.id)):
                db.delete(row)
        integration.sync_state = None
        edit.records_deleted = stored
    else:
        edit.records_kept = stored
    kept = ScheduleSpec.model_validate(schedule_of(integration))
    if "schedule" not in spec.model_fields_set:
        spec = spec.model_copy(update={"schedule": kept})
    edit.schedule_kept = spec.schedule == kept  # a spec that repeats the schedule in force keeps it too
    customer = db.get(Customer, integration.customer_id)
    endpoint = db.get(IntegrationEndpoint, integration.endpoint_id)
    save_integration(db, customer, endpoint, integration.name, spec)  # one commit, the deletions included
    return edit


def _identity_changes(current: ConnectorSpec, new: ConnectorSpec) -> list[str]:
    """What in the new spec changes which stored record a vendor record is."""
    changes = []
    if current.sync_key != new.sync_key:
        changes.append(f"the sync key ({current.sync_key or 'none'} -> {new.sync_key or 'none'})")
    elif current.sync_key is not None and current.mapping[current.sync_key] != new.mapping[new.sync_key]:
        changes.append(f"where the sync key {new.sync_key} comes from")
    if current.target != new.target:
        changes.append(f"the target object ({_target(current)} -> {_target(new)})")
    return changes


def _target(spec: ConnectorSpec) -> str:
    return spec.target.custom_type if spec.target.object == "custom" else spec.target.object


def _stored_records(db: Session, integration: Integration) -> int:
    return sum(db.exec(select(func.count()).select_from(table).where(table.integration_id == integration.id)).one()
               for table in TABLES.values())
