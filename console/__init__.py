"""The alert console: server-rendered pages where officers work their alerts (see docs/console.md)."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    from console.data_routes import router as data_router
    from console.routes import router

    app.include_router(router)
    app.include_router(data_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
