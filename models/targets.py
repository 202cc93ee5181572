"""The target objects a connector can write, and the fields a mapping may fill on each."""

from __future__ import annotations

from typing import Literal, get_args

from models.records import Asset, CustomRecord, Person, SyncedRecord

EXTERNAL_ID = "external_id"
"""A mapping target on every object: the vendor's own identifier, kept only as the sync key."""

TargetObject = Literal["asset", "person", "custom"]

TABLES: dict[str, type[SyncedRecord]] = {"asset": Asset, "person": Person, "custom": CustomRecord}

_BOOKKEEPING = set(SyncedRecord.model_fields)


def _field_types(table: type[SyncedRecord]) -> dict[str, type]:
    """Mappable fields and their Python type (the `X` of `X | None`)."""
    return {
        name: next(arg for arg in get_args(info.annotation) if arg is not type(None))
        for name, info in table.model_fields.items()
        if name not in _BOOKKEEPING
    }


FIELD_TYPES: dict[str, dict[str, type] | None] = {
    "asset": _field_types(Asset),
    "person": _field_types(Person),
    "custom": None,  # any field name: the record is stored as a JSON document
}

TARGET_FIELDS: dict[str, tuple[str, ...] | None] = {
    name: tuple(types) if types is not None else None for name, types in FIELD_TYPES.items()
}


