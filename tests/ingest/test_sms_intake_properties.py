"""Property: whatever an SMS says and whoever sends it, the intake answers — a report (or a zero report,
a duplicate, a command) or exactly one kept rejected item whose errors carry stable keys and whose
reply is translated; no exception escapes. (The grammar alone: ``test_sms_grammar.py``; the DHIS2
importer over HTTP: ``tests/api/test_dhis2_properties.py``.)"""
from __future__ import annotations

import itertools

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from ingest.chw import CHW, CHWRegistry
from ingest.messages import translate
from ingest.sms.gateways import InboundSms
from ingest.sms.intake import SmsIntake
from ingest.tables import rejected_items as rejected, reports

SITE = "ML-MOP-DJENNE-MOUGNA-S1"
PHONES = {"+22376000001": "fr", "+22376000002": "en"}
UNKNOWN = "+22376999999"
TOKENS = ["CHOL", "PALU", "ROUG", "MENG", "RAS", "ZERO", "OK", "3", "0", "12", "F", "M", "5+", "<5", "1811",
          "18/11", "0511", "2026-11-18", "D1", "DC2", "٣", "O", "l", "x", "", " ", "#", "é"]
texts = st.one_of(st.lists(st.sampled_from(TOKENS), max_size=7).map(" ".join), st.text(max_size=60),
                  st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
OUTCOMES = {"accepted", "duplicate", "zero", "command", "rejected", "unregistered"}


def count(pipeline, table) -> int:
    with pipeline.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_every_sms_gets_a_report_or_exactly_one_rejected_item(pipeline, pyramid):
    registry = CHWRegistry([CHW(id=f"ASC-{lang}", phone=phone, site_id=SITE, lang=lang)
                            for phone, lang in PHONES.items()], pyramid)
    intake = SmsIntake(pipeline, registry)
    ids = itertools.count()

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(text=texts, phone=st.sampled_from([*PHONES, UNKNOWN]))
    def check(text, phone):
        before_rejected, before_reports = count(pipeline, rejected), count(pipeline, reports)
        out = intake.handle(InboundSms("generic", phone, text, f"prop-{next(ids)}", None))
        new_rejected = count(pipeline, rejected) - before_rejected
        new_reports = count(pipeline, reports) - before_reports
        assert out.status in OUTCOMES, out
        assert out.reply and out.lang == PHONES.get(phone, intake.default_lang), out
        if out.status in ("rejected", "unregistered"):
            assert new_rejected == 1 and new_reports == 0 and out.rejected_id, (text, out)
            assert out.errors and all(e.key.count(".") >= 1 for e in out.errors), out
            first = out.errors[0]
            assert translate(first.key, out.lang, **({"field": first.field} | first.params)) != first.key, first
            assert first.key not in out.reply, out.reply  # the CHW reads a sentence, not a key
        else:
            assert new_rejected == 0 and not out.errors, (text, out)
            assert new_reports == (1 if out.status == "accepted" else 0), (text, out)
            if out.status in ("accepted", "duplicate"):
                assert out.report_id

    check()
