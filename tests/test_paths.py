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


def test_explain_tells_an_absent_value_from_a_changed_shape():
    absent = ["model.colour", "addresses[3].street", "nothing.at.all", "assignee.email"]
    record = {**RECORD, "assignee": None}
    assert [compile_path(path).explain(record) for path in absent] == [None] * 4
    drifted = {"id": 7, "model": "X1", "addresses": {"street": "Main St"}, "odd key": [1], "tags": "a,b",
               "flag": True}
    assert [compile_path(path).explain(drifted) for path in (
        "model.name", "addresses[0].street", "['odd key'].v", "tags[0].n", "id.deeper", "flag.on")] == [
        "expected an object at model, got a string",
        "expected a list at addresses, got an object",
        "expected an object at ['odd key'], got a list",
        "expected a list at tags, got a string",
        "expected an object at id, got a number",
        "expected an object at flag, got a boolean",
    ]


def test_explain_names_the_place_deep_in_the_path_and_the_top_level():
    record = {"a": {"b": [{"c": 5}]}}
    assert compile_path("a.b[0].c.d").explain(record) == "expected an object at a.b[0].c, got a number"
    assert compile_path("$.a.b.c").explain(record) == "expected an object at a.b, got a list"
    assert compile_path("name").explain(["not", "an", "object"]) == "expected an object at the top level, got a list"


def test_explain_takes_rich_expressions_as_absent():
    assert compile_path("tags[*].n").explain({"tags": "a,b"}) is None
