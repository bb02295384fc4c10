"""The flow editor's simulator: the reply an SMS would get, with nothing written anywhere."""
from __future__ import annotations

import sqlalchemy as sa

from ingest.chw import CHW, CHWRegistry
from ingest.sms.gateways import InboundSms
from ingest.sms.intake import SmsIntake
from ingest.sms.simulation import simulate

SITE, PHONE = "ML-MOP-DJENNE-MOUGNA-S1", "+22376000001"


def _rows(pipeline):
    with pipeline.db.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("reports", "rejected_items", "zero_reports", "alerts")}


def test_simulation_answers_like_handle_but_writes_nothing(pipeline, pyramid):
    intake = SmsIntake(pipeline, CHWRegistry([CHW(id="ASC-EN", phone=PHONE, site_id=SITE, lang="en")], pyramid))
    empty = _rows(pipeline)
    cases = [("CHOL 3 F 5+ 1811", "Report received: 3 Cholera. Thank you.", False),
             ("CHOL 2 0211", "Report received: 2 Cholera (onset 02/11, late). Thank you.", True),
             ("PALU trois", "Number of cases not understood: TROIS.", False),
             ("OK 12", "Simulation: the command OK is not carried out.", False)]
    for text, reply, late in cases:
        out = simulate(intake, InboundSms("rapidpro", PHONE, text, "m-" + text))
        assert (out.status, out.reply, out.late, out.report_id) == ("simulated", reply, late, None)
    flow = InboundSms("rapidpro", PHONE, "", "m-flow", results=(("disease", "CHOL", None), ("cases", "0", None)))
    assert simulate(intake, flow).reply == "Zero report received for week 2026-W47. Thank you."
    assert _rows(pipeline) == empty
    real = intake.handle(InboundSms("rapidpro", PHONE, "CHOL 3 F 5+ 1811", "m-CHOL 3 F 5+ 1811"))
    assert real.status == "accepted" and real.reply == cases[0][1]
