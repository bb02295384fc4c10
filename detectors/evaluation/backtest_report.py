"""The backtest's results for people: one line per detector (:func:`summary`), Markdown and CSV
tables, and a PNG of sensitivity, false-positive rate and timeliness (:func:`plot`)."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from detectors.evaluation.backtest import Report

__all__ = ["plot", "summary", "to_csv", "to_markdown"]


def summary(report: Report) -> list[dict[str, Any]]:
    """One line per detector: means over scenarios and k."""
    out = []
    for det in dict.fromkeys(r.detector for r in report.rows):
        rows = [r for r in report.rows if r.detector == det]
        tl = [r.timeliness_weeks for r in rows if not math.isnan(r.timeliness_weeks)]
        out.append({"detector": det, "sensitivity": float(np.mean([r.sensitivity for r in rows])),
                    "false_positive_rate": float(np.mean([r.false_positive_rate for r in rows])),
                    "timeliness_weeks": float(np.mean(tl)) if tl else math.nan,
                    "seconds": float(sum(r.seconds for r in rows))})
    return out


def _fmt(v: float, digits: int = 3) -> str:
    return "–" if isinstance(v, float) and math.isnan(v) else f"{v:.{digits}f}"


def to_markdown(report: Report, detail: bool = False) -> str:
    lines = ["| detector | sensitivity | false-positive rate | timeliness (weeks) | run time (s) |",
             "|---|---:|---:|---:|---:|"]
    for s in summary(report):
        lines.append(f"| {s['detector']} | {_fmt(s['sensitivity'], 2)} | {_fmt(s['false_positive_rate'], 4)} | "
                     f"{_fmt(s['timeliness_weeks'], 2)} | {_fmt(s['seconds'], 2)} |")
    if detail:
        lines += ["", "| detector | scenario | k | sensitivity | false-positive rate | timeliness (weeks) |",
                  "|---|---|---:|---:|---:|---:|"]
        for r in report.rows:
            lines.append(f"| {r.detector} | {r.scenario} | {r.k:g} | {_fmt(r.sensitivity, 2)} | "
                         f"{_fmt(r.false_positive_rate, 4)} | {_fmt(r.timeliness_weeks, 2)} |")
    if report.notes:
        lines += ["", *(f"- {n}" for n in report.notes)]
    return "\n".join(lines) + "\n"


def to_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["detector", "scenario", "k", "sensitivity", "false_positive_rate", "timeliness_weeks",
                "replicates", "seconds"])
    for r in report.rows:
        w.writerow([r.detector, r.scenario, f"{r.k:g}", f"{r.sensitivity:.4f}", f"{r.false_positive_rate:.5f}",
                    "" if math.isnan(r.timeliness_weeks) else f"{r.timeliness_weeks:.3f}", r.replicates,
                    f"{r.seconds:.3f}"])
    return buf.getvalue()


def plot(report: Report, path: str | Path) -> Path:
    """Sensitivity and timeliness against k, false-positive rate per detector (PNG, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dets = list(dict.fromkeys(r.detector for r in report.rows))
    ks = sorted({r.k for r in report.rows})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    # up to 20 distinguishable colours, and line styles/markers cycling apart from them, so no two
    # detectors share a look when more than ten are compared
    tab20 = plt.get_cmap("tab20")
    colours = [tab20(i) for i in range(20)]
    styles, markers = ("-", "--", ":"), ("o", "s", "^", "D")
    for i, det in enumerate(dets):
        rows = [r for r in report.rows if r.detector == det]
        sens = [np.mean([r.sensitivity for r in rows if r.k == k]) for k in ks]
        tl = [np.nanmean([r.timeliness_weeks for r in rows if r.k == k] or [np.nan]) for k in ks]
        look = dict(color=colours[i % 20], linestyle=styles[i % 3], marker=markers[i % 4], label=det)
        axes[0].plot(ks, sens, **look)
        axes[2].plot(ks, tl, **look)
    summ = summary(report)
    axes[1].barh([s["detector"] for s in summ], [s["false_positive_rate"] for s in summ], color="tab:red")
    axes[0].set(title="Sensitivity (probability of detection)", xlabel="outbreak size k (× baseline sd)",
                ylabel="share of outbreaks detected", ylim=(0, 1.02))
    axes[1].set(title="False-positive rate", xlabel="alarms per outbreak-free week")
    axes[2].set(title="Timeliness", xlabel="outbreak size k (× baseline sd)", ylabel="weeks to first alarm")
    axes[0].legend(fontsize=7, ncol=2)
    c = report.config
    fig.suptitle(f"SEBAC backtest: {c.get('replicates')} replicates × {len(c.get('scenarios', []))} scenarios, "
                 f"{c.get('weeks')} weeks, last {c.get('eval_weeks')} evaluated (Noufaily et al. 2013 design)",
                 fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
