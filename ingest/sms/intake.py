"""One inbound SMS → a command reply, a report, a zero report, or a kept rejection; always a reply.

Order of decisions (each with its reply in the reporter's language):

1. first word is an alert command (``OK``, ``VRAI``...) → the registered command handler answers
   (:mod:`ingest.sms.commands`); nothing is stored here;
2. a gateway retry of a message already kept as rejected (same idempotency key) → the same answer,
   kept once;
3. unknown phone → kept as an *unregistered signal* (rejected item with key ``sms.reporter.unknown``,
   the raw SMS envelope kept for re-processing once the CHW is registered);
4. grammar error, or a report that fails validation → kept as rejected (the SMS itself, so it can be
   re-processed), the reply names the problem;
5. zero report → stored for completeness;
6. a report → ``pipeline.submit`` (exactly once by ``sms:<gateway>[:<project>]:<message id>``; a
   gateway's retry of an accepted message gets the original confirmation again, a re-send without
   message id "déjà reçu").

The pipeline is duck-typed (``submit``, ``reject``, ``clock``, ``db``, ``pyramid``, ``diseases``,
``rejected``, ``reports``, ``start_day``) because ingest must not import the composition layer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ingest.chw import CHWRegistry, normalise_phone
from ingest.contracts import Channel
from ingest.epiweek import epiweek
from ingest.errors import ErrorDetail, ValidationFailed
from ingest.lateness import assess_lateness
from ingest.messages import FALLBACKS, translate
from ingest.sms.commands import dispatch_command, is_command
from ingest.sms.flow_results import FlowFields, load_flow_fields, parse_flow_results
from ingest.sms.gateways import InboundSms
from ingest.sms.grammar import (
    DEFAULT_DATE_WINDOW_DAYS,
    SmsParseError,
    ZeroReport,
    parse_sms,
)
from ingest.validation import validate_report
from ingest.zero_reports import record_zero_report


@dataclass
class SmsOutcome:
    status: str  # accepted | duplicate | rejected | unregistered | command | zero | simulated
    reply: str
    lang: str
    report_id: str | None = None
    rejected_id: str | None = None
    errors: list[ErrorDetail] = field(default_factory=list)
    late: bool = False
    alert_ids: list[int] = field(default_factory=list)


def _disease_name(pipeline: Any, code: str, lang: str) -> str:
    if code not in pipeline.diseases:
        return code
    return pipeline.diseases.get(code).name(FALLBACKS.get(lang, lang))


def error_reply(errors: list[ErrorDetail], lang: str) -> str:
    """Plain words for the first (at most two) problems."""
    parts = []
    for e in errors[:2]:
        params = dict(e.params)
        params.setdefault("field", e.field)
        parts.append(translate(e.key, lang, **params))
    return " ".join(parts)


class SmsIntake:
    def __init__(self, pipeline: Any, registry: CHWRegistry, *, default_lang: str = "fr",
                 date_window_days: int | None = DEFAULT_DATE_WINDOW_DAYS, flow_fields: FlowFields | None = None):
        self.pipeline = pipeline
        self.registry = registry
        self.default_lang = default_lang
        self.date_window_days = date_window_days
        self.flow_fields = flow_fields or load_flow_fields()

    def handle(self, sms: InboundSms) -> SmsOutcome:
        p = self.pipeline
        now = p.clock.now()
        phone = normalise_phone(sms.phone)
        key = sms.idempotency_key
        chw = self.registry.by_number(phone)
        lang = chw.lang if chw else self.default_lang
        # 2. alert commands are not CHW reports
        if sms.results is None and is_command(sms.text):
            reply = dispatch_command(sms.text, phone, now)
            return SmsOutcome("command", reply if reply is not None else translate("sms.command.unavailable", lang),
                              lang)
        # 1. a gateway retry of a message we already kept as rejected
        with p.db.connect() as conn:
            kept = p.rejected.by_idempotency_key(conn, key)
        if kept is not None:
            errors = [ErrorDetail(e["key"], e.get("field"), e.get("params") or {}) for e in kept.errors]
            status = "unregistered" if errors and errors[0].key == "sms.reporter.unknown" else "rejected"
            return SmsOutcome(status, error_reply(errors, lang), lang, rejected_id=kept.rejected_id, errors=errors)
        # 3-4. unknown phone or grammar error: kept (re-processable), reply names the problem
        reading = self.interpret(sms, now)
        if reading.errors:
            res = p.reject(Channel.sms, sms.envelope(), reading.errors, key)
            status = "unregistered" if reading.errors[0].key == "sms.reporter.unknown" else "rejected"
            return SmsOutcome(status, error_reply(reading.errors, lang), lang, rejected_id=res.rejected_id,
                              errors=reading.errors)
        # 5. zero report
        if reading.zero is not None:
            return self.record_zero(reading, key, now, identified=bool(sms.message_id))
        # 6. a report, through the pipeline (validation, exactly once, detectors); validated here
        # first so that a failure keeps the SMS itself (re-processable), not the derived payload
        payload = reading.payload
        try:
            validate_report(payload, channel=Channel.sms, pyramid=p.pyramid, diseases=p.diseases, now=now,
                            limits=p.limits, idempotency_key=key)
        except ValidationFailed as exc:
            res = p.reject(Channel.sms, sms.envelope(), exc.errors, key)
            return SmsOutcome("rejected", error_reply(exc.errors, lang), lang, rejected_id=res.rejected_id,
                              errors=exc.errors)
        res = p.submit(payload, Channel.sms, idempotency_key=key)
        if res.status == "rejected":
            return SmsOutcome("rejected", error_reply(res.errors, lang), lang, rejected_id=res.rejected_id,
                              errors=res.errors)
        report = res.report
        if res.status == "duplicate":
            return SmsOutcome("duplicate", self.duplicate_reply(sms, report, lang), lang, report_id=report.report_id)
        late = bool(res.notes and res.notes.late)
        return SmsOutcome("accepted", self.confirmation(report, lang, late), lang, report_id=report.report_id,
                          late=late, alert_ids=[a.alert_id for a in res.alerts])

    def confirmation(self, report: Any, lang: str, late: bool) -> str:
        """The reply to an accepted report (``Rapport reçu : 3 Choléra. Merci.``)."""
        return translate("report.accepted.late" if late else "report.accepted", lang, cases=report.cases,
                         disease=_disease_name(self.pipeline, report.disease, lang),
                         onset=report.onset_date.strftime("%d/%m"))

    def duplicate_reply(self, sms: InboundSms, report: Any, lang: str) -> str:
        """A message the gateway identified (a message id) and sends again is its retry — the first
        answer was lost, so the CHW never had the confirmation: send it again, not "déjà reçu". A
        message without id matched by text and time may be the CHW re-sending: "déjà reçu"."""
        if not sms.message_id:
            return translate("report.duplicate", lang)
        policy = getattr(self.pipeline, "intake", None)
        late = bool(policy is not None and assess_lateness(report.onset_date, report.received_at, policy.lateness).late)
        return self.confirmation(report, lang, late)

    def zero_week(self, reading: "SmsReading") -> str:
        """The epi week of a reading that is a zero report."""
        if reading.zero is None:
            raise ValueError("not a zero report")
        return str(epiweek(reading.zero.report_date, getattr(self.pipeline, "start_day", 0)))

    def interpret(self, sms: InboundSms, now: dt.datetime) -> "SmsReading":
        """Who sent it and what it says, without storing anything (also used to re-process)."""
        phone = normalise_phone(sms.phone)
        chw = self.registry.by_number(phone)
        lang = chw.lang if chw else self.default_lang
        if chw is None:
            return SmsReading(lang, errors=[ErrorDetail("sms.reporter.unknown", "phone", {"phone": phone})])
        today = sms.sent_at.date() if sms.sent_at and sms.sent_at <= now else now.date()
        try:
            if sms.results is not None:
                parsed = parse_flow_results(sms.results, self.flow_fields, self.pipeline.diseases, today,
                                            date_window_days=self.date_window_days)
            else:
                parsed = parse_sms(sms.text, self.pipeline.diseases, today, date_window_days=self.date_window_days)
        except SmsParseError as exc:
            return SmsReading(lang, chw=chw, errors=[exc.detail])
        if isinstance(parsed, ZeroReport):
            return SmsReading(lang, chw=chw, zero=parsed)
        payload = {"client_id": sms.idempotency_key, "orgunit_id": chw.site_id, "disease": parsed.disease,
                   "cases": parsed.cases, "deaths": parsed.deaths, "onset_date": parsed.onset_date.isoformat(),
                   "report_date": today.isoformat(), "sex": parsed.sex.value, "age_group": parsed.age_group.value,
                   "reporter": chw.id, "text": sms.text[:2000]}
        return SmsReading(lang, chw=chw, payload=payload)

    def record_zero(self, reading: "SmsReading", key: str, now: dt.datetime, identified: bool = False) -> SmsOutcome:
        p, chw, lang = self.pipeline, reading.chw, reading.lang
        area = p.pyramid.ancestor_at(chw.site_id, "health_area")
        district = p.pyramid.ancestor_at(chw.site_id, "district")
        week = self.zero_week(reading)
        with p.db.begin() as conn:
            zid, is_new = record_zero_report(conn, idempotency_key=key, channel=Channel.sms.value,
                                             orgunit_id=chw.site_id, health_area_id=area.id if area else chw.site_id,
                                             district_id=district.id if district else chw.site_id, epiweek=week,
                                             received_at=now, reporter=chw.id)
        if not is_new:  # as for a report: a gateway's retry gets the first answer again
            reply = translate("report.zero.accepted", lang, week=week) if identified else \
                translate("report.duplicate", lang)
            return SmsOutcome("duplicate", reply, lang, report_id=zid)
        return SmsOutcome("zero", translate("report.zero.accepted", lang, week=week), lang, report_id=zid)


@dataclass
class SmsReading:
    lang: str
    chw: Any = None
    errors: list[ErrorDetail] = field(default_factory=list)
    zero: ZeroReport | None = None
    payload: dict[str, Any] | None = None
