from models.paths import MISSING, compile_path

RECORD = {"id": 7, "model": {"name": "X1"}, "addresses": [{"street": "Main St"}], "odd key": {"v": 1},
          "tags": [{"n": "a"}, {"n": "b"}]}


def test_plain_paths_walk_keys_and_indexes():
    assert compile_path("id").first(RECORD) == 7
    assert compile_path("$.model.name").first(RECORD) == "X1"
    assert compile_path("addresses[0].street").first(RECORD) == "Main St"
    assert compile_path("['odd key'].v").first(RECORD) == 1
    assert compile_path("$").first(RECORD) is RECORD


def test_missing_steps_give_missing_not_an_error():
    assert compile_path("model.colour").first(RECORD) is MISSING
    assert compile_path("addresses[3].street").first(RECORD) is MISSING
    assert compile_path("id.deeper").first(RECORD) is MISSING


def test_rich_expressions_use_jsonpath():
    assert compile_path("tags[*].n").first(RECORD) == "a"
    assert compile_path("$..street").first(RECORD) == "Main St"
