"""Editing an integration's field mapping (seed 002's field assignment), one target field at a time.

Each change is checked by rebuilding the whole connector spec, so a rule is refused with the
same message a spec file would get.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlmodel import Session, select

from models.config import FieldMapping, Integration, IntegrationEndpoint, IntegrationStatus
from models.errors import Invalid, NotFound
from models.integrations import integration_ref
from models.spec import ConnectorSpec, SpecError, template_paths
from models.suggest import did_you_mean
from models.targets import EXTERNAL_ID, TARGET_FIELDS


def mapping_rows(db: Session, integration: Integration) -> list[FieldMapping]:
    _needs_mapping(db, integration)
    return list(db.exec(select(FieldMapping).where(FieldMapping.integration_id == integration.id)
                        .order_by(FieldMapping.id)))


def hub_fields(db: Session, integration: Integration) -> list[str] | None:
    """The fields the integration's target object has (the sync key's `external_id` first); None: any name."""
    _needs_mapping(db, integration)
    allowed = TARGET_FIELDS[(integration.spec.get("target") or {}).get("object", "asset")]
    return None if allowed is None else [EXTERNAL_ID, *allowed]


def vendor_fields(db: Session, integration: Integration) -> list[str]:
    """The vendor's field paths the hub knows for this integration: its partner data type's mapping and its own."""
    rules = [row.rule for row in mapping_rows(db, integration)]
    if integration.data_type:
        from models.partners import PartnerError, get_partner

        endpoint = db.get(IntegrationEndpoint, integration.endpoint_id)
        try:
            found = get_partner(endpoint.partner).data_types.get(integration.data_type)
        except PartnerError:  # a partner no longer in the catalog
            found = None
        if found is not None:
            rules += [rule.model_dump(exclude_defaults=True) for rule in found.mapping.values()]
    paths = []
    for rule in rules:
        paths += [rule["source"]] if rule.get("source") else template_paths(rule.get("template") or "")
    return sorted(set(paths), key=str.lower)


def set_field(db: Session, integration: Integration, target: str, rule: str | dict[str, Any],
              primary_key: bool = False) -> FieldMapping:
    """Fill `target` from a source path (`model.name`) or a full rule; `primary_key` makes it the sync key."""
    rows = {row.target_field: row for row in mapping_rows(db, integration)}
    rule = {"source": rule} if isinstance(rule, str) else rule
    sync_key = target if primary_key else next((t for t, row in rows.items() if row.is_sync_key), None)
    spec = _check(db, integration, {**{t: row.rule for t, row in rows.items()}, target: rule}, sync_key)
    row = rows.get(target) or FieldMapping(integration_id=integration.id, target_field=target, rule={})
    row.rule = spec.mapping[target].model_dump(mode="json", exclude_defaults=True)
    if primary_key:
        for other in rows.values():
            other.is_sync_key = False
            db.add(other)
    row.is_sync_key = target == sync_key
    db.add(row)
    db.commit()
    return row


def set_sync_key(db: Session, integration: Integration, target: str) -> FieldMapping:
    rows = {row.target_field: row for row in mapping_rows(db, integration)}
    if target not in rows:
        raise Invalid(f"{target!r} is not mapped in {integration_ref(db, integration)}{did_you_mean(target, rows)}; "
                      f"map it first. Mapped fields: {', '.join(rows)}")
    for row in rows.values():
        row.is_sync_key = row.target_field == target
        db.add(row)
    db.commit()
    return rows[target]


def remove_field(db: Session, integration: Integration, target: str) -> str:
    """Stop filling `target`; returns what happened, in words for the operator (the CLI's and the API's)."""
    ref = integration_ref(db, integration)
    rows = {row.target_field: row for row in mapping_rows(db, integration)}
    row = rows.get(target)
    if row is None:
        raise NotFound(f"{target!r} is not mapped in {ref}{did_you_mean(target, rows)}")
    if len(rows) == 1:
        raise Invalid(f"{target!r} is the only mapped field of {ref}; a mapping needs at least one")
    if row.is_sync_key and integration.status == IntegrationStatus.active:
        raise Invalid(f"{target!r} is the primary (sync) key of {ref}, which is active; "
                      "mark another field as the key first, or deactivate the integration")
    db.delete(row)
    db.commit()
    if row.is_sync_key:
        return (f"{target} is no longer mapped in {ref}. It was the primary (sync) key: {ref} has none now, and "
                f"activating it needs one: `ihub mapping key {ref} FIELD`.")
    return f"{target} is no longer mapped in {ref}."


def _check(db: Session, integration: Integration, mapping: dict, sync_key: str | None) -> ConnectorSpec:
    data = {**integration.spec, "mapping": mapping, "sync_key": sync_key}
    try:
        return ConnectorSpec.parse(data, source="")  # each problem names its field: mapping.x, sync_key
    except SpecError as exc:
        raise Invalid(str(exc)) from None


def _needs_mapping(db: Session, integration: Integration) -> None:
    if integration.spec is None:
        raise Invalid(f"{integration_ref(db, integration)} is built outside the hub: it has no mapping here")



def read_transforms(text: str) -> list:
    """Transforms written as in a spec, comma-separated: `strip, lower, {split: ","}` (checked with the rule)."""
    if not text.strip():
        return []
    try:
        found = yaml.safe_load(f"[{text}]")
    except yaml.YAMLError:
        raise Invalid(f"transforms {text!r} cannot be read; write them as in a spec, separated by commas, "
                      "e.g. strip, lower, {split: ','}") from None
    return found
