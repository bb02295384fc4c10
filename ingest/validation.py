"""Turn a raw submission into a :class:`Report`, or a list of errors with stable keys.

Pure: the pyramid, the disease catalogue, the limits and ``now`` are passed in. Rules:

* shape and types via pydantic (:class:`ReportIn`), each pydantic error mapped to a stable key;
* the org unit exists (id or DHIS2 UID) and is a site or a health area (``report.orgunit.*``);
* the disease code is in the catalogue (``report.disease.unknown``);
* dates are not before ``limits.min_date`` (2000-01-01) nor after today, and onset ≤ report date;
* counts are ≥ 0 and ≤ ``limits.max_cases`` (``report.cases.absurd``), deaths ≤ cases.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from pydantic import ValidationError

from ingest.contracts import Channel, Report, ReportIn
from ingest.diseases import DiseaseCatalogue
from ingest.errors import ErrorDetail, ValidationFailed
from ingest.pyramid import Pyramid


@dataclass(frozen=True)
class Limits:
    max_cases: int = 1000
    min_date: dt.date = dt.date(2000, 1, 1)
    reporting_levels: tuple[str, ...] = ("site", "health_area")


_PYDANTIC_KEYS = {
    "missing": "report.field.missing",
    "extra_forbidden": "report.field.unknown",
    "greater_than_equal": "report.count.negative",
    "date_parsing": "report.date.invalid",
    "date_from_datetime_parsing": "report.date.invalid",
    "date_type": "report.date.invalid",
    "date_from_datetime_inexact": "report.date.invalid",
    "string_too_short": "report.field.empty",
    "string_too_long": "report.field.too_long",
    "enum": "report.field.choice",
    "model_type": "report.format.invalid",
    "model_attributes_type": "report.format.invalid",
    "dict_type": "report.format.invalid",
}


def errors_from_pydantic(exc: ValidationError) -> list[ErrorDetail]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        key = _PYDANTIC_KEYS.get(err["type"], "report.field.type")
        out.append(ErrorDetail(key=key, field=loc or None, params={"detail": err.get("msg", "")}))
    return out


def parse_report_in(payload: Any) -> ReportIn:
    if isinstance(payload, ReportIn):
        return payload
    if not isinstance(payload, Mapping):
        raise ValidationFailed([ErrorDetail("report.format.invalid", None, {"detail": "expected a JSON object"})])
    try:
        return ReportIn.model_validate(dict(payload))
    except ValidationError as exc:
        raise ValidationFailed(errors_from_pydantic(exc)) from exc


def validate_report(
    payload: Any,
    *,
    channel: Channel,
    pyramid: Pyramid,
    diseases: DiseaseCatalogue,
    now: dt.datetime,
    limits: Limits = Limits(),
    idempotency_key: str | None = None,
) -> Report:
    """Validate one item; raise :class:`ValidationFailed` listing every problem found."""
    item = parse_report_in(payload)
    errors: list[ErrorDetail] = []
    today = now.date()
    unit = pyramid.resolve(item.orgunit_id)
    if unit is None:
        errors.append(ErrorDetail("report.orgunit.unknown", "orgunit_id", {"orgunit_id": item.orgunit_id}))
    elif unit.level not in limits.reporting_levels:
        errors.append(ErrorDetail("report.orgunit.level", "orgunit_id", {"orgunit_id": item.orgunit_id,
                                                                        "level": unit.level}))
    if item.disease not in diseases:
        errors.append(ErrorDetail("report.disease.unknown", "disease", {"disease": item.disease}))
    report_date = item.report_date or today
    for name, value in (("onset_date", item.onset_date), ("report_date", report_date)):
        if value > today:
            errors.append(ErrorDetail("report.date.future", name, {"date": value.isoformat()}))
        elif value < limits.min_date:
            errors.append(ErrorDetail("report.date.too_old", name, {"date": value.isoformat(),
                                                                   "min": limits.min_date.isoformat()}))
    if item.onset_date > report_date and report_date <= today:
        errors.append(ErrorDetail("report.date.onset_after_report", "onset_date", {}))
    if item.cases > limits.max_cases:
        errors.append(ErrorDetail("report.cases.absurd", "cases", {"cases": item.cases, "max": limits.max_cases}))
    if item.deaths > item.cases:
        errors.append(ErrorDetail("report.deaths.exceed_cases", "deaths", {"deaths": item.deaths}))
    if errors:
        raise ValidationFailed(errors)
    assert unit is not None
    area = pyramid.ancestor_at(unit.id, "health_area")
    district = pyramid.ancestor_at(unit.id, "district")
    assert area is not None and district is not None
    return Report(
        report_id=str(uuid.uuid4()),
        idempotency_key=idempotency_key or f"{channel.value}:{item.client_id}",
        channel=channel,
        orgunit_id=unit.id,
        health_area_id=area.id,
        district_id=district.id,
        disease=item.disease,
        cases=item.cases,
        deaths=item.deaths,
        sex=item.sex,
        age_group=item.age_group,
        onset_date=item.onset_date,
        report_date=report_date,
        received_at=now,
        reporter=item.reporter,
        text=item.text,
    )
