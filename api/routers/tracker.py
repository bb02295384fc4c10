"""``POST /api/tracker``, ``GET /api/tracker/jobs/{id}`` and ``/report``: DHIS2's tracker importer.

Beside SEBAC's ``/api/v1/dhis2/tracker``, the same importer with DHIS2's semantics
(:mod:`ingest.dhis2_tracker`), so middleware that forwards DHIS2 payloads points at SEBAC unchanged:

* credentials as DHIS2 takes them — ``Authorization: Basic`` (a SEBAC user's username and password,
  under the login throttle) or ``Authorization: ApiToken <key>`` (a SEBAC API key ``sbk_…`` or login
  token ``sbt_…`` where DHIS2 takes a personal access token) — and SEBAC's own (``X-API-Key``,
  ``Bearer``);
* ``async=true`` (default) answers at once ``{"status": "OK", "response": {"id", "location"}}``; the
  import runs in this process after the answer and its report is kept in the database, so any
  replica answers ``GET /api/tracker/jobs/{id}`` (the job's log) and ``/report`` (404 until done);
* ``async=false`` answers the import report: HTTP 200, or 409 when its status is ERROR.
"""
from __future__ import annotations

import base64
import binascii
import logging
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from alerts.metrics import observe_auth_denied
from api import login_throttle
from api.auth import (
    KEY_PREFIX,
    TOKEN_PREFIX,
    Principal,
    keys,
    people,
    reporter,
    user_of_token,
)
from api.deps import ServicesDep, get_services
from api.routers._ingest_deps import (
    ChannelsDep,
    SafeJSONResponse,
    read_json_body,
    request_lang,
)
from ingest.contracts import Channel
from ingest.dhis2_jobs import create_job, finish_job, get_job, notifications
from ingest.dhis2_tracker import TrackerParams, import_summary, run_tracker_import
from ingest.errors import DomainError, ErrorDetail
from ingest.messages import translate
from ingest.rejections import content_key, reject_once

router = APIRouter(prefix="/api/tracker", tags=["dhis2"])
log = logging.getLogger("sebac.api.tracker")


def web_message(status: int, message: str, key: str | None = None, **extra: Any) -> dict[str, Any]:
    """DHIS2's WebMessage, with SEBAC's error key beside it (``errorCode``) when it is an error."""
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}.get(status, "")
    return {"httpStatus": reason, "httpStatusCode": status, "status": "OK" if status < 400 else "ERROR",
            "message": message, **({"errorCode": key} if key else {}), **extra}


def _basic(pipeline: Any, header: str, address: str | None) -> Principal:
    try:
        username, _, password = base64.b64decode(header, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        username, password = "", ""
    if not username or not password:
        observe_auth_denied("auth.basic.invalid")
        raise DomainError("auth.basic.invalid", "wrong username or password", status=401)
    now = pipeline.alert_clock.now()
    with pipeline.db.connect() as conn:  # a throttled account is refused before paying for the hash
        early = login_throttle.wait(conn, username, address, now)
    if not early.allowed:
        raise DomainError("auth.login.throttled", "too many failures", status=429,
                          seconds=early.retry_after_seconds)
    with pipeline.db.begin() as conn:  # committed whatever the outcome: a failure must count
        user = people.authenticate(conn, username, password)
        decision = login_throttle.check_and_record(conn, username, address, user is not None, now)
    if user is None or not user.active or not decision.allowed:
        observe_auth_denied("auth.basic.invalid")
        raise DomainError("auth.basic.invalid", "wrong username or password", status=401)
    return Principal(user=user)


def _api_token(pipeline: Any, raw: str) -> Principal:
    if raw.startswith(KEY_PREFIX):
        with pipeline.db.connect() as conn:
            key = keys.verify(conn, raw)
        if key is not None:
            return Principal(api_key=key)
    elif raw.startswith(TOKEN_PREFIX):
        user = user_of_token(pipeline, raw)
        if user is not None:
            return Principal(user=user)
    observe_auth_denied("auth.apikey.invalid")
    raise DomainError("auth.apikey.invalid", "the API key is unknown or revoked", status=401)


async def tracker_principal(request: Request) -> Principal:
    """Basic, ApiToken, or SEBAC's own credentials (:func:`api.auth.reporter`)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    pipeline = get_services(request)
    if scheme.lower() == "basic":
        address = request.client.host if request.client else None
        return await run_in_threadpool(_basic, pipeline, value.strip(), address)  # Argon2 off the loop
    if scheme.lower() == "apitoken":
        return await run_in_threadpool(_api_token, pipeline, value.strip())
    return reporter(request)


TrackerPrincipal = Annotated[Principal, Depends(tracker_principal)]


def _params(request: Request) -> TrackerParams:
    try:
        return TrackerParams.model_validate(dict(request.query_params))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "?"
        allowed = first.get("ctx", {}).get("expected", "") if isinstance(first.get("ctx"), dict) else ""
        raise DomainError("dhis2.param.invalid", f"bad parameter {name}", status=400, name=name,
                          allowed=allowed) from None


def _run_job(pipeline: Any, mapping: Any, body: dict[str, Any], params: TrackerParams, by: str, job_id: str) -> None:
    try:
        report = run_tracker_import(pipeline, mapping, body, params, by)
        failed = False
    except Exception:  # the job must end, whatever broke: the report says so, the log has the trace
        log.exception("tracker import job %s failed", job_id)
        report = import_summary([], params) | {"status": "ERROR", "message": "Import failed (see the server log)"}
        failed = True
    with pipeline.db.begin() as conn:
        finish_job(conn, job_id, report, pipeline.clock.now(), failed=failed)


@router.post("", summary="DHIS2 tracker import (async by default): events as DHIS2's /api/tracker takes them")
async def tracker(request: Request, background: BackgroundTasks, pipeline: ServicesDep, channels: ChannelsDep,
                  who: TrackerPrincipal) -> JSONResponse:
    params = _params(request)
    body = await read_json_body(request, pipeline, Channel.dhis2, request_lang(request))
    if isinstance(body, JSONResponse):
        return body
    if not isinstance(body, dict):
        detail = ErrorDetail("dhis2.payload.invalid", None, {"detail": "expected a JSON object"})
        kept = await run_in_threadpool(reject_once, pipeline, Channel.dhis2, body, [detail],
                                       content_key("dhis2", body))
        return SafeJSONResponse(web_message(400, translate(detail.key, "en", **detail.params), detail.key,
                                            rejected_id=kept.rejected_id), status_code=400)
    mapping = channels.dhis2_mapping
    if not params.run_async:
        report = await run_in_threadpool(run_tracker_import, pipeline, mapping, body, params, who.name)
        return SafeJSONResponse(report, status_code=409 if report["status"] == "ERROR" else 200)
    with pipeline.db.begin() as conn:
        job_id = create_job(conn, params.as_dhis2(), who.name, pipeline.clock.now())
    background.add_task(_run_job, pipeline, mapping, body, params, who.name, job_id)
    location = str(request.url_for("tracker_job", job_id=job_id))
    return JSONResponse(web_message(200, "Tracker job added") | {
        "response": {"id": job_id, "location": location}}, status_code=200)


def _job(pipeline: Any, job_id: str) -> Any:
    with pipeline.db.connect() as conn:
        job = get_job(conn, job_id) if len(job_id) <= 11 else None
    if job is None:
        raise DomainError("dhis2.job.not_found", f"no tracker import job {job_id}", status=404, job_id=job_id)
    return job


@router.get("/jobs/{job_id}", name="tracker_job", summary="The log of a tracker import job (newest first)")
def tracker_job(job_id: str, pipeline: ServicesDep, _who: TrackerPrincipal) -> list[dict[str, Any]]:
    return notifications(_job(pipeline, job_id))


@router.get("/jobs/{job_id}/report", summary="The import report of a finished tracker import job")
def tracker_job_report(job_id: str, pipeline: ServicesDep, _who: TrackerPrincipal) -> JSONResponse:
    job = _job(pipeline, job_id)
    if not job.done:
        return JSONResponse(web_message(404, f"Import report for job {job_id} is not available yet",
                                        "dhis2.job.running", job_id=job_id), status_code=404)
    return SafeJSONResponse(job.report)
