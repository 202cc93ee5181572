"""Who is calling: an operator with the admin token, or an integration with its own API key.

An integration's key opens only the `/integration` routes (heartbeat, its action logs, its queued
requests), so integrations built outside the hub can phone home (seed 003) and nothing more.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from ihub.api.deps import get_db
from ihub.settings import private_file, write_private
from models.api_keys import integration_for_key
from models.config import Integration
from models.engine import hub_home

bearer = HTTPBearer(auto_error=False, description="The admin token, or an integration's API key")


def admin_token() -> tuple[str, Path | None]:
    """`IHUB_ADMIN_TOKEN`, else a token generated once into the hub's home (returned with its file)."""
    token = os.environ.get("IHUB_ADMIN_TOKEN")
    if token:
        return token, None
    path = hub_home() / "admin-token"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32))
    return private_file(path).read_text().strip(), path


def _unauthorized() -> HTTPException:
    return HTTPException(401, "send the admin token or an integration's API key as `Authorization: Bearer ...`",
                         headers={"WWW-Authenticate": "Bearer"})


def is_admin(request: Request, token: str) -> bool:
    """Whether `token` is the admin token (compared in constant time)."""
    return hmac.compare_digest(token.encode(), request.app.state.admin_token.encode())


def operator(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
             db: Session = Depends(get_db)) -> None:
    if credentials is None:
        raise _unauthorized()
    if is_admin(request, credentials.credentials):
        return
    if integration_for_key(db, credentials.credentials) is not None:
        raise HTTPException(403, "an integration's API key may only post heartbeats and action logs and read "
                                 "its own queued requests (the /api/v1/integration routes)")
    raise _unauthorized()


def integration_caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                       db: Session = Depends(get_db)) -> Integration:
    if credentials is None:
        raise _unauthorized()
    found = integration_for_key(db, credentials.credentials)
    if found is not None:
        return found
    if is_admin(request, credentials.credentials):
        raise HTTPException(403, "the /api/v1/integration routes act as one integration: use its API key")
    raise _unauthorized()
