"""The FastAPI app: routers under /api/v1, the hub's errors as HTTP statuses, the operator console
at `/` (ihub.console, left out of the OpenAPI document), and `serve()`.

Every error answer has one body, `{"detail": "..."}` (schemas.Problem, documented on each
operation through errors.answers): the hub's own errors, HTTPExceptions and validation errors."""

from __future__ import annotations

import signal

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ihub import console
from ihub.api import catalog, connectors, credentials, customers, integrations, logs, phone_home, security
from ihub.api.deps import no_nul_in_url
from ihub.api.errors import status_for
from models.errors import HubError
from models.redact import redact

PREFIX = "/api/v1"


def create_app(admin_token: str | None = None) -> FastAPI:
    """The API; operators authenticate with `admin_token` (default: `IHUB_ADMIN_TOKEN` or the hub's token file)."""
    app = FastAPI(
        title="Integration Hub",
        version="1",
        description="Customers, integration endpoints, partner applications, integrations and the integration "
                    "manager. Operators call it with the admin token; an integration with its own API key may "
                    "only use the /api/v1/integration routes.",
        dependencies=[Depends(no_nul_in_url)],
    )
    token_file = None
    if admin_token is None:
        admin_token, token_file = security.admin_token()
    app.state.admin_token, app.state.admin_token_file = admin_token, token_file
    for module in (customers, catalog, integrations, logs, phone_home, connectors, credentials):
        app.include_router(module.router, prefix=PREFIX)
    console.install(app)
    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    return app


async def _hub_error(_request: Request, exc: HubError) -> JSONResponse:
    return JSONResponse({"detail": redact(str(exc))}, status_code=status_for(exc))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """One readable line per problem: `body.name: Field required`."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        problem = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {problem}" if where else problem)
    return JSONResponse({"detail": redact("; ".join(problems))}, status_code=422)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """FastAPI answers 400 for a body it cannot even decode (not UTF-8): like any unreadable body, a 422."""
    if exc.status_code == 400:
        return JSONResponse({"detail": "body: not JSON text (it is not valid UTF-8)"}, status_code=422)
    return await http_exception_handler(request, exc)


def serve(host: str, port: int) -> None:
    import uvicorn

    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again: with the default handler the
    # process would die there, before `atexit` stops the embedded Prefect server a run or block read started.
    # Installed before the announce below, so that a SIGTERM at any moment after it (before uvicorn has set
    # its own handler, too) exits through `atexit`.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    app = create_app()
    path = app.state.admin_token_file
    where = f"in {path} (or set IHUB_ADMIN_TOKEN)" if path else "IHUB_ADMIN_TOKEN"
    print(f"Integration Hub console on http://{host}:{port}/ (sign in with the admin token); "
          f"REST API on http://{host}:{port}{PREFIX} (docs: http://{host}:{port}/docs); admin token: {where}",
          flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _exit_on_sigterm(signum: int, frame) -> None:
    raise SystemExit(128 + signum)
