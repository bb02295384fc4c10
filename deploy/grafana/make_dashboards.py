"""Generate SEBAC's Grafana dashboards (``deploy/grafana/dashboards/*.json``) from one description.

Run ``python deploy/grafana/make_dashboards.py`` after changing a panel; a test checks that the
committed JSON is what this script writes, and the Prometheus integration test runs every query.
Titles are bilingual ("français / English"): Grafana has no per-user translation of dashboards.
Datasource: the provisioned Prometheus with uid ``sebac-prometheus``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "sebac-prometheus"}
OUT = Path(__file__).parent / "dashboards"
RANGE_INCREASE = "$__range"
RATE = "$__rate_interval"

DISTRICT_NAMES = "max by (region, district, district_name) (sebac_district_info)"
REGION_NAMES = "max by (region, region_name) (sebac_district_info)"


def target(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False, table: bool = False) -> dict:
    t: dict[str, Any] = {"datasource": DATASOURCE, "expr": expr, "refId": ref, "legendFormat": legend or "__auto"}
    if instant or table:
        t["instant"], t["range"] = True, False
    if table:
        t["format"] = "table"
    return t


def panel(kind: str, title: str, targets: list[dict], x: int, y: int, w: int = 8, h: int = 8, *,
          unit: str | None = None, description: str = "", max_: float | None = None,
          thresholds: list[tuple[float | None, str]] | None = None, options: dict | None = None,
          transformations: list[dict] | None = None) -> dict:
    defaults: dict[str, Any] = {}
    if unit:
        defaults["unit"] = unit
    if max_ is not None:
        defaults["min"], defaults["max"] = 0, max_
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute",
                                  "steps": [{"color": c, "value": v} for v, c in thresholds]}
    p: dict[str, Any] = {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
                         "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": targets,
                         "fieldConfig": {"defaults": defaults, "overrides": []}, "options": options or {}}
    if transformations:
        p["transformations"] = transformations
    return p


def dashboard(uid: str, title: str, panels: list[dict], tags: list[str], variables: list[dict] | None = None,
              refresh: str = "30s", time_from: str = "now-24h") -> dict:
    for i, p in enumerate(panels, start=1):
        p["id"] = i
    return {"uid": uid, "title": title, "tags": ["sebac"] + tags, "timezone": "utc", "editable": True,
            "schemaVersion": 39, "version": 1, "refresh": refresh, "graphTooltip": 1,
            "time": {"from": time_from, "to": "now"}, "templating": {"list": variables or []},
            "annotations": {"list": []}, "links": [
                {"type": "dashboards", "tags": ["sebac"], "asDropdown": True, "title": "SEBAC"}],
            "panels": panels}


def query_variable(name: str, label: str, query: str, hide: int = 0) -> dict:
    return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE, "hide": hide,
            "query": {"query": query, "refId": f"var-{name}"}, "definition": query, "refresh": 2,
            "sort": 1, "multi": False, "includeAll": False, "current": {}}


MERGE = [{"id": "merge", "options": {}},
         {"id": "organize", "options": {"excludeByName": {"Time": True}}}]
RATIO_STEPS = [(None, "red"), (0.5, "orange"), (0.8, "green")]


def national() -> dict:
    open_by_region = (f"sum by (region, level) (sebac_alerts_open) * on (region) group_left (region_name) "
                      f"{REGION_NAMES}")
    compliance = ('sum by (milestone) (sebac_alerts_717_milestones{status="met"}) / on (milestone) '
                  'clamp_min(sum by (milestone) (sebac_alerts_717_milestones{status=~"met|missed"}), 1)')
    panels = [
        panel("stat", "Alertes actives / Active alerts", [target("sum(sebac_alerts_open) or vector(0)", instant=True)],
              0, 0, 4, 5, thresholds=[(None, "green"), (1, "red")],
              description="Open, acknowledged, verified or in response."),
        panel("stat", "Non acquittées / Unacknowledged", [target('sum(sebac_alerts{status="open"})', instant=True)],
              4, 0, 4, 5, thresholds=[(None, "green"), (1, "orange")]),
        panel("stat", "Sites silencieux / Silent sites", [target("sum(sebac_sites_silent)", instant=True)],
              8, 0, 4, 5, thresholds=[(None, "green"), (1, "orange")],
              description="Sites with nothing received for 3 days or more."),
        panel("stat", "Complétude nationale / National completeness",
              [target("sum(sebac_reporting_completeness_ratio * sebac_sites) / sum(sebac_sites)", instant=True)],
              12, 0, 4, 5, unit="percentunit", max_=1, thresholds=RATIO_STEPS,
              description="Sites that reported for the last complete epi week."),
        panel("bargauge", "7-1-7 atteint / 7-1-7 met", [target(compliance, "{{milestone}}", instant=True)],
              16, 0, 8, 5, unit="percentunit", max_=1, thresholds=RATIO_STEPS,
              description="Detection ≤ 7 days, notification ≤ 1 day, early response ≤ 7 days "
                          "(alerts of the last 90 days; pending ones left out)."),
        panel("table", "Alertes actives par région et niveau / Active alerts by region and level",
              [target(open_by_region, table=True)], 0, 5, 12, 9, transformations=MERGE),
        panel("table", "Alertes actives par district et maladie / Active alerts by district and disease",
              [target("sum by (district, disease, risk) (sebac_alerts_open) > 0", table=True)], 12, 5, 12, 9,
              transformations=MERGE),
        panel("timeseries", "Alertes déclenchées / Alerts raised",
              [target(f"sum by (disease) (increase(sebac_alerts_raised_total[{RATE}]))", "{{disease}}")],
              0, 14, 12, 8),
        panel("timeseries", "Escalades / Escalations",
              [target(f"sum by (from_level, to_level, reason) (increase(sebac_alerts_escalated_total[{RATE}]))",
                      "{{from_level}} → {{to_level}} ({{reason}})")], 12, 14, 12, 8),
        panel("table", "7-1-7 par jalon / 7-1-7 by milestone",
              [target("sum by (milestone, status) (sebac_alerts_717_milestones)", table=True)], 0, 22, 8, 8,
              transformations=MERGE),
        panel("timeseries", "Délai d'acquittement p90 / Time to acknowledge p90",
              [target("histogram_quantile(0.9, sum by (le, level) "
                      f"(rate(sebac_alert_time_to_acknowledge_seconds_bucket[{RATE}])))", "{{level}}"),
               target("histogram_quantile(0.9, sum by (le, level) "
                      f"(rate(sebac_alert_time_to_verify_seconds_bucket[{RATE}])))", "verify {{level}}", "B")],
              8, 22, 16, 8, unit="s"),
        panel("table", "Complétude et promptitude par district / Completeness and promptness by district",
              [target(f"sebac_reporting_completeness_ratio * on (region, district) group_left (district_name) "
                      f"{DISTRICT_NAMES}", table=True, ref="A"),
               target("sebac_reporting_promptness_ratio", table=True, ref="B"),
               target("sebac_sites_silent", table=True, ref="C"),
               target("sebac_sites", table=True, ref="D"),
               target("sebac_reporting_duplicate_ratio", table=True, ref="E")], 0, 30, 24, 12,
              transformations=MERGE, description="Last complete epi week. A: completeness, B: promptness, "
                                                 "C: silent sites, D: sites, E: possible-duplicate rate."),
        panel("bargauge", "Sites silencieux par région / Silent sites by region",
              [target("sum by (region) (sebac_sites_silent)", "{{region}}", instant=True)], 0, 42, 24, 8,
              options={"orientation": "horizontal", "displayMode": "basic"}),
    ]
    return dashboard("sebac-national", "SEBAC — Vue nationale / National overview", panels, ["national"])


def district() -> dict:
    d = 'district="$district"'
    panels = [
        panel("stat", "Alertes actives / Active alerts", [target(f"sum(sebac_alerts_open{{{d}}}) or vector(0)",
                                                                 instant=True)],
              0, 0, 6, 5, thresholds=[(None, "green"), (1, "red")]),
        panel("gauge", "Complétude / Completeness", [target(f"sebac_reporting_completeness_ratio{{{d}}}",
                                                           instant=True)],
              6, 0, 6, 5, unit="percentunit", max_=1, thresholds=RATIO_STEPS),
        panel("gauge", "Promptitude / Promptness", [target(f"sebac_reporting_promptness_ratio{{{d}}}",
                                                          instant=True)],
              12, 0, 6, 5, unit="percentunit", max_=1, thresholds=RATIO_STEPS),
        panel("stat", "Sites silencieux / Silent sites",
              [target(f"sebac_sites_silent{{{d}}}", "silent", instant=True),
               target(f"sebac_sites{{{d}}}", "sites", "B", instant=True)], 18, 0, 6, 5),
        panel("table", "Alertes actives par maladie, niveau et risque / Active alerts by disease, level and risk",
              [target(f"sum by (disease, level, risk) (sebac_alerts_open{{{d}}}) > 0", table=True)],
              0, 5, 12, 9, transformations=MERGE),
        panel("timeseries", "Rapports reçus par canal / Reports received by channel",
              [target(f"sum by (channel) (rate(sebac_reports_received_total{{{d}}}[{RATE}]))", "{{channel}}")],
              12, 5, 12, 9, unit="reqps"),
        panel("timeseries", "Doublons / Duplicates",
              [target(f"sum by (channel) (increase(sebac_reports_duplicate_total{{{d}}}[{RATE}]))",
                      "{{channel}}"),
               target(f"sebac_reporting_duplicate_ratio{{{d}}}", "possible duplicates (last week, ratio)", "B")],
              0, 14, 12, 8, description="A: resends of an already stored report (same key). B: share of last "
                                        "week's reports flagged as possible duplicates (same content)."),
        panel("timeseries", "Retard de notification p50/p90 (région) / Report lateness p50/p90 (region)",
              [target("histogram_quantile(0.5, sum by (le) "
                      f'(rate(sebac_report_lateness_seconds_bucket{{region="$region"}}[{RATE}])))', "p50"),
               target("histogram_quantile(0.9, sum by (le) "
                      f'(rate(sebac_report_lateness_seconds_bucket{{region="$region"}}[{RATE}])))', "p90", "B")],
              12, 14, 12, 8, unit="s", description="Receipt minus onset; by region (histograms are per region)."),
    ]
    variables = [query_variable("district", "District", "label_values(sebac_district_info, district)"),
                 query_variable("region", "Région / Region",
                                'label_values(sebac_district_info{district="$district"}, region)', hide=2)]
    return dashboard("sebac-district", "SEBAC — Vue district / District view", panels, ["district"], variables)


def operations() -> dict:
    intake = f"sum(rate(sebac_reports_received_total[{RATE}]))"
    rejects = f"sum(rate(sebac_reports_rejected_total[{RATE}]))"
    panels = [
        panel("timeseries", "Rapports reçus par canal / Intake by channel",
              [target(f"sum by (channel) (rate(sebac_reports_received_total[{RATE}]))", "{{channel}}")],
              0, 0, 12, 8, unit="reqps"),
        panel("timeseries", "Rejets par motif / Rejects by reason",
              [target(f"sum by (reason) (rate(sebac_reports_rejected_total[{RATE}]))", "{{reason}}")],
              12, 0, 12, 8, unit="reqps"),
        panel("stat", "Part des rejets / Reject share",
              [target(f"{rejects} / clamp_min({intake} + {rejects}, 1e-9)", instant=True)], 0, 8, 6, 5,
              unit="percentunit", thresholds=[(None, "green"), (0.05, "orange"), (0.2, "red")]),
        panel("stat", "Doublons (période) / Duplicates (range)",
              [target(f"sum(increase(sebac_reports_duplicate_total[{RANGE_INCREASE}]))", instant=True)],
              6, 8, 6, 5),
        panel("stat", "Base de données / Database", [target("min(sebac_database_up)", instant=True)], 12, 8, 6, 5,
              thresholds=[(None, "red"), (1, "green")], options={"colorMode": "background"}),
        panel("stat", "Requête métriques / Metrics query",
              [target("max(sebac_metrics_database_query_seconds)", instant=True)], 18, 8, 6, 5, unit="s"),
        panel("timeseries", "Retard du pipeline / Pipeline lag",
              [target("max by (worker, instance) (sebac_pipeline_lag_seconds)", "{{worker}} {{instance}}"),
               target("time() - max by (worker, instance) (sebac_pipeline_last_processed_timestamp_seconds)",
                      "idle {{worker}} {{instance}}", "B")], 0, 13, 12, 8, unit="s",
              description="A: receipt-to-processing age of the last report processed (oldest unprocessed "
                          "when taken up). B: time since the worker last processed a report. Stream workers "
                          "share worker=stream; Prometheus's instance label tells them apart."),
        panel("timeseries", "File d'attente / Backlog",
              [target("sum by (worker, instance, topic) (sebac_pipeline_backlog_messages)",
                      "{{worker}} {{instance}} {{topic}}")],
              12, 13, 12, 8),
        panel("timeseries", "Débit par worker / Throughput by worker",
              [target(f"sum by (worker, instance) (rate(sebac_pipeline_reports_processed_total[{RATE}]))",
                      "{{worker}} {{instance}}")],
              0, 21, 12, 8, unit="reqps"),
        panel("timeseries", "Retard des rapports p50/p90 / Report lateness p50/p90",
              [target(f"histogram_quantile(0.5, sum by (le) (rate(sebac_report_lateness_seconds_bucket[{RATE}])))",
                      "p50"),
               target(f"histogram_quantile(0.9, sum by (le) (rate(sebac_report_lateness_seconds_bucket[{RATE}])))",
                      "p90", "B")], 12, 21, 12, 8, unit="s"),
        panel("timeseries", "Notifications en échec / Notification failures",
              [target(f"sum by (channel) (increase(sebac_notifications_failed_total[{RATE}]))", "failed {{channel}}"),
               target(f"sum by (channel) (increase(sebac_notifications_dead_lettered_total[{RATE}]))",
                      "dead {{channel}}", "B")], 0, 29, 12, 8),
        panel("timeseries", "Notifications envoyées / Notifications sent",
              [target(f"sum by (channel) (increase(sebac_notifications_sent_total[{RATE}]))", "{{channel}}")],
              12, 29, 12, 8),
        panel("timeseries", "Évaluations des détecteurs / Detector evaluations",
              [target(f"sum by (detector) (rate(sebac_detector_evaluations_total[{RATE}]))", "{{detector}}")],
              0, 37, 12, 8, unit="ops"),
        panel("table", "Alarmes par détecteur et maladie / Alarms by detector and disease",
              [target(f"sum by (detector, disease) (increase(sebac_detector_alarms_total[{RANGE_INCREASE}]))",
                      table=True)], 12, 37, 12, 8, transformations=MERGE),
    ]
    return dashboard("sebac-operations", "SEBAC — Exploitation / Operations", panels, ["operations"],
                     refresh="10s", time_from="now-6h")


DASHBOARDS = {"sebac-national.json": national, "sebac-district.json": district,
              "sebac-operations.json": operations}


def render(build) -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (OUT / name).write_text(render(build), encoding="utf-8")
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
