"""The operator console: server-rendered pages for the seed screens, served at `/` by the API's app.

Every page calls the same services as the CLI and the REST API (models/), so all three refuse the
same things with the same words. Plain HTML forms (POST, then redirect with a flash message) work
without JavaScript. Operators sign in with the admin token; the session is a signed cookie.

To add a screen: a module with `router = console_router()`, its routes rendering templates with
`pages.render`, and the module listed in `SCREENS` below.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

from ihub.console import (auth, connector, credentials, customers, endpoints, integration_setup, integrations,
                          manager, mapping, partners, run_now, sources, spec_editor, status)

SCREENS = (auth, credentials, customers, endpoints, integration_setup, integrations, manager, mapping, partners,
           sources, status, connector, spec_editor, run_now)
STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve the console from `app`, signed in with the app's admin token (`app.state.admin_token`)."""
    app.add_middleware(SessionMiddleware, secret_key=auth.session_secret(app.state.admin_token),
                       session_cookie=auth.COOKIE, max_age=auth.SESSION_SECONDS, same_site="lax")
    app.mount("/static", StaticFiles(directory=STATIC), name="console-static")
    for screen in SCREENS:
        app.include_router(screen.router)
