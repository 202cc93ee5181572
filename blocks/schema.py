"""A block class's JSON schema, made once a process.

Prefect makes a block's JSON schema again and again as it saves one: once for every field, to ask
whether it holds a secret, and for the schema and its checksum (about 1 ms of CPU each, ten or so
a save). A class's schema never changes while the process runs, so it is made once, and each
caller gets its own copy to change."""

from __future__ import annotations

import copy
from typing import Any

_MADE: dict[tuple, dict[str, Any]] = {}


def schema_made_once(block_class: type) -> type:
    """Class decorator for a Prefect `Block`: its `model_json_schema` made once for each set of arguments."""
    make = block_class.model_json_schema.__func__

    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        key = (cls, args, tuple(sorted(kwargs.items())))
        schema = _MADE.get(key)
        if schema is None:
            schema = _MADE[key] = make(cls, *args, **kwargs)
        return copy.deepcopy(schema)

    block_class.model_json_schema = classmethod(model_json_schema)
    return block_class
