"""One place maps domain errors to HTTP: ``{"error": {"key", "message", "errors": [...]}}``."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from alerts.messages import message
from api.lang import request_lang
from ingest.errors import DomainError, ValidationFailed
from ingest.messages import translate


def error_body(key: str, message: str, errors: list[dict] | None = None) -> dict:
    return {"error": {"key": key, "message": message, "errors": errors or []}}


def translated(request: Request, exc: DomainError) -> str:
    """The error's message in the reader's language (:mod:`api.lang`); the English text when the key
    has no translation."""
    return message(exc.key, request_lang(request), exc.message, **exc.params)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ValidationFailed)
    async def _validation(request: Request, exc: ValidationFailed) -> JSONResponse:
        lang = request_lang(request)
        errors = [e.as_dict() | {"message": translate(e.key, lang, **({"field": e.field} | e.params))}
                  for e in exc.errors]
        return JSONResponse(error_body(exc.key, errors[0]["message"] if errors else exc.message, errors),
                            status_code=exc.status)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.key, translated(request, exc)), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = [{"key": "request.invalid", "field": ".".join(map(str, e.get("loc", ()))),
                 "params": {"detail": e.get("msg")}} for e in exc.errors()]
        return JSONResponse(error_body("request.invalid", "invalid request", errs), status_code=422)
