"""The database session each request works in."""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Path
from sqlmodel import Session

from models.engine import session


def get_db() -> Iterator[Session]:
    with session() as db:
        yield db


Db = Annotated[Session, Depends(get_db)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
