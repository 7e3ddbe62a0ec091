"""The application: the routers, the one guard (:func:`econplan.web.auth.authorize`) on every
route, errors as one readable line (JSON under /api, a page elsewhere), and the worker started
and stopped with the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from econplan.errors import EconomyError
from econplan.execution.access import AccessError
from econplan.execution.monitor import MonitorError
from econplan.execution.store import Store, StoreError
from econplan.reporting.figure import FigureError
from econplan.web import api, pages
from econplan.web.auth import CSRF_FIELD, LoginRequiredError, authorize, logged_in
from econplan.web.context import Context
from econplan.web.render import templates
from econplan.web.worker import Worker

STATIC = Path(__file__).parent / "static"


def create_app(store: Store, job_threads: int = 1) -> FastAPI:
    """The web application on ``store`` (initialised and up to date); ``job_threads=0``
    queues jobs without running them."""
    worker = Worker(store, job_threads)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker.start()
        yield
        worker.stop()

    app = FastAPI(
        title="econplan",
        version="0.1.0",
        description="The plan store and its execution: versions, approval, control figures, "
        "reports, monitoring and jobs. Log in with POST /api/token and send the token as "
        "`Authorization: Bearer TOKEN`.",
        dependencies=[Depends(authorize)],
        lifespan=lifespan,
    )
    app.state.context = Context(store, worker)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _errors(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _error(request: Request, status: int, detail: str, **extra: Any) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": detail, **extra}, status_code=status)
    session = logged_in(request)
    values = {
        "status": status,
        "detail": detail,
        "user": session.user if session else None,  # the page keeps its nav and its user
        "csrf": session.csrf if session else "",
        "csrf_field": CSRF_FIELD,
        **extra,
    }
    return templates.TemplateResponse(request, "error.html", values, status_code=status)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(LoginRequiredError)
    async def login(request: Request, _: LoginRequiredError) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "log in: POST /api/token, then send Authorization: Bearer TOKEN"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, error: StarletteHTTPException) -> Response:
        return _error(request, error.status_code, str(error.detail))

    @app.exception_handler(AccessError)
    async def access(request: Request, error: AccessError) -> Response:
        return _error(request, 403, str(error))

    @app.exception_handler(StoreError)
    async def store(request: Request, error: StoreError) -> Response:
        return _error(request, 409, str(error))

    @app.exception_handler(FigureError)
    @app.exception_handler(MonitorError)
    async def unanswerable(request: Request, error: Exception) -> Response:
        # a figure or monitoring asked of what the plan does not have (a year outside it, a
        # facility without control figures): the request's fault, said in its one line
        listed = {"problems": [str(error)]} if _is_api(request) else {}  # the API's shape
        return _error(request, 422, str(error), **listed)

    @app.exception_handler(EconomyError)
    async def refused(request: Request, error: EconomyError) -> Response:
        problems = [str(p) for p in error.problems]
        return _error(
            request,
            422,
            f"refused: {len(problems)} problem(s); nothing was stored",
            problems=problems,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        # the input is left out: it may hold a password
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()]
        return _error(request, 422, "; ".join(problems), problems=problems)
