"""A bad connector spec fails at load with a message naming the field and the problem."""

import pytest

from ihub.demo import DEMO_SPEC
from models.spec import ConnectorSpec, OffsetPagination, SpecError


def demo_data(**changes):
    data = ConnectorSpec.from_yaml(DEMO_SPEC).model_dump(mode="json")
    data.update(changes)
    return data


def error_of(data) -> str:
    with pytest.raises(SpecError) as caught:
        ConnectorSpec.parse(data)
    return str(caught.value)


def test_the_shipped_demo_spec_loads():
    spec = ConnectorSpec.from_yaml(DEMO_SPEC)
    assert isinstance(spec.pagination, OffsetPagination)
    assert spec.sync_key == "external_id"
    assert spec.mapping["model"].source == "model.name"  # `field: path` shorthand
    assert spec.schedule.cron == "0 2 * * *"  # daily by default (seed 004)


def test_missing_fields_are_each_named():
    message = error_of({"vendor": "Acme"})
    for field in ("request", "target"):  # no auth: an open API; no mapping yet: set up later, before activating
        assert f"spec: {field}: is required" in message


def test_bad_values_name_their_field():
    data = demo_data()
    data["request"]["base_url"] = "ftp://vendor.example"
    data["pagination"]["limit"] = 0
    message = error_of(data)
    assert "request.base_url: must start with http:// or https://" in message
    assert "pagination.limit: should be greater than 0" in message


def test_unknown_pagination_type_lists_the_known_ones():
    message = error_of(demo_data(pagination={"type": "sideways"}))
    assert "pagination: unknown type 'sideways'" in message and "'offset'" in message


def test_unknown_keys_are_refused_not_ignored():
    data = demo_data()
    data["request"]["urll"] = "typo"
    assert "request.urll: is not a known field" in error_of(data)


def test_sync_key_must_be_a_mapped_field():
    assert "sync_key 'serial' is not a mapped field" in error_of(demo_data(sync_key="serial"))


def test_mapping_targets_must_exist_on_the_target_object():
    data = demo_data()
    data["mapping"]["colour"] = {"source": "colour"}
    message = error_of(data)
    assert "colour is not a field of asset" in message and "serial_number" in message


def test_custom_objects_need_a_type_name_and_accept_any_field():
    data = demo_data(target={"object": "custom"})
    assert "custom objects need a custom_type name" in error_of(data)
    data = demo_data(target={"object": "custom", "custom_type": "licence"})
    data["mapping"]["seats"] = {"source": "seats"}
    assert ConnectorSpec.parse(data).target.custom_type == "licence"


def test_a_rule_needs_exactly_one_of_source_and_constant():
    data = demo_data()
    data["mapping"]["status"] = {"default": "x"}
    assert "mapping.status: give exactly one of source, template and constant" in error_of(data)


def test_a_broken_json_path_is_caught_at_load():
    data = demo_data(records={"path": "$.data[?(@.x =="})
    assert "records.path: '$.data[?(@.x ==' is not a valid JSON path" in error_of(data)


def test_cron_needs_five_fields():
    assert "schedule.cron: 'daily' is not a cron expression: it needs five fields" in error_of(
        demo_data(schedule={"cron": "daily"}))
    assert "schedule.cron: '0 2 * 13 *' is not a valid cron expression: the month field '13' is not in 1-12" in (
        error_of(demo_data(schedule={"cron": "0 2 * 13 *"})))


def test_yaml_problems_are_reported_with_the_file(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        ConnectorSpec.from_yaml(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("vendor: [unclosed\n")
    with pytest.raises(SpecError, match="broken.yaml: not valid YAML"):
        ConnectorSpec.from_yaml(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="a connector spec is a mapping of fields, got list"):
        ConnectorSpec.from_yaml(listed)


def test_mapping_language_errors_name_the_rule():
    data = demo_data()
    data["mapping"]["name"] = {"source": "name", "template": "{a}"}
    assert "mapping.name: give exactly one of source, template and constant (got source and template)" in error_of(data)
    data["mapping"]["name"] = {"template": "no paths"}
    assert "mapping.name.template: a template needs at least one {path}" in error_of(data)
    data["mapping"]["name"] = {"source": "name", "format": "%Y"}
    assert "mapping.name: format is for type datetime or date" in error_of(data)
    data["mapping"]["name"] = {"source": "name", "type": "colour"}
    assert "mapping.name.type: should be 'str', 'int'" in error_of(data)
    data["mapping"]["name"] = {"source": "name", "transforms": ["shout"]}
    assert error_of(data) == ("spec: mapping.name.transforms: unknown transform 'shout'; use lower, upper, strip, "
                              "{map: {...}, default: ...}, {join: separator} or {split: separator}")


def test_http_settings_are_checked():
    assert "http.status_rules: 700 is not an HTTP status" in error_of(demo_data(http={"status_rules": {700: "retry"}}))
    assert "http.status_rules.404: should be 'retry', 'ignore' or 'fail'" in error_of(
        demo_data(http={"status_rules": {404: "shrug"}}))
    assert "http.max_attempts: should be greater than or equal to 1" in error_of(demo_data(http={"max_attempts": 0}))


def test_a_broken_record_filter_is_caught_at_load():
    message = error_of(demo_data(records={"path": "data.assets", "filter": "@.status =="}))
    assert message.startswith("spec: records.filter: '$[?(@.status ==)]' is not a valid JSON path")


def test_the_shipped_demo_specs_name_their_export_action():
    assert ConnectorSpec.from_yaml(DEMO_SPEC).export_action == "Export Asset"
    assert ConnectorSpec.from_yaml(DEMO_SPEC.with_name("demo-vendor-users.yaml")).export_action == "Export Person"
    licence = demo_data(target={"object": "custom", "custom_type": "licence"})
    assert ConnectorSpec.parse(licence).export_action == "Export licence"
    assert ConnectorSpec.parse(demo_data(export=None)).export_action is None


def test_export_path_placeholders_must_be_mapped_fields_or_the_sync_key():
    message = error_of(demo_data(export={"method": "PUT", "path": "/api/v1/assets/{serial}"}))
    assert message.startswith("spec: export.path: {serial} is not a mapped field; use {sync_key} or one of ")
    assert ConnectorSpec.parse(demo_data(export={"method": "PUT", "path": "/assets/{sync_key}"})).export.path
    assert "export.path: write placeholders as {field}, e.g. {external_id}; got {external_id!r}" in error_of(
        demo_data(export={"method": "PUT", "path": "/assets/{external_id!r}"}))


def test_export_method_and_body_path_are_checked():
    assert "export.method: should be 'POST', 'PUT' or 'PATCH'" in error_of(
        demo_data(export={"method": "DELETE", "path": "/assets/{external_id}"}))
    assert "export.path: is required" in error_of(demo_data(export={"method": "PUT"}))
    assert "export.body_path: 'items[*]' is not a path of keys" in error_of(
        demo_data(export={"method": "PUT", "path": "/a/{external_id}", "body_path": "items[*]"}))


def test_export_fields_must_be_mapped_and_reversible():
    users = ConnectorSpec.from_yaml(DEMO_SPEC.with_name("demo-vendor-users.yaml")).model_dump(mode="json")
    users["export"]["fields"] = ["email", "display_name"]
    assert error_of(users) == ("spec: export.fields: 'display_name' cannot be sent back: built from a template")
    users["export"]["fields"] = ["colour"]
    assert "export.fields: 'colour' is not a mapped field; mapped fields are department, display_name" in error_of(users)


def test_two_exported_fields_cannot_write_the_same_place():
    data = demo_data()
    data["mapping"]["location"] = {"source": "model"}  # model.name is written inside it too
    assert "export.fields: 'model' and 'location' would both be written at model; send one of them" in error_of(data)
    data["export"]["fields"] = ["name", "location"]
    assert ConnectorSpec.parse(data).export_fields == ["name", "location"]
