"""Build the FastAPI application around already-composed services (:class:`api.services.Services`,
built by ``sebac.engine``).

Every module of :mod:`api.routers` that exposes ``router`` (an ``APIRouter``) is mounted, so a
capability adds its endpoints by adding a module there. Every request body passes
:class:`api.body_limits.BodyLimits` (size, JSON depth) before a route sees it, and every response
gets the headers of :class:`api.security.SecurityHeaders`.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

import console

import api.routers
from api.body_limits import BodyLimits
from api.errors import install_error_handlers
from api.schemas_ingest import COMPONENTS
from api.security import SecurityHeaders
from api.services import ApiSettings, Services
from ingest.redaction import install_log_redaction


def routers() -> list[Any]:
    found = []
    for info in sorted(pkgutil.iter_modules(api.routers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"api.routers.{info.name}")
        if hasattr(module, "router"):
            found.append(module.router)
    return found


def create_app(services: Services, settings: ApiSettings) -> FastAPI:
    app = FastAPI(title="SEBAC", version="0.1.0",
                  description="Community-based epidemiological surveillance alerting engine",
                  docs_url=None, redoc_url=None)  # /docs: api.routers.docs (no inline script)
    app.state.pipeline = services  # read through api.deps.get_services
    app.state.settings = settings
    install_log_redaction(settings.secret_values() if hasattr(settings, "secret_values") else ())
    install_error_handlers(app)
    app.add_middleware(BodyLimits)  # size and JSON depth of every body, before any route parses it
    app.add_middleware(SecurityHeaders)  # outermost: also on the answers of BodyLimits
    app.add_middleware(GZipMiddleware, minimum_size=1000)  # pages and htmx on 2G
    for router in routers():
        app.include_router(router)
    console.mount(app)
    _with_body_schemas(app)
    return app


def _with_body_schemas(app: FastAPI) -> None:
    """The OpenAPI document also holds the schemas the raw-read request bodies refer to
    (:data:`api.schemas_ingest.COMPONENTS`), which FastAPI cannot see in a route's parameters."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            known = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in COMPONENTS.items():
                known.setdefault(name, schema)
        return app.openapi_schema or doc

    app.openapi = openapi  # type: ignore[method-assign]
