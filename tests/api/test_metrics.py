"""The metric catalogue: label resolution, pre-created series, database gauges, bounded labels, promtool."""
from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import string
import subprocess
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import alerts.metrics as am
import detectors.metrics as dm
import ingest.metrics as im
import sebac.metrics as sm
from api.metrics import DatabaseCollector, exposition
from ingest.contracts import Channel
from ingest.messages import CATALOGUE
from tests.servers import missing

UTC = dt.timezone.utc


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(pipeline) -> dict[tuple[str, tuple], float]:
    """Every sample of ``/metrics`` (process registry + database gauges) as {(name, labels): value}."""
    text = exposition(SimpleNamespace(pipeline=pipeline, settings=SimpleNamespace(metrics_cache_seconds=0))).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def sample(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def report(site: str, disease: str = "malaria", cases: int = 2, onset: str = "2026-11-19", **extra) -> dict:
    return {"client_id": f"t-{random.random()}", "orgunit_id": site, "disease": disease, "cases": cases,
            "onset_date": onset} | extra


# -- pure functions --------------------------------------------------------------------------------
def test_seven_one_seven_of_one_alert():
    row = SimpleNamespace(created_at=at(2026, 11, 10, 12), emergence_date=dt.date(2026, 11, 1),
                          notified_at=at(2026, 11, 11, 13), response_at=None)
    assert am.seven_one_seven(row, at(2026, 11, 14)) == {
        "detection": "missed", "notification": "missed", "response": "pending"}


def test_row_classification_agrees_with_alert_timeliness(pipeline, clock):
    from alerts.timeliness import timeliness

    res = pipeline.submit(report("ML-MOP-DJENNE-MOUGNA-S1", disease="cholera", cases=1, onset="2026-11-10"),
                          Channel.http)
    alert = res.alerts[0]
    for days in (0, 2, 9):
        now = clock.now() + dt.timedelta(days=days)
        row = SimpleNamespace(**alert.model_dump())
        assert am.seven_one_seven(row, now) == timeliness(alert, now)["status"]


@pytest.mark.parametrize("key, want", [
    ("report.orgunit.unknown", "report.orgunit.unknown"),
    ("report.orgunit.unknown.+22376123456", "other"),   # a key carrying data
    ("not-a-key", "other"),
    ("", "other"),
])
def test_reason_label_is_a_catalogue_key_or_other(key, want):
    assert im.reason_label(key) == want


@pytest.mark.parametrize("fn, raw, want", [
    (dm.detector_label, "earsC1", "earsC1"),
    (dm.detector_label, "x" * 60, "other"),
    (dm.detector_label, "ML-MOP DJENNE/MOUGNA", "other"),
    (am._level, "district", "district"),
    (am._level, "+223 76 12 34 56", "unknown"),
    (lambda v: am._bounded(v, am.ESCALATION_REASONS), "pas de réponse du district", "other"),
    (lambda v: am._bounded(v, am.NOTIFICATION_CHANNELS), "sms", "sms"),
])
def test_label_guards(fn, raw, want):
    assert fn(raw) == want


# -- call-site helpers on the process registry -------------------------------------------------------
def test_report_received_is_labelled_with_its_region_and_district(pipeline, clock):
    labels = {"channel": "http", "region": "ML-MOP", "district": "ML-MOP-DJENNE"}
    before = value("sebac_reports_received_total", **labels)
    late_before = value("sebac_report_lateness_seconds_bucket", channel="http", region="ML-MOP", le="172800.0")
    res = pipeline.submit(report("ML-MOP-DJENNE-MOUGNA-S1", onset="2026-11-18"), Channel.http)
    assert res.status == "accepted"
    assert value("sebac_reports_received_total", **labels) == before + 1
    # received 2026-11-20 09:00, onset 2026-11-18: 2 days 9 hours, above the 2-day bucket
    assert value("sebac_report_lateness_seconds_bucket", channel="http", region="ML-MOP",
                 le="172800.0") == late_before
    assert value("sebac_report_lateness_seconds_bucket", channel="http", region="ML-MOP", le="259200.0") >= 1


def test_duplicate_and_rejected_are_counted(pipeline):
    body = report("ML-SIK-KADIOLO-ZEGOUA-S1")
    dup = {"channel": "http", "region": "ML-SIK", "district": "ML-SIK-KADIOLO"}
    rej = {"channel": "http", "reason": "report.disease.unknown"}
    d0, r0 = value("sebac_reports_duplicate_total", **dup), value("sebac_reports_rejected_total", **rej)
    assert pipeline.submit(body, Channel.http).status == "accepted"
    assert pipeline.submit(body, Channel.http).status == "duplicate"
    assert pipeline.submit(report("ML-SIK-KADIOLO-ZEGOUA-S1", disease="zombies"), Channel.http).status == "rejected"
    assert value("sebac_reports_duplicate_total", **dup) == d0 + 1
    assert value("sebac_reports_rejected_total", **rej) == r0 + 1


def test_alert_helpers_count_with_bounded_labels():
    before = value("sebac_alerts_escalated_total", from_level="district", to_level="region", reason="other")
    am.observe_escalation("district", "region", "le district ne répond pas")
    assert value("sebac_alerts_escalated_total", from_level="district", to_level="region",
                 reason="other") == before + 1
    n = value("sebac_alert_time_to_acknowledge_seconds_count", level="district")
    am.observe_acknowledged(at(2026, 11, 20, 9), at(2026, 11, 20, 9, 20), "district")
    assert value("sebac_alert_time_to_acknowledge_seconds_count", level="district") == n + 1
    f = value("sebac_notifications_dead_lettered_total", channel="sms")
    am.observe_notification("sms", "dead_lettered")
    assert value("sebac_notifications_dead_lettered_total", channel="sms") == f + 1


def test_every_known_label_set_starts_at_zero(pipeline, pyramid, diseases):
    samples = scrape(pipeline)
    for d in pyramid.at_level("district"):
        region = pyramid.ancestor_at(d.id, "region").id
        for ch in Channel:
            assert sample(samples, "sebac_reports_received_total", channel=ch.value, region=region,
                          district=d.id) is not None
            assert sample(samples, "sebac_reports_duplicate_total", channel=ch.value, region=region,
                          district=d.id) is not None
    for code in diseases.codes():
        for level in pyramid.levels:
            assert sample(samples, "sebac_alerts_raised_total", disease=code, level=level) is not None
        assert sample(samples, "sebac_detector_evaluations_total", detector="immediate", disease=code) is not None
    for ch in Channel:
        assert sample(samples, "sebac_reports_rejected_total", channel=ch.value, reason="report.orgunit.unknown") \
            is not None
    for ch in ("sms", "email", "webhook"):
        assert sample(samples, "sebac_notifications_failed_total", channel=ch) is not None
    assert sample(samples, "sebac_pipeline_backlog_messages", worker="embedded", topic="reports") == 0


# -- gauges from the database ----------------------------------------------------------------------
def test_open_alerts_and_7_1_7_come_from_the_database(pipeline, clock):
    res = pipeline.submit(report("ML-MOP-DJENNE-MOUGNA-S1", disease="cholera", cases=1, onset="2026-11-19"),
                          Channel.http)
    assert res.status == "accepted" and res.alerts
    alert = res.alerts[0]
    samples = scrape(pipeline)
    assert sample(samples, "sebac_alerts_open", level=alert.level, region="ML-MOP", district="ML-MOP-DJENNE",
                  disease="cholera", risk=str(alert.risk)) == 1
    assert sample(samples, "sebac_alerts", status="open") == 1
    m = {s: sample(samples, "sebac_alerts_717_milestones", milestone="notification", status=s, disease="cholera")
         for s in ("met", "missed", "pending")}
    assert m == {"met": 0, "missed": 0, "pending": 1}
    assert sample(samples, "sebac_alerts_717_milestones", milestone="detection", status="met",
                  disease="cholera") == 1
    assert sample(samples, "sebac_alerts_717_milestones", milestone="detection", status="met", disease="ebola") == 0
    clock.advance(days=2)
    samples = scrape(pipeline)
    assert sample(samples, "sebac_alerts_717_milestones", milestone="notification", status="missed",
                  disease="cholera") == 1
    assert sample(samples, "sebac_database_up") == 1


def test_completeness_promptness_and_silent_sites(pipeline, pyramid, clock):
    district = "ML-SIK-KADIOLO"
    sites = sorted(u.id for u in pyramid.descendants(district) if u.level == "site")
    clock.set(at(2026, 11, 12, 10))            # in the week [11-09, 11-16): on time
    assert pipeline.submit(report(sites[0], onset="2026-11-11", report_date="2026-11-12"), Channel.http).status \
        == "accepted"
    clock.set(at(2026, 11, 19, 10))            # after the deadline (Sunday 11-15 + 1 day): late
    assert pipeline.submit(report(sites[1], onset="2026-11-13", report_date="2026-11-13"), Channel.http).status \
        == "accepted"
    clock.set(at(2026, 11, 20, 9))
    samples = scrape(pipeline)
    labels = {"region": "ML-SIK", "district": district}
    n = len(sites)
    assert sample(samples, "sebac_sites", **labels) == n
    assert sample(samples, "sebac_reporting_completeness_ratio", **labels) == pytest.approx(2 / n)
    assert sample(samples, "sebac_reporting_promptness_ratio", **labels) == pytest.approx(1 / n)
    assert sample(samples, "sebac_sites_silent", **labels) == n - 1   # sites[1] reported yesterday
    assert sample(samples, "sebac_reporting_duplicate_ratio", **labels) == 0
    assert sample(samples, "sebac_district_info", region="ML-SIK", district=district, region_name="Sikasso",
                  district_name=pyramid.get(district).name) == 1


def test_database_gauges_are_cached_for_ttl_seconds(pipeline):
    ticks = [100.0]
    collector = DatabaseCollector(pipeline, ttl=5, monotonic=lambda: ticks[0])

    def open_alerts() -> float:
        return sum(s.value for fam in collector.collect() if fam.name == "sebac_alerts_open" for s in fam.samples)

    assert open_alerts() == 0
    pipeline.submit(report("ML-MOP-DJENNE-MOUGNA-S1", disease="cholera", cases=1), Channel.http)
    ticks[0] += 4.9
    assert open_alerts() == 0       # still the cached scrape
    ticks[0] += 0.2
    assert open_alerts() == 1


def test_database_down_is_reported_not_raised(pipeline):
    class Down:
        def connect(self):
            raise OSError("connection refused")

    broken = SimpleNamespace(db=Down(), clock=pipeline.clock, pyramid=pipeline.pyramid, diseases=pipeline.diseases)
    families = {f.name: f for f in DatabaseCollector(broken, ttl=0).collect()}
    assert families["sebac_database_up"].samples[0].value == 0
    assert "sebac_alerts_open" not in families


# -- bounded labels ----------------------------------------------------------------------------------
def configured_detectors(pipeline) -> set[str]:
    """Rule kinds and algorithm ids the detection stage was configured with (code/config constants)."""
    stage = pipeline.detection
    return ({"immediate", "other"} | {r.kind for r in getattr(stage, "rules", ())}
            | {c.algorithm for c in getattr(stage, "detectors", ())})


def allowed_label_values(pyramid, diseases, detectors: set[str]) -> dict[str, set[str]]:
    regions = {u.id for u in pyramid.at_level("region")} | {"unknown"}
    districts = {u.id for u in pyramid.at_level("district")} | {"unknown"}
    levels = set(pyramid.levels) | {"unknown"}
    return {
        "channel": {c.value for c in Channel} | set(am.NOTIFICATION_CHANNELS),
        "region": regions, "district": districts,
        "region_name": {u.name for u in pyramid.at_level("region")},
        "district_name": {u.name for u in pyramid.at_level("district")},
        "disease": set(diseases.codes()),
        "level": levels, "from_level": levels, "to_level": levels,
        "reason": set(im.known_reasons()) | set(am.ESCALATION_REASONS) | set(getattr(am, "AUTH_DENIED_REASONS", ())),
        "outcome": set(am.CLOSE_OUTCOMES),
        "risk": {"1", "2", "3", "4"},
        "status": set(am.STATUSES) | set(am.MILESTONE_STATUSES),
        "milestone": set(am.MILESTONES),
        "detector": detectors,
        "worker": {"embedded", "stream"}, "topic": {"reports"},
        "change": set(im.REVISION_CHANGES) | {"other"},
    }


RUNTIME = ("python_", "process_")  # the client library's own collectors
PHONE = re.compile(r"^\+?[0-9 ]{7,}$")


def test_no_label_has_unbounded_values(pipeline, pyramid, diseases):
    """Flood the pipeline with hostile input: no new series may appear; every label of the catalogue
    takes its values from a closed set (pyramid regions/districts, disease catalogue, enums), and no
    label anywhere holds a health area, a site or a phone number."""
    before = scrape(pipeline)
    rng = random.Random(3)
    sites = sorted(u.id for u in pyramid.at_level("site"))
    for i in range(60):
        phone = "+223" + "".join(rng.choices(string.digits, k=8))
        junk = "".join(rng.choices(string.ascii_letters + string.digits + " .-/", k=12))
        pipeline.submit(report(rng.choice(sites), reporter=phone, text=junk), Channel.sms)
        pipeline.submit(report(f"ML-{junk}", reporter=phone), Channel.http)
        pipeline.submit(report(rng.choice(sites), disease=junk.lower()), Channel.dhis2)
        pipeline.submit({"client_id": phone, junk: phone}, Channel.csv)
    after = scrape(pipeline)
    new = {k for k in after if k not in before and not k[0].startswith(RUNTIME)}
    assert not new, sorted(new)[:10]
    allowed = allowed_label_values(pyramid, diseases, configured_detectors(pipeline))
    below_district = {u.id for u in pyramid.units.values()
                      if pyramid.depth(u.id) > pyramid.levels.index("district")}
    ours = {m._name for mod in (im, am, dm, sm) for m in vars(mod).values() if hasattr(m, "_labelnames")}
    ours |= {"sebac_alerts_open", "sebac_alerts", "sebac_alerts_717_milestones", "sebac_sites",
             "sebac_sites_silent", "sebac_reporting_completeness_ratio", "sebac_reporting_promptness_ratio",
             "sebac_reporting_duplicate_ratio", "sebac_district_info"}
    bad = []
    for (name, labels) in after:
        family = re.sub(r"_(total|bucket|sum|count)$", "", name)
        for key, val in labels:
            if val in below_district or PHONE.match(val):
                bad.append(f"{name}{{{key}={val!r}}}: an area, site or phone")
            if key in ("le", "quantile") or family not in ours:
                continue
            if key not in allowed:
                bad.append(f"{name}: label {key!r} is not in the catalogue")
            elif val not in allowed[key]:
                bad.append(f"{name}{{{key}={val!r}}}")
    assert not bad, bad[:20]
    assert len(ours) >= 25 and all(name.startswith(("sebac_",) + RUNTIME) for name, _ in after)


@pytest.mark.integration  # runs Prometheus' promtool
def test_promtool_check_metrics_passes(pipeline):
    promtool = shutil.which("promtool")
    if not promtool:
        missing("promtool (Debian package 'prometheus')")
    pipeline.submit(report("ML-MOP-DJENNE-MOUGNA-S1", disease="cholera", cases=1), Channel.http)
    body = exposition(SimpleNamespace(pipeline=pipeline, settings=None))
    res = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert res.returncode == 0 and not (res.stdout + res.stderr).strip(), (res.stdout + res.stderr).decode()


def test_catalogue_reasons_are_all_error_keys():
    assert "report.accepted" not in im.known_reasons() and "report.orgunit.unknown" in im.known_reasons()
    assert set(im.known_reasons()) - {"other"} <= set(CATALOGUE["en"])


def test_stream_worker_counts_stored_reports_and_redeliveries(pipeline, pyramid, diseases, clock):
    from ingest.validation import validate_report
    from sebac.streaming.stages import STREAM_WORKER, Message, WorkerStages

    stages = WorkerStages(pipeline)
    site = sorted(u.id for u in pyramid.descendants("ML-KOU-FANA") if u.level == "site")[0]
    rep = validate_report(report(site), channel=Channel.sms, pyramid=pyramid, diseases=diseases, now=clock.now())
    labels = {"channel": "sms", "region": "ML-KOU", "district": "ML-KOU-FANA"}
    r0, d0 = value("sebac_reports_received_total", **labels), value("sebac_reports_duplicate_total", **labels)
    p0 = value("sebac_pipeline_reports_processed_total", worker=STREAM_WORKER)
    msg = Message(rep.model_dump_json().encode(), "reports:0:1")
    clock.advance(minutes=3)
    stages.process_reports([msg], clock.now())
    stages.process_reports([msg], clock.now())   # redelivered after a rebalance: stored once
    assert value("sebac_reports_received_total", **labels) == r0 + 1
    assert value("sebac_reports_duplicate_total", **labels) == d0 + 1
    assert value("sebac_pipeline_reports_processed_total", worker=STREAM_WORKER) == p0 + 1
    assert value("sebac_pipeline_lag_seconds", worker=STREAM_WORKER) == 180


def test_alert_rows_outside_the_pyramid_or_catalogue_stay_bounded(pipeline, clock):
    """Two alerts whose district and disease are unknown today (pyramid or catalogue changed) land on one
    ``unknown``/``other`` label set, added up: the exposition never repeats a label set."""
    import sqlalchemy as sa

    from alerts.tables import alerts

    base = dict(orgunit_level="health_area", region_id="ML-OLD", level="district", status="open",
                severity="alert", risk=2, created_at=clock.now(), updated_at=clock.now(),
                emergence_date=clock.now().date(), cases=1.0, signal_count=1, raised_late=False,
                detector="immediate", version=1)
    with pipeline.db.begin() as conn:
        conn.execute(sa.insert(alerts), [
            base | {"dedup_key": "k1", "disease": "old_disease", "orgunit_id": "ML-OLD-A", "district_id": "ML-OLD-D1"},
            base | {"dedup_key": "k2", "disease": "retired", "orgunit_id": "ML-OLD-B", "district_id": "ML-OLD-D2"}])
    samples = scrape(pipeline)
    assert sample(samples, "sebac_alerts_open", level="district", region="unknown", district="unknown",
                  disease="other", risk="2") == 2
    assert sample(samples, "sebac_alerts_717_milestones", milestone="detection", status="met", disease="other") == 2


def test_streaming_mode_counts_each_report_once_across_api_and_worker(pipeline):
    """API publishes (counts rejects and answered duplicates), the worker stores (counts received):
    one report → received once; a resend after storage → duplicate once; a bad item → rejected once."""
    from sebac.settings import Settings
    from sebac.streaming.engine import publishing
    from sebac.streaming.publisher import InMemoryPublisher
    from sebac.streaming.stages import Message, WorkerStages

    publisher = InMemoryPublisher()
    api = publishing(pipeline, Settings(environment="test", broker="kafka://127.0.0.1:9", stream_topic_prefix="m"),
                     publisher)
    worker = WorkerStages(pipeline)
    labels = {"channel": "http", "region": "ML-SEG", "district": "ML-SEG-SAN"}
    site = sorted(u.id for u in pipeline.pyramid.descendants("ML-SEG-SAN") if u.level == "site")[0]
    body = report(site)
    rej = {"channel": "http", "reason": "report.disease.unknown"}
    r0, d0, j0 = (value("sebac_reports_received_total", **labels), value("sebac_reports_duplicate_total", **labels),
                  value("sebac_reports_rejected_total", **rej))
    assert api.submit(body, Channel.http).status == "accepted"
    assert value("sebac_reports_received_total", **labels) == r0          # published, not stored yet
    worker.process_reports([Message(r.value, f"m.reports:0:{i}") for i, r in enumerate(publisher.records)],
                           pipeline.clock.now())
    assert value("sebac_reports_received_total", **labels) == r0 + 1
    assert api.submit(body, Channel.http).status == "duplicate"
    assert api.submit(report(site, disease="zombies"), Channel.http).status == "rejected"
    assert value("sebac_reports_duplicate_total", **labels) == d0 + 1
    assert value("sebac_reports_rejected_total", **rej) == j0 + 1
