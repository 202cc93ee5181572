"""How every console page is served: the guards (signed in, CSRF), the templates, flash messages,
and a hub error turned into a page in the services' own words.

A screen's module makes its router with `console_router()`: its routes are left out of the API's
OpenAPI document, need a signed-in operator, and refuse a state-changing request without the
session's CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from ihub.api.errors import status_for
from models.errors import HubError
from models.redact import redact

TEMPLATES = Jinja2Templates(env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                                            autoescape=True, trim_blocks=True, lstrip_blocks=True))


def _when(moment: datetime | None) -> str:
    """A stored time (UTC; SQLite gives it back without its zone) as `2026-12-03 11:23 UTC`."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


TEMPLATES.env.filters["when"] = _when
CSRF_FIELD = "csrf_token"
HOME = "/customers"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SECURITY_HEADERS = {
    # Only the console's own stylesheet and scripts; no framing, no form posting elsewhere.
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    pass


class FormRefused(Exception):
    """A state-changing request without the session's CSRF token."""


def signed_in(request: Request) -> None:
    if not request.session.get("operator"):
        raise SignInRequired()


async def csrf_checked(request: Request) -> None:
    if request.method in _SAFE_METHODS:
        return
    sent = (await request.form()).get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and expected and hmac.compare_digest(sent.encode(), expected.encode())):
        raise FormRefused("This form did not come from this console session (its security token is missing or "
                          "out of date). Go back, reload the page and try again.")


def csrf_token(request: Request) -> str:
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


def flash(request: Request, message: str) -> None:
    """A success message shown once, on the next page rendered (after the redirect)."""
    request.session["flash"] = [*request.session.get("flash", []), message]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.update(csrf_token=csrf_token(request), flashes=request.session.pop("flash", []),
                   signed_in=bool(request.session.get("operator")), path=request.url.path)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def redirect(url: str, message: str | None = None, request: Request | None = None) -> RedirectResponse:
    """POST, then redirect (303) to `url`, with a flash message."""
    if message and request is not None:
        flash(request, message)
    return RedirectResponse(url, status_code=303)


def said(exc: HubError) -> str:
    """A refusal in the service's own words, redacted as the API's are."""
    return redact(str(exc))


def form_errors(exc: HubError) -> tuple[dict[str, str], str | None]:
    """A refusal as (problem per field, the message for the form's top when no field is named)."""
    fields = {name: redact(problem) for name, problem in exc.fields.items()}
    return fields, None if fields else said(exc)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this console only, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def _sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/sign-in?next=" + quote(target if request.method in _SAFE_METHODS else HOME, safe="")


class ConsoleRoute(APIRoute):
    """A console route: sign-in redirects, refused forms and hub errors become pages, and every
    answer carries the console's security headers."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = RedirectResponse(_sign_in_url(request), status_code=303)
            except FormRefused as exc:
                response = render(request, "error.html", 403, title="Form refused", message=str(exc))
            except HubError as exc:
                response = render(request, "error.html", status_for(exc), title="Not possible", message=said(exc))
            response.headers.update(SECURITY_HEADERS)
            return response

        return handle


def console_router(public: bool = False) -> APIRouter:
    """A router for console pages; `public` ones (sign-in) skip the signed-in check, never the CSRF check."""
    guards = [Depends(csrf_checked)] if public else [Depends(signed_in), Depends(csrf_checked)]
    return APIRouter(include_in_schema=False, route_class=ConsoleRoute, dependencies=guards)


def console_path(value: str) -> bool:
    """Whether `value` is a path of this console (so safe to redirect to): no scheme, no host, no `//`,
    no backslash, no control characters or spaces."""
    parts = urlsplit(value)
    return (value.startswith("/") and not value.startswith("//") and "\\" not in value and not parts.scheme
            and not parts.netloc and not any(ord(c) < 33 or c == "\x7f" for c in value))
