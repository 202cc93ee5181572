"""Signing in with the admin token, and signing out.

The session lives in a cookie signed with a key derived from the admin token (HttpOnly,
SameSite=Lax, by Starlette's SessionMiddleware), so changing the token signs every operator out.
It holds whether the operator signed in, the CSRF token and the flash messages; never a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Form, Request

from ihub.api.security import is_admin
from ihub.console.pages import console_router, redirect, render, safe_next

COOKIE = "ihub_console"
SESSION_SECONDS = 12 * 3600

router = console_router(public=True)


def session_secret(admin_token: str) -> str:
    return hmac.new(admin_token.encode(), b"ihub console session", hashlib.sha256).hexdigest()


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = ""):
    return render(request, "sign_in.html", next=safe_next(next), where=_token_location(request), errors={})


@router.post("/sign-in")
def sign_in(request: Request, token: str = Form(""), next: str = Form("")):
    if not token or not is_admin(request, token):
        return render(request, "sign_in.html", 401, next=safe_next(next), where=_token_location(request),
                      errors={"token": "That is not the hub's admin token."})
    request.session.clear()  # a fresh session, and a fresh CSRF token, for the signed-in operator
    request.session.update(operator=True, csrf=secrets.token_urlsafe(32))
    return redirect(safe_next(next))


@router.post("/sign-out")
def sign_out(request: Request):
    request.session.clear()
    return redirect("/sign-in", "Signed out.", request)


def _token_location(request: Request) -> str:
    """Where the operator finds the token (never the token itself)."""
    path = request.app.state.admin_token_file
    if path:
        return f"the file {path} (or IHUB_ADMIN_TOKEN, when set)"
    return "the IHUB_ADMIN_TOKEN the hub was started with"
