"""The database session each request works in, and the checks every URL passes."""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session

from ihub.api.schemas import NUL_PROBLEM
from models.engine import session


def get_db() -> Iterator[Session]:
    with session() as db:
        yield db


def no_nul_in_url(request: Request) -> None:
    """A NUL in a path or query value would reach a PostgreSQL query as a 500: refuse it as a 422."""
    values = [("path", name, value) for name, value in request.path_params.items()]
    values += [("query", name, value) for name, value in request.query_params.multi_items()]
    problems = [{"loc": (kind, name), "msg": NUL_PROBLEM, "type": "value_error"}
                for kind, name, value in values if isinstance(value, str) and "\x00" in value]
    if problems:
        raise RequestValidationError(problems)


Db = Annotated[Session, Depends(get_db)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
