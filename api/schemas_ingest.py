"""Models of the ingest side of the API: reports, DHIS2 tracker import, SMS webhooks, uploads, rejected
items, quality (see :mod:`api.schemas` for the conventions).

The ingest routes read their bodies raw — malformed JSON, invalid UTF-8 and oversized bodies are kept
as rejected items before a 4xx — so their request bodies are declared here with :func:`body` (an
``openapi_extra``) rather than as parameters FastAPI would parse and refuse on its own.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from api.schemas import ErrorItem, Out
from ingest.contracts import ReportIn


COMPONENTS: dict[str, Any] = {}  # schemas the bodies below refer to; merged by api.app into the document


def schema_of(model: Any) -> dict[str, Any]:
    """A type's JSON schema whose references point into the document's components."""
    if isinstance(model, dict):
        return model
    out = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
    COMPONENTS.update(out.pop("$defs", {}))
    return out


def body(*contents: tuple[str, Any], required: bool = True, description: str = "") -> dict[str, Any]:
    """``openapi_extra`` declaring a request body read raw: (media type, model / JSON schema) pairs."""
    schema = schema_of

    return {"requestBody": {"required": required, "description": description,
                            "content": {media: {"schema": schema(m)} for media, m in contents}}}


# -- reports -----------------------------------------------------------------------------------------

class ReportResult(Out):
    index: int | None = Field(default=None, description="position in the batch (batches only)")
    status: str = Field(description="accepted | duplicate | rejected")
    report_id: str | None = None
    idempotency_key: str | None = None
    errors: list[ErrorItem] | None = None
    rejected_id: str | None = None
    alert_ids: list[int] | None = None
    late: bool | None = None
    possible_duplicate_of: str | None = None


class BatchSummary(Out):
    accepted: int
    duplicate: int
    rejected: int
    total: int


class BatchOut(Out):
    results: list[ReportResult]
    summary: BatchSummary


REPORT_BODY = schema_of(ReportIn | list[ReportIn])


class PossibleDuplicate(Out):
    report_id: str
    duplicate_of: str
    district_id: str
    detected_at: str
    status: str
    channels: list[str]
    cross_channel: bool
    orgunit_id: str
    disease: str
    onset_date: str
    cases: int


class PossibleDuplicatesOut(Out):
    items: list[PossibleDuplicate]
    limit: int
    offset: int


class DuplicateDecisionOut(Out):
    report_id: str
    duplicate_of: str
    status: str


# -- DHIS2 -------------------------------------------------------------------------------------------

class Dhis2DataValue(BaseModel):
    dataElement: str  # noqa: N815 - DHIS2's field names
    value: Any = None


class Dhis2Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    event: str | None = None
    program: str | None = None
    programStage: str | None = None  # noqa: N815
    orgUnit: str | None = None  # noqa: N815
    occurredAt: str | None = None  # noqa: N815
    eventDate: str | None = None  # noqa: N815
    status: str | None = None
    dataValues: list[Dhis2DataValue] = Field(default_factory=list)  # noqa: N815


class Dhis2TrackerIn(BaseModel):
    """``POST /api/v1/tracker``'s body as DHIS2 2.36+ documents it (events only)."""

    events: list[Dhis2Event]


class Dhis2Stats(Out):
    created: int
    updated: int
    deleted: int
    ignored: int
    total: int


class Dhis2ImportReport(Out):
    status: str = Field(description="OK | WARNING | ERROR")
    stats: Dhis2Stats
    validationReport: dict[str, list[dict[str, Any]]]  # noqa: N815 - errorReports, warningReports
    bundleReport: dict[str, Any]  # noqa: N815


class MappingOut(Out):
    pass


# -- SMS webhooks ------------------------------------------------------------------------------------

class TelerivetIn(BaseModel):
    """Telerivet's webhook fields (form-encoded); ``secret`` is the webhook secret."""

    event: str = "incoming_message"
    secret: str
    id: str | None = None
    content: str | None = None
    from_number: str | None = None
    from_number_e164: str | None = None
    time_created: int | None = None


class TelerivetMessage(BaseModel):
    content: str


class TelerivetOut(Out):
    messages: list[TelerivetMessage]


class RapidProIn(BaseModel):
    """A RapidPro/TextIt flow webhook's body (``@json`` of the run); the secret is the
    ``Authorization: Token …`` or ``X-Sebac-Secret`` header."""

    model_config = ConfigDict(extra="allow")

    contact: dict[str, Any] | None = None
    flow: dict[str, Any] | None = None
    input: dict[str, Any] | None = None
    results: dict[str, Any] | None = None
    run: dict[str, Any] | None = None


class GenericSmsIn(BaseModel):
    """The generic gateway: JSON or form (``from``, ``text``, ``id``, ``sent_at``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: str = Field(alias="from")
    text: str
    id: str | None = None
    sent_at: str | None = None
    secret: str | None = Field(default=None, description="or the X-Sebac-Secret / Authorization header")


class SmsReplyOut(Out):
    reply: str | None = Field(description="the SMS to send back to the CHW")
    status: str
    lang: str | None = None
    report_id: str | None = None
    rejected_id: str | None = None
    late: bool | None = None
    alert_ids: list[int] | None = None
    errors: list[dict[str, Any]] | None = None


class UnregisteredOut(Out):
    items: list[dict[str, Any]]
    limit: int
    offset: int


class RegistryOut(Out):
    chws: int


# -- uploads -----------------------------------------------------------------------------------------

class ReplayOut(Out):
    total: int
    accepted: int
    duplicate: int
    rejected: int
    late: int
    possible_duplicates: int
    alerts: int
    errors: list[dict[str, Any]]
    format: str


class HistoryUploadOut(Out):
    stored: int
    rejected: int
    errors: list[dict[str, Any]]


CSV = {"type": "string", "description": "the file's text"}


# -- rejected items and quality ----------------------------------------------------------------------

class RejectedOut(Out):
    rejected_id: str
    channel: str
    received_at: str
    status: str
    idempotency_key: str | None = None
    raw: Any = Field(description="the input as received: JSON when it was JSON, else its text")
    errors: list[ErrorItem]


class RejectedListOut(Out):
    items: list[RejectedOut]
    limit: int
    offset: int


class ReprocessOut(Out):
    rejected_id: str
    status: str
    report_id: str | None = None
    errors: list[dict[str, Any]] | None = None


class ReprocessBulkOut(Out):
    results: list[ReprocessOut]
    summary: dict[str, int]


class QualityOut(Out):
    week: str
    scope: dict[str, Any]
    deadline: str
    silent_since: str
    health_areas: list[dict[str, Any]]
    silent_sites: list[dict[str, Any]]
    sites: list[dict[str, Any]] | None = None
