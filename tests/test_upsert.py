"""Upserts: counts, no duplicates, one transaction a batch; on SQLite and on PostgreSQL."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models.engine import session
from models.records import Asset, CustomRecord
from tasks.upsert import upsert_records


BOUGHT = datetime(2024, 5, 17, 9, 30, tzinfo=timezone.utc)


def rows(*names, prefix="k"):
    return [{"sync_key": f"{prefix}{n}", "name": name, "cost": float(n), "purchased_at": BOUGHT}
            for n, name in enumerate(names)]


def stored(integration_id):
    with session() as db:
        found = db.exec(select(Asset).where(Asset.integration_id == integration_id)).scalars().all()
    assert all(a.purchased_at in (BOUGHT, None) for a in found)  # dates survive the round trip
    return {a.sync_key: a.name for a in found}


def test_counts_inserted_updated_unchanged(integration):
    first = upsert_records.fn(rows("a", "b", "c"), integration.id, "asset")
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)

    again = upsert_records.fn(rows("a", "b", "c"), integration.id, "asset")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)

    changed = upsert_records.fn(rows("a", "B", "c", "d"), integration.id, "asset")
    assert (changed.inserted, changed.updated, changed.unchanged) == (1, 1, 2)
    assert stored(integration.id) == {"k0": "a", "k1": "B", "k2": "c", "k3": "d"}


def test_a_key_twice_in_one_batch_is_stored_once(integration):
    batch = [{"sync_key": "k", "name": "old"}, {"sync_key": "k", "name": "new"}]
    counts = upsert_records.fn(batch, integration.id, "asset")
    assert (counts.inserted, counts.unchanged) == (1, 1)
    assert stored(integration.id) == {"k": "new"}


def test_a_batch_is_committed_whole_or_not_at_all(integration):
    upsert_records.fn(rows("a"), integration.id, "asset")
    broken = rows("A", "b", "c") + [{"sync_key": None, "name": "no key", "cost": 0.0, "purchased_at": None}]
    with pytest.raises(IntegrityError):
        upsert_records.fn(broken, integration.id, "asset")
    assert stored(integration.id) == {"k0": "a"}  # neither the update nor the inserts landed


def test_custom_records_store_their_document(integration):
    batch = [{"sync_key": "L1", "data": {"seats": 10}}]
    assert upsert_records.fn(batch, integration.id, "custom", "licence").inserted == 1
    batch = [{"sync_key": "L1", "data": {"seats": 12}}]
    assert upsert_records.fn(batch, integration.id, "custom", "licence").updated == 1
    with session() as db:
        record = db.exec(select(CustomRecord)).scalars().one()
        assert (record.object_type, record.data) == ("licence", {"seats": 12})
        assert db.exec(select(func.count()).select_from(CustomRecord)).scalar() == 1
