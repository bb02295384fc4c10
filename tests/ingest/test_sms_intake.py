"""One SMS in, one reply out: CHW lookup, reports, zero reports, errors kept, retries, commands."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from ingest.chw import CHW, CHWRegistry, demo_chws, load_chw_registry, normalise_phone
from ingest.errors import DomainError
from ingest.messages import register, translate
from ingest.sms.commands import register_command_handler, unregister_command_handler
from ingest.sms.gateways import InboundSms
from ingest.sms.intake import SmsIntake
from ingest.tables import zero_reports

SITE = "ML-MOP-DJENNE-MOUGNA-S1"
PHONE_FR, PHONE_EN, PHONE_BM = "+22376000001", "+22376000002", "+22376000003"


@pytest.fixture
def intake(pipeline, pyramid):
    registry = CHWRegistry([CHW(id="ASC-FR", phone=PHONE_FR, site_id=SITE, lang="fr"),
                            CHW(id="ASC-EN", phone=PHONE_EN, site_id="ML-SIK-KADIOLO-ZEGOUA-S1", lang="en"),
                            CHW(id="ASC-BM", phone=PHONE_BM, site_id=SITE, lang="bm")], pyramid)
    return SmsIntake(pipeline, registry)


def sms(text, phone=PHONE_FR, mid="m-1", sent_at=None):
    return InboundSms("telerivet", phone, text, mid, sent_at)


def test_report_is_accepted_for_the_chws_site_with_reply_in_french(intake, pipeline):
    out = intake.handle(sms("CHOL 3 F 5+ 1811"))
    assert out.status == "accepted" and out.lang == "fr"
    assert out.reply == "Rapport reçu : 3 Choléra. Merci."
    assert len(out.alert_ids) == 1  # cholera is immediately notifiable
    with pipeline.db.connect() as conn:
        r = pipeline.reports.get(conn, out.report_id)
    assert (r.orgunit_id, r.health_area_id, r.reporter, r.channel.value) == (SITE, "ML-MOP-DJENNE-MOUGNA", "ASC-FR", "sms")
    assert (r.onset_date, r.report_date, r.sex.value, r.age_group.value) == (dt.date(2026, 11, 18),
                                                                              dt.date(2026, 11, 20), "F", "5+")
    assert r.idempotency_key == "sms:telerivet:m-1" and r.text == "CHOL 3 F 5+ 1811"


def test_gateway_retry_is_a_duplicate_counted_once(intake, pipeline):
    assert intake.handle(sms("PALU 4")).status == "accepted"
    again = intake.handle(sms("PALU 4"))  # same message id: the gateway's retry gets the confirmation again
    assert again.status == "duplicate" and again.reply == "Rapport reçu : 4 Paludisme. Merci."
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 1


def test_a_resend_without_message_id_is_answered_already_received(intake, pipeline):
    at = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    assert intake.handle(sms("PALU 4", mid=None, sent_at=at)).status == "accepted"
    again = intake.handle(sms("PALU 4", mid=None, sent_at=at))
    assert (again.status, again.reply) == ("duplicate", "Ce rapport a déjà été reçu.")


def test_a_retried_zero_report_gets_the_zero_confirmation_again(intake):
    first = intake.handle(sms("RAS", mid="z-9"))
    again = intake.handle(sms("RAS", mid="z-9"))
    assert first.status == "zero" and (again.status, again.reply) == ("duplicate", first.reply)


def test_english_reader_gets_english_and_error_in_plain_words(intake, pipeline):
    out = intake.handle(sms("PALU trois", phone=PHONE_EN))
    assert out.status == "rejected" and out.lang == "en"
    assert out.reply == "Number of cases not understood: TROIS."
    with pipeline.db.connect() as conn:
        kept = pipeline.rejected.get(conn, out.rejected_id)
    assert json.loads(kept.raw)["sms"]["text"] == "PALU trois" and kept.errors[0]["key"] == "sms.cases.invalid"
    retry = intake.handle(sms("PALU trois", phone=PHONE_EN))  # the gateway retries: same answer, kept once
    assert retry.rejected_id == out.rejected_id
    with pipeline.db.connect() as conn:
        assert pipeline.rejected.count(conn) == 1


def test_bambara_falls_back_to_french_until_translations_are_supplied(intake):
    assert intake.handle(sms("PALU 2", phone=PHONE_BM, mid="b1")).reply == "Rapport reçu : 2 Paludisme. Merci."
    register("bm", {"report.accepted": "Bataki sɔrɔla: {cases} {disease}. I ni ce."})
    try:
        assert intake.handle(sms("PALU 2", phone=PHONE_BM, mid="b2")).reply.startswith("Bataki sɔrɔla: 2")
    finally:
        from ingest.messages import CATALOGUE
        CATALOGUE["bm"].pop("report.accepted")


def test_unknown_phone_is_kept_as_unregistered_signal(intake, pipeline):
    out = intake.handle(sms("CHOL 1", phone="+22399999999"))
    assert out.status == "unregistered" and "pas enregistré" in out.reply
    with pipeline.db.connect() as conn:
        items = pipeline.rejected.list(conn, reason="sms.reporter.unknown")
        assert pipeline.reports.count(conn) == 0
    assert [i.rejected_id for i in items] == [out.rejected_id]


def test_validation_error_from_pipeline_is_replied(intake):
    out = intake.handle(sms("PALU 5000"))
    assert out.status == "rejected" and out.errors[0].key == "report.cases.absurd"
    assert out.reply == translate("report.cases.absurd", "fr", cases=5000, max=1000)


def test_late_sms_says_so(intake):
    out = intake.handle(sms("PALU 2 0211"))
    assert out.status == "accepted" and out.late and "en retard" in out.reply


def test_sent_time_dates_the_sms_not_the_arrival(intake, pipeline):
    sent = dt.datetime(2026, 11, 15, 18, 0, tzinfo=dt.timezone.utc)  # stuck at the gateway for five days
    out = intake.handle(sms("PALU 2 1411", sent_at=sent))
    with pipeline.db.connect() as conn:
        r = pipeline.reports.get(conn, out.report_id)
    assert (r.onset_date, r.report_date) == (dt.date(2026, 11, 14), dt.date(2026, 11, 15))


def test_zero_report_counts_once(intake, pipeline):
    out = intake.handle(sms("RAS"))
    assert out.status == "zero" and "2026-W47" in out.reply
    assert intake.handle(sms("RAS")).status == "duplicate"
    with pipeline.db.connect() as conn:
        rows = conn.execute(zero_reports.select()).all()
    assert [(r.orgunit_id, r.epiweek, r.district_id) for r in rows] == [(SITE, "2026-W47", "ML-MOP-DJENNE")]


def test_alert_commands_go_to_the_registered_handler(intake, pipeline, monkeypatch):
    import ingest.sms.commands
    monkeypatch.setattr(ingest.sms.commands, "_HANDLERS", [])  # alerts may have installed its own handler
    seen = []

    def handler(text, phone, now):
        seen.append((text, phone, now))
        return "Alerte 12 acquittée." if text.upper().startswith("OK") else None

    assert intake.handle(sms("ok 12")).reply == "Cette commande n'est pas disponible."
    register_command_handler(handler)
    try:
        out = intake.handle(sms("OK 12", phone="0022376000001"))
        assert (out.status, out.reply) == ("command", "Alerte 12 acquittée.")
        assert seen[-1][1] == PHONE_FR
        assert intake.handle(sms("Vrai 12")).reply == "Cette commande n'est pas disponible."
    finally:
        unregister_command_handler(handler)
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 0 and pipeline.rejected.count(conn) == 0


@pytest.mark.parametrize("raw, want", [
    ("+223 76 00 00 01", "+22376000001"), ("0022376000001", "+22376000001"), ("76000001", "+22376000001"),
    ("tel:+22376000001", "+22376000001"), ("22376000001", "+22376000001"), ("+33612345678", "+33612345678"),
])
def test_phone_normalisation(raw, want):
    assert normalise_phone(raw) == want


def test_registry_loads_yaml_and_csv_and_checks_sites(tmp_path, pyramid):
    y = tmp_path / "chws.yaml"
    y.write_text("chws:\n  - {id: A1, phone: '+223 76 11 11 11', site_id: ML-MOP-DJENNE-MOUGNA-S1, lang: bm}\n")
    reg = load_chw_registry(y, pyramid)
    assert reg.by_number("76111111").id == "A1" and reg.by_number("76111111").lang == "bm"
    c = tmp_path / "chws.csv"
    c.write_text("id,phone,site_id,name\nA1,76111111,ML-MOP-DJENNE-MOUGNA-S1,Awa\nA2,76111112,ML-NOWHERE,Bo\n")
    with pytest.raises(DomainError) as exc:
        load_chw_registry(c, pyramid)
    assert exc.value.key == "chw.site.unknown"
    c.write_text("id,phone,site_id\nA1,76111111,ML-MOP-DJENNE-MOUGNA-S1\nA2,76111111,ML-MOP-DJENNE-MOUGNA-S2\n")
    with pytest.raises(DomainError) as exc:
        load_chw_registry(c, pyramid)
    assert exc.value.key == "chw.phone.duplicate"


def test_demo_registry_has_one_chw_per_site(pyramid):
    chws = demo_chws(pyramid)
    reg = CHWRegistry(chws, pyramid)
    assert len(reg) == len(pyramid.at_level("site")) == len({c.site_id for c in chws})


@pytest.mark.parametrize("text", ["CHOL 0", "ZERO", "RAS"])
def test_zero_report_counts_for_completeness_adds_no_case_and_runs_no_detector(intake, pipeline, clock, text):
    from ingest.epiweek import EpiWeek
    from ingest.quality import compute_quality, load_receipts

    out = intake.handle(sms(text, mid=f"z-{text}"))
    assert (out.status, out.reply) == ("zero", "Rapport zéro reçu pour la semaine 2026-W47. Merci.")
    assert out.alert_ids == []
    week = EpiWeek.parse("2026-W47")
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 0 and pipeline.rejected.count(conn) == 0
        receipts = load_receipts(conn, week, clock.now())
    quality = compute_quality(pipeline.pyramid, "ML-MOP-DJENNE", week, receipts, now=clock.now())
    site = next(s for s in quality.sites if s.site_id == SITE)
    assert (site.complete, site.reports) == (True, 1)


def test_date_window_comes_from_the_intake_and_the_reply_asks_to_resend(pipeline, pyramid):
    registry = CHWRegistry([CHW(id="ASC-FR", phone=PHONE_FR, site_id=SITE, lang="fr")], pyramid)
    narrow = SmsIntake(pipeline, registry, date_window_days=10)
    out = narrow.handle(sms("CHOL 3 F 5+ 0511"))  # 15 days before 20 Nov
    assert out.status == "rejected" and out.errors[0].key == "sms.date.out_of_window"
    assert out.reply.startswith("La date 05/11 n'est pas dans les 10 derniers jours. Renvoyez")
    assert SmsIntake(pipeline, registry).handle(sms("CHOL 3 F 5+ 0511", mid="m-2")).status == "accepted"


def test_channels_take_the_window_from_the_settings(pipeline):
    from ingest.channels import channels_from_settings
    from sebac.settings import Settings

    settings = Settings(database_url="sqlite://", environment="test", sms_date_window_days=14)
    assert channels_from_settings(pipeline, settings).sms.date_window_days == 14
    assert channels_from_settings(pipeline, Settings(database_url="sqlite://", environment="test")
                                  ).sms.date_window_days == 60
