"""The error answers of the API, documented: every refusal has the same body, `{"detail": "..."}`,
whether the hub refused the request (a HubError, an HTTPException) or FastAPI's validation did."""

from __future__ import annotations

from typing import Any

from ihub.api.schemas import Problem
from models.errors import Conflict, Forbidden, HubError, Invalid, NotFound

_STATUS = {NotFound: 404, Conflict: 409, Invalid: 422, Forbidden: 403}

_MEANING = {
    401: "No admin token or API key, or an unknown one",
    403: "The caller may not use this route (an integration's key outside /integration, or the admin "
         "token on it), or acts on another integration's log",
    404: "A customer, endpoint, partner, integration, mapped field, action or log named in the request "
         "does not exist",
    409: "The request clashes with what exists: a name already taken, or a thing still in use",
    422: "A value in the request cannot be used: the message names each problem (`body.name: Field required`)",
}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: these statuses, each with the one error body."""
    return {code: {"model": Problem, "description": _MEANING[code]} for code in codes}


def status_for(exc: HubError) -> int:
    """The HTTP status a hub error is answered with (the console's pages answer with the same)."""
    return next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 422)
