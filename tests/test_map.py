"""Mapping vendor records onto hub objects: pure, per record, rejecting what cannot be mapped."""

from datetime import datetime, timezone

from ihub.demo import DEMO_SPEC, demo_spec
from ihub.vendor import make_assets, make_users
from models.spec import ConnectorSpec
from tasks.map import RecordMapper
from tasks.map_records import map_records

SPEC = ConnectorSpec.from_yaml(DEMO_SPEC)


def spec_with(**changes) -> ConnectorSpec:
    return demo_spec(SPEC.request.base_url, **changes)


def test_demo_assets_map_onto_asset_fields():
    record = make_assets(1, make_users(3))[0]
    batch = map_records.fn([record], SPEC)
    assert batch.rejected == []
    row = batch.rows[0]
    assert row["sync_key"] == str(record["id"])
    assert "external_id" not in row  # the vendor id is kept as the sync key only
    assert row["model"] == record["model"]["name"]
    assert row["manufacturer"] == record["model"]["manufacturer"]
    assert row["cost"] == record["purchase"]["cost"]
    assert row["purchased_at"] == datetime.fromisoformat(record["purchase"]["date"]).replace(tzinfo=timezone.utc)
    assert row["assigned_to"] == (record["assignee"] or {}).get("email")


def test_values_are_coerced_to_the_target_types():
    row = map_records.fn([{"id": 5, "name": 123, "purchase": {"cost": "99.5", "date": 0}}], SPEC).rows[0]
    assert row["name"] == "123" and row["cost"] == 99.5
    assert row["purchased_at"] == datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_unmappable_records_are_rejected_with_reason_and_key_and_the_rest_go_on():
    records = [
        {"id": 1, "name": "ok"},
        {"name": "no id"},
        {"id": 3, "purchase": {"cost": "a lot"}},
        {"id": 4, "name": {"nested": "object"}},
        "not an object",
    ]
    batch = map_records.fn(records, SPEC)
    assert [row["sync_key"] for row in batch.rows] == ["1"]
    assert [(r.sync_key, r.reason, r.drift) for r in batch.rejected] == [
        (None, "no sync key: 'external_id' (from id) is empty", False),
        ("3", "field 'cost': expected a number, got 'a lot'", False),
        ("4", "name: expected text, got an object", True),
        (None, "a record must be a JSON object, got str", False),
    ]
    assert batch.drift == {"name: expected text, got an object": 1}


def test_constants_defaults_and_required_fields():
    mapping = {"external_id": "id", "status": {"constant": "imported"},
               "location": {"source": "site", "default": "unknown"},
               "name": {"source": "name", "required": True}}
    mapper = RecordMapper(spec_with(mapping=mapping))
    batch = mapper.map([{"id": 1, "name": "n"}, {"id": 2}])
    assert batch.rows == [{"sync_key": "1", "status": "imported", "location": "unknown", "name": "n"}]
    assert batch.rejected[0].sync_key == "2"
    assert "required field 'name' is missing" in batch.rejected[0].reason


def test_custom_objects_keep_the_mapped_document():
    spec = spec_with(target={"object": "custom", "custom_type": "licence"},
                     mapping={"external_id": "id", "seats": "seats", "vendor": "meta.vendor"})
    rows = map_records.fn([{"id": "L1", "seats": 10, "meta": {"vendor": "Acme"}}], spec).rows
    assert rows == [{"sync_key": "L1", "data": {"seats": 10, "vendor": "Acme"}}]


def person_spec(**mapping):
    return demo_spec(SPEC.request.base_url, target={"object": "person"},
                     mapping={"external_id": "id", **mapping})


def test_transforms_run_in_order_before_the_type():
    spec = person_spec(
        email={"source": "email", "transforms": ["strip", "lower"]},
        status={"source": "state", "transforms": [{"map": {"A": "active", "S": "suspended"}, "default": "other"}]},
        department={"source": "teams", "transforms": [{"join": " / "}]},
        title={"source": "roles", "transforms": [{"split": ","}, {"join": "+"}]},
    )
    record = {"id": 1, "email": "  Ada@Example.COM ", "state": "S", "teams": ["Eng", "Ops"], "roles": "a, b,,c"}
    row = map_records.fn([record], spec).rows[0]
    assert (row["email"], row["status"], row["department"], row["title"]) == (
        "ada@example.com", "suspended", "Eng / Ops", "a+b+c")
    assert map_records.fn([{**record, "state": "X"}], spec).rows[0]["status"] == "other"


def test_templates_concatenate_paths():
    spec = person_spec(display_name={"template": "{name.first} {name.last}"})
    rows = map_records.fn([{"id": 1, "name": {"first": "Ada", "last": "Lovelace"}},
                           {"id": 2, "name": {"first": "Cher"}}, {"id": 3}], spec).rows
    assert [r["display_name"] for r in rows] == ["Ada Lovelace", "Cher", None]


def test_explicit_types_with_formats():
    custom = demo_spec(SPEC.request.base_url, target={"object": "custom", "custom_type": "licence"}, mapping={
        "external_id": "id",
        "seats": {"source": "seats", "type": "int"},
        "price": {"source": "price", "type": "decimal"},
        "active": {"source": "active", "type": "bool"},
        "renews": {"source": "renews", "type": "date", "format": "%d/%m/%Y"},
        "seen": {"source": "seen", "type": "datetime"},
    })
    record = {"id": "L1", "seats": "12", "price": "19.90", "active": "yes", "renews": "31/01/2027",
              "seen": "2026-11-01T10:00:00Z"}
    assert map_records.fn([record], custom).rows[0]["data"] == {
        "seats": 12, "price": "19.90", "active": True, "renews": "2027-01-31", "seen": "2026-11-01T10:00:00+00:00"}
    bad = map_records.fn([{**record, "seats": "12.5"}, {**record, "active": "maybe"},
                          {**record, "renews": "2027-01-31"}], custom).rejected
    assert [r.reason for r in bad] == [
        "field 'seats': expected a whole number, got '12.5'",
        "field 'active': expected true or false, got 'maybe'",
        "field 'renews': expected a date like '%d/%m/%Y', got '2027-01-31'",
    ]


def test_a_formatted_date_fills_a_datetime_column():
    spec = spec_with(mapping={"external_id": "id", "purchased_at": {"source": "bought", "type": "date",
                                                                     "format": "%m/%d/%Y"}})
    row = map_records.fn([{"id": 1, "bought": "12/25/2023"}], spec).rows[0]
    assert row["purchased_at"] == datetime(2023, 12, 25, tzinfo=timezone.utc)


def test_a_mapped_path_whose_shape_changed_is_drift_and_an_absent_one_is_none():
    good = make_assets(1, make_users(3))[0]
    records = [
        {**good, "id": 1, "model": "Latitude 5420"},          # an object became text
        {**good, "id": 2, "model": ["Latitude", "Dell"]},     # ... or a list
        {**good, "id": 3, "model": {"manufacturer": "Dell"}},  # model.name removed: absent
        {**good, "id": 4, "assignee": None},                   # a null on the way: absent
        {**good, "id": 5, "location": {"site": {"building": "B2"}}},  # a text leaf became an object
        {**good, "id": 6, "purchase": {"date": "2024-01-01", "cost": [10, 20]}},  # a number leaf became a list
        {**good, "id": 7, "purchase": {"date": "not a date", "cost": 1}},          # a bad value, not drift
    ]
    batch = map_records.fn(records, SPEC)
    rows = {row["sync_key"]: row for row in batch.rows}
    assert sorted(rows) == ["3", "4"]
    assert rows["3"]["model"] is None and rows["3"]["manufacturer"] == "Dell"
    assert rows["4"]["assigned_to"] is None
    assert [(r.sync_key, r.reason, r.drift) for r in batch.rejected] == [
        ("1", "model.name: expected an object at model, got a string", True),
        ("2", "model.name: expected an object at model, got a list", True),
        ("5", "location.site: expected text, got an object", True),
        ("6", "purchase.cost: expected a number, got a list", True),
        ("7", "field 'purchased_at': expected an ISO 8601 date, got 'not a date'", False),
    ]
    assert batch.drift == {
        "model.name: expected an object at model, got a string": 1,
        "model.name: expected an object at model, got a list": 1,
        "location.site: expected text, got an object": 1,
        "purchase.cost: expected a number, got a list": 1,
    }


def test_drift_is_counted_per_reason_without_the_record():
    records = [{"id": n, "model": "flat"} for n in range(1, 501)] + [{"id": 501, "model": {"name": "ok"}}]
    batch = map_records.fn(records, SPEC)
    assert len(batch.rows) == 1 and len(batch.rejected) == 500
    assert batch.drift == {"model.name: expected an object at model, got a string": 500}


def test_drift_rejects_even_with_a_default_and_absence_honours_required():
    spec = spec_with(mapping={"external_id": "id", "model": {"source": "model.name", "default": "unknown"},
                              "name": {"source": "name", "required": True}})
    batch = map_records.fn([{"id": 1, "name": "a", "model": "flat"}, {"id": 2, "name": "b"}, {"id": 3}], spec)
    assert batch.rows == [{"sync_key": "2", "model": "unknown", "name": "b"}]
    assert [(r.sync_key, r.drift) for r in batch.rejected] == [("1", True), ("3", False)]
    assert "required field 'name' is missing" in batch.rejected[1].reason


def test_drift_in_templates_typed_values_transforms_and_the_sync_key():
    spec = person_spec(display_name={"template": "{name.first} {name.last}"}, email={"source": "email",
                       "transforms": ["lower"]})
    batch = map_records.fn([{"id": 1, "name": "Ada Lovelace"}, {"id": 2, "email": {"work": "a@b.c"}},
                            {"id": {"value": 3}}], spec)
    assert [(r.sync_key, r.reason, r.drift) for r in batch.rejected] == [
        ("1", "name.first: expected an object at name, got a string", True),
        ("2", "email: expected text for lower, got an object", True),
        (None, "id: expected text, got an object", True),
    ]
    custom = demo_spec(SPEC.request.base_url, target={"object": "custom", "custom_type": "licence"}, mapping={
        "external_id": "id", "seats": {"source": "seats", "type": "int"}, "meta": "meta"})
    batch = map_records.fn([{"id": "L1", "seats": {"n": 3}}, {"id": "L2", "seats": 2, "meta": {"any": ["shape"]}}],
                           custom)
    assert [(r.reason, r.drift) for r in batch.rejected] == [("seats: expected a number, got an object", True)]
    assert batch.rows == [{"sync_key": "L2", "data": {"seats": 2, "meta": {"any": ["shape"]}}}]


def test_the_mapping_written_for_the_spec_agrees_with_the_rule_interpreter():
    """Records of the expected shape take the function written for the spec; every other record is
    mapped by the interpreter. Either way a record maps to the same row or rejection."""
    spec = person_spec(email={"source": "contact.email", "transforms": ["lower"], "required": True},
                       first_name={"source": "name.first", "default": "?"}, department={"constant": "IT"},
                       display_name={"template": "{name.first} {name.last}"}, title="roles[0]",
                       phone={"source": "contact.phone"}, status="active", manager_email="manager.email")
    records = [
        {"id": 1, "contact": {"email": "A@X.COM", "phone": 5551234}, "name": {"first": "Ada", "last": "L"},
         "roles": ["CTO"], "active": True},
        {"id": "2", "contact": {"email": "b@x.com", "phone": None}, "name": {"first": "B", "last": None},
         "roles": ["y"]},
        {"id": 3, "contact": {"email": "c@x.com"}, "name": {"first": None, "last": "C"}, "roles": ["z"], "manager": None},
        {"id": 31, "contact": {"email": "d@x.com"}, "name": None, "roles": []},  # nothing for the template, nor roles[0]
        {"id": 4, "contact": None},  # no email: required
        {"id": 5, "contact": "c@x.com"},  # drift: text where an object was
        {"id": 6, "contact": {"email": ["list"]}},
        {"id": True, "contact": {"email": "e@x.com"}, "active": {"nested": 1}},
        {"id": "", "contact": {"email": "f@x.com"}},
        [1, 2],
    ]
    mapper = RecordMapper(spec)
    assert [mapper._fast_row(record) is not None for record in records[:5]] == [True, True, True, False, False]
    both = mapper.map(records)
    mapper._fast_row = lambda record: None  # noqa: E731 - every record through the interpreter
    interpreted = mapper.map(records)
    assert both.rows == interpreted.rows and len(both.rows) == 4
    assert [(r.sync_key, r.reason, r.drift) for r in both.rejected] == [
        (r.sync_key, r.reason, r.drift) for r in interpreted.rejected]
    assert both.drift == interpreted.drift
