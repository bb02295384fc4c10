"""The flow editor's simulator (``X-Mailroom-Mode: simulation``): the reply an SMS *would* get, with
nothing stored and nothing raised. Pure apart from reading the CHW registry.

RapidPro's mailroom marks the webhook calls of a flow run in the editor's simulator with the header
``X-Mailroom-Mode: simulation``. A flow author testing "CHOL 3" there must see the reply SEBAC would
send, but no report may be stored (it would count, and cholera would raise an alert), no rejected
item kept, and no alert command carried out. :func:`simulate` reads the message exactly as
:meth:`SmsIntake.handle` does — registry, grammar or flow results, report validation, lateness — and
stops before the first write; the outcome's status is ``simulated``.
"""
from __future__ import annotations

from ingest.chw import normalise_phone
from ingest.contracts import Channel
from ingest.errors import ValidationFailed
from ingest.lateness import LatenessPolicy, assess_lateness
from ingest.messages import translate
from ingest.sms.commands import is_command
from ingest.sms.gateways import InboundSms
from ingest.sms.grammar import first_word
from ingest.sms.intake import SmsIntake, SmsOutcome, error_reply
from ingest.validation import validate_report


def simulate(intake: SmsIntake, sms: InboundSms) -> SmsOutcome:
    p = intake.pipeline
    now = p.clock.now()
    chw = intake.registry.by_number(normalise_phone(sms.phone))
    lang = chw.lang if chw else intake.default_lang
    if sms.results is None and is_command(sms.text):
        return SmsOutcome("simulated", translate("sms.command.simulated", lang, command=first_word(sms.text)), lang)
    reading = intake.interpret(sms, now)
    if reading.errors:
        return SmsOutcome("simulated", error_reply(reading.errors, lang), lang, errors=reading.errors)
    if reading.zero is not None:
        return SmsOutcome("simulated", translate("report.zero.accepted", lang, week=intake.zero_week(reading)), lang)
    try:
        report = validate_report(reading.payload, channel=Channel.sms, pyramid=p.pyramid, diseases=p.diseases,
                                 now=now, limits=p.limits, idempotency_key=sms.idempotency_key)
    except ValidationFailed as exc:
        return SmsOutcome("simulated", error_reply(exc.errors, lang), lang, errors=exc.errors)
    policy = getattr(getattr(p, "intake", None), "lateness", None) or LatenessPolicy()
    late = assess_lateness(report.onset_date, report.received_at, policy).late
    return SmsOutcome("simulated", intake.confirmation(report, lang, late), lang, late=late)
