"""The generic gateway over real HTTP, fed the way courier's External API (EX) channel is: from or
sender, text, date or time (RFC 3339), as a form or as JSON; dedup by phone + text + date."""
from __future__ import annotations

import pytest

from tests.api.sms_helpers import GENERIC, PHONE, cheap_hashing, http, secrets_env, stored  # noqa: F401

pytestmark = pytest.mark.integration
SECRET = {"X-Sebac-Secret": GENERIC}


@pytest.mark.parametrize("as_json, names", [(False, ("from", "date")), (True, ("sender", "time"))])
def test_courier_external_form_is_read_and_a_resend_with_the_same_date_is_a_duplicate(http, live_app, as_json,
                                                                                        names):
    sender, when = names
    msg = {sender: PHONE, "text": "PALU 4 M -5", when: "2026-11-20T08:15:30.123456789Z"}
    post = (lambda m: http.post("/api/v1/sms/generic", json=m, headers=SECRET)) if as_json else \
        (lambda m: http.post("/api/v1/sms/generic", data=m, headers=SECRET))
    first = post(msg)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["reply"]) == ("accepted", "Rapport reçu : 4 Paludisme. Merci.")
    again = post(msg)
    assert again.json()["status"] == "duplicate" and again.json()["report_id"] == first.json()["report_id"]
    later = post(msg | {when: "2026-11-20T08:20:00Z"})  # the CHW sent it again: a new message
    assert later.json()["status"] == "accepted"
    reports, _, _ = stored(live_app)
    assert len(reports) == 2 and {r.report_date.isoformat() for r in reports} == {"2026-11-20"}
    assert all(r.idempotency_key.startswith("sms:generic:h") for r in reports)


def test_courier_date_dates_the_report_and_a_bad_date_is_400(http, live_app):
    r = http.post("/api/v1/sms/generic", headers=SECRET,
                  data={"from": PHONE, "text": "PALU 1", "date": "2026-11-19T23:59:00+00:00"})
    assert r.json()["status"] == "accepted"
    (report,), _, _ = stored(live_app)
    assert report.report_date.isoformat() == "2026-11-19"
    bad = http.post("/api/v1/sms/generic", headers=SECRET, data={"from": PHONE, "text": "PALU 1", "date": "hier"})
    assert bad.status_code == 400 and bad.json()["error"]["key"] == "sms.payload.invalid"
