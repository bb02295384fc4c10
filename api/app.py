"""Build the FastAPI application around an already-composed pipeline (see ``sebac.engine``)."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routers import alerts, health, orgunits, reports


def create_app(pipeline: Any, settings: Any) -> FastAPI:
    app = FastAPI(title="SEBAC", version="0.1.0",
                  description="Community-based epidemiological surveillance alerting engine")
    app.state.pipeline = pipeline
    app.state.settings = settings
    install_error_handlers(app)
    for r in (reports.router, alerts.router, orgunits.router, health.router):
        app.include_router(r)
    return app
