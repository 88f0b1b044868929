"""The ASGI application: `app.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from app.accounts.router import router as accounts_router
from app.audit.router import router as audit_router
from app.core import documents, errors, metrics
from app.core.config import get_settings
from app.core.db import get_engine
from app.core.errors import install_error_handlers, problem
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.openapi import install_openapi
from app.core.storage import get_storage
from app.jobs.local import LocalWorker
from app.matching.router import router as matching_router
from app.mous.router import router as mous_router
from app.notifications.router import router as notifications_router
from app.ops.router import router as ops_router
from app.proposals.router import router as proposals_router
from app.providers.router import router as providers_router
from app.reviews.router import router as reviews_router
from app.rfps.router import router as rfps_router
from app.rfps.templates import all_templates
from app.schools.router import router as schools_router
from app.self_audit.router import router as self_audit_router
from app.web import sessions as web_sessions
from app.web.pages import error_page as web_error_page
from app.web.router import router as web_router

# Sign-in, sign-up, invitation and password pages and endpoints: never cached, even when the
# caller is anonymous (their forms, tokens and answers belong to one person).
PRIVATE_PATHS = (
    "/sign-in",
    "/sign-up",
    "/sign-out",
    "/accept-invite",
    "/forgot-password",
    "/reset-password",
    "/password",
    "/account",
    "/api/v1/auth/",
    "/api/v1/me",
)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # Sync routes run in AnyIO's thread pool; cap it at the connections the pool keeps open,
    # so a burst of requests queues for a thread instead of timing out waiting for a
    # connection. Not at pool plus overflow: at that many threads every request of a burst
    # above the pool's size opened and closed a connection of its own (anonymous RFP reads at
    # 50 connections on PostgreSQL: 259 -> 332 a second). The overflow is the headroom for a
    # thread that briefly holds two connections.
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = settings.db_pool_size
    all_templates()  # a broken template stops the start-up, naming its file
    get_storage().sweep_temporaries()  # uploads cut off by a crashed worker
    metrics.watch_pool(settings.db_pool_size + settings.db_max_overflow)
    # SQLite has no job queue of its own: this process runs the jobs in one thread, so
    # `make run` needs no second process (PostgreSQL deployments run `python -m app worker`).
    worker = LocalWorker() if _runs_jobs_in_process() else None
    if worker is not None:
        worker.start()
    yield
    if worker is not None:
        worker.stop()
    documents.shutdown()
    get_engine().dispose()
    metrics.worker_exited()


def _runs_jobs_in_process() -> bool:
    settings = get_settings()
    if settings.jobs_in_process == "auto":
        # Tests drive the jobs themselves, at the moments they choose.
        return settings.is_sqlite and settings.environment != "test"
    return settings.jobs_in_process == "on"


def create_app() -> FastAPI:
    app = FastAPI(
        title="Lead Partner Pipeline",
        version="1.0.0",
        summary="Selection of school-turnaround Lead Partners, from RFP to MOU.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(
        RequestContextMiddleware,
        session_cookie=web_sessions.COOKIE,
        private_paths=PRIVATE_PATHS,
        public_paths=("/static/",),
    )

    # Requests are matched against routes in order, one pattern at a time: the probes, which
    # orchestrators call every few seconds, and the deadline rush's uploads and submissions
    # come first.
    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz", tags=["operations"], responses={503: {"description": "Database unreachable"}}
    )
    def readyz() -> JSONResponse:
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return problem(503, "The database is unreachable.", slug="service-unavailable")
        return JSONResponse({"status": "ready"})

    app.include_router(ops_router)
    app.include_router(proposals_router)
    app.include_router(accounts_router)
    app.include_router(audit_router)
    app.include_router(rfps_router)
    app.include_router(self_audit_router)
    app.include_router(reviews_router)
    app.include_router(providers_router)
    app.include_router(schools_router)
    app.include_router(matching_router)
    app.include_router(mous_router)
    app.include_router(notifications_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=documents.STATIC_DIR), name="static")
    errors.html_error_renderer = web_error_page

    return app


app = create_app()
