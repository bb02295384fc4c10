"""One place maps domain errors to HTTP: ``{"error": {"key", "message", "errors": [...]}}``."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ingest.errors import DomainError, ValidationFailed
from ingest.validation import errors_from_pydantic


def error_body(key: str, message: str, errors: list[dict] | None = None) -> dict:
    return {"error": {"key": key, "message": message, "errors": errors or []}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ValidationFailed)
    async def _validation(_: Request, exc: ValidationFailed) -> JSONResponse:
        return JSONResponse(error_body(exc.key, exc.message, [e.as_dict() for e in exc.errors]),
                            status_code=exc.status)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.key, exc.message), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = [{"key": "request.invalid", "field": ".".join(map(str, e.get("loc", ()))),
                 "params": {"detail": e.get("msg")}} for e in exc.errors()]
        return JSONResponse(error_body("request.invalid", "invalid request", errs), status_code=422)
