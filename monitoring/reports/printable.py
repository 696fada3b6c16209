"""The printable patient report: two A4 pages a clinic can file, drawn with matplotlib's PDF backend.

Page 1 is glucose as the consensus AGP report lays it out (time in ranges, the metrics, the
ambulatory glucose profile); page 2 is blood pressure, weight, heart rate, SpO2, adherence and
the alerts of the period. Every time on it is in the patient's zone, and the header says which.
Rendering is pure (data in, bytes out) and uses matplotlib's object API, so it runs in a worker
thread; matplotlib is imported on the first report.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from monitoring.domain import MG_PER_MMOL
from monitoring.readings.repository import Bucket
from monitoring.reports.chart import date_number
from monitoring.reports.glucose import BANDS, GlucoseSummary
from monitoring.reports.glucose_text import glucose_in, glucose_text
from monitoring.reports.vitals import ADHERENCE_DAYS, PressureSummary, Stats

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

A4 = (8.27, 11.69)  # inches
MAX_ALERTS = 18  # what fits on page 2 under the vitals
_BAND_STYLE = {  # label and colour of each consensus band, as the dashboard draws them
    "very_high": ("Very high  >250 mg/dL", "#b34700"),
    "high": ("High  181-250 mg/dL", "#e8a33d"),
    "in_range": ("In range  70-180 mg/dL", "#1a7f37"),
    "low": ("Low  54-69 mg/dL", "#d1242f"),
    "very_low": ("Very low  <54 mg/dL", "#82071e"),
}
_TARGETS = {
    "very_high": "<5 %",
    "high": "<25 % (both highs)",
    "in_range": ">70 %",
    "low": "<4 % (both lows)",
    "very_low": "<1 %",
}


@dataclass(frozen=True, slots=True)
class PrintedAlert:
    began_at: datetime
    severity: str
    summary: str
    status: str


@dataclass(frozen=True, slots=True)
class PatientReport:
    """Everything the two pages show, gathered by ``reports.service.patient_report``."""

    name: str
    mrn: str
    birth_date: str | None
    conditions: Sequence[str]
    devices: Sequence[str]
    zone: ZoneInfo
    start: datetime
    end: datetime
    made_at: datetime
    glucose_series: str | None  # "CGM" or "meter"; None without glucose readings
    glucose: GlucoseSummary
    glucose_unit: str  # the reader's: "mg/dL" or "mmol/L"
    pressure: PressureSummary
    systolic: Sequence[Bucket]
    diastolic: Sequence[Bucket]
    weight: Sequence[Bucket]
    weight_latest: float | None
    weight_changes: dict[int, float | None]
    heart_rate: Stats
    spo2: Stats
    adherence_days: int
    alerts: Sequence[PrintedAlert]
    alerts_total: int


def render_pdf(report: PatientReport) -> bytes:
    from matplotlib import rc_context
    from matplotlib.backends.backend_pdf import PdfPages

    out = io.BytesIO()
    # TrueType fonts (not matplotlib's default Type 3) keep the text searchable and copyable.
    with (
        rc_context({"pdf.fonttype": 42}),
        PdfPages(out, metadata={"Title": f"Monitoring report: {report.name}", "Creator": "rpm"}) as pdf,
    ):
        for page in (_glucose_page(report), _vitals_page(report)):
            pdf.savefig(page)
    return out.getvalue()


def _page(report: PatientReport, number: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4)
    FigureCanvasAgg(figure)
    zone = report.zone
    period = (
        f"{_day(report.start, zone)} to {_day(report.end, zone)} ({(report.end - report.start).days} days)"
    )
    figure.text(0.06, 0.965, "Remote monitoring report", fontsize=16, weight="bold")
    figure.text(0.94, 0.965, f"page {number} of 2", fontsize=8, ha="right", color="#4a5561")
    born = f"   born {report.birth_date}" if report.birth_date else ""
    figure.text(0.06, 0.94, f"{report.name}   MRN {report.mrn}{born}", fontsize=11)
    figure.text(0.06, 0.922, f"Conditions: {', '.join(report.conditions) or 'none recorded'}", fontsize=8.5)
    figure.text(
        0.06, 0.906, _wrap(f"Devices: {'; '.join(report.devices) or 'none'}", 130), fontsize=8.5, va="top"
    )
    figure.text(
        0.06,
        0.878,
        f"Period {period}.  Times in {zone.key}.  Printed {_stamp(report.made_at, zone)}.",
        fontsize=8.5,
        color="#4a5561",
    )
    figure.add_artist(_rule(figure, 0.868))
    return figure


def _glucose_page(report: PatientReport) -> Figure:
    figure = _page(report, 1)
    s = report.glucose
    source = {"CGM": "continuous glucose monitor", "meter": "glucose meter"}.get(
        report.glucose_series or "", ""
    )
    figure.text(0.06, 0.845, "Glucose" + (f" ({source})" if source else ""), fontsize=13, weight="bold")
    if report.glucose_series is None:
        figure.text(0.06, 0.82, "No glucose readings in this period.", fontsize=10)
        return figure
    unit = report.glucose_unit
    suff = s.sufficiency
    enough = (
        "enough for a consensus report" if suff.sufficient else "less than the consensus asks (14 days, 70 %)"
    )
    lines = [
        ("Mean glucose", glucose_text(s.mean, unit)),
        ("Glucose management indicator (GMI)", "–" if s.gmi is None else f"{s.gmi:.1f} %"),
        ("Glucose variability (CV)", "–" if s.cv is None else f"{s.cv:.1f} %  (target 36 % or less)"),
        ("Days with readings", f"{suff.days_with_data}"),
        (
            "Readings / expected",
            f"{suff.readings} / {suff.expected}  ({suff.percent_expected:.0f} %, {enough})",
        ),
    ]
    for i, (label, value) in enumerate(lines):
        y = 0.815 - i * 0.02
        figure.text(0.06, y, label, fontsize=9)
        figure.text(0.42, y, value, fontsize=9, weight="bold")
    _ranges(figure.add_axes((0.08, 0.47, 0.14, 0.22)), s, unit)
    figure.text(0.06, 0.71, "Time in ranges", fontsize=11, weight="bold")
    figure.text(0.06, 0.425, "Ambulatory glucose profile", fontsize=11, weight="bold")
    if report.glucose_series != "CGM":  # a meter's few checks a day at set times leave most hours empty
        figure.text(
            0.06, 0.405, "Needs a continuous glucose monitor; these are glucose meter readings.", fontsize=9
        )
        return figure
    _agp(figure.add_axes((0.1, 0.09, 0.84, 0.3)), s, unit, report.zone)
    figure.text(
        0.06,
        0.408,
        "Each hour of the day over the whole period: the median, the middle half (25th-75th percentiles) "
        "and 90 % of readings (5th-95th).",
        fontsize=8,
        color="#4a5561",
    )
    return figure


def _ranges(axes: Axes, s: GlucoseSummary, unit: str) -> None:
    """The consensus stacked bar, with each band's share and its target beside it."""
    share = {r.band: r.percent for r in s.ranges}
    bottom = 0.0
    for band, *_ in BANDS:
        label, colour = _BAND_STYLE[band]
        axes.bar(0, share[band], bottom=bottom, color=colour, width=0.6)
        bottom += share[band]
    axes.set_xlim(-0.4, 0.4)
    axes.set_ylim(0, 100)
    axes.axis("off")
    figure = axes.get_figure()
    assert figure is not None
    for i, (band, *_) in enumerate(reversed(BANDS)):
        label, colour = _BAND_STYLE[band]
        y = 0.675 - i * 0.045
        figure.text(0.25, y, glucose_in(label, unit), fontsize=9, color=colour, weight="bold")
        figure.text(0.25, y - 0.017, f"{share[band]:.1f} %   target {_TARGETS[band]}", fontsize=9)


def _agp(axes: Axes, s: GlucoseSummary, unit: str, zone: ZoneInfo) -> None:
    hours = [h.hour for h in s.agp if h.percentiles]
    scale = 1 / MG_PER_MMOL if unit == "mmol/L" else 1.0

    def line(q: int) -> list[float]:
        return [h.percentiles[q] * scale for h in s.agp if h.percentiles]

    if hours:
        axes.fill_between(hours, line(5), line(95), color="#0b5cad", alpha=0.15, label="5th-95th percentile")
        axes.fill_between(
            hours, line(25), line(75), color="#0b5cad", alpha=0.35, label="25th-75th percentile"
        )
        axes.plot(hours, line(50), color="#0b5cad", linewidth=2, label="median")
    for limit in (70, 180):
        axes.axhline(limit * scale, color="#1a7f37", linestyle="--", linewidth=1)
    axes.set_xlim(0, 23)
    axes.set_ylim(0, 350 * scale)
    axes.set_xticks(range(0, 24, 3), [f"{h:02d}:00" for h in range(0, 24, 3)])
    axes.set_xlabel(f"hour of day ({zone.key})")
    axes.set_ylabel(unit)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", fontsize=8)


def _vitals_page(report: PatientReport) -> Figure:
    figure = _page(report, 2)
    bp = report.pressure
    figure.text(0.06, 0.845, "Blood pressure, weight and other vitals", fontsize=13, weight="bold")

    def pair(p: tuple[float, float] | None) -> str:
        return "–" if p is None else f"{p[0]:.0f}/{p[1]:.0f} mmHg"

    def stats(x: Stats, unit: str, digits: int = 0) -> str:
        if x.mean is None or x.low is None or x.high is None:
            return "no readings"
        spread = f"{x.low:.{digits}f}-{x.high:.{digits}f}"
        return f"mean {x.mean:.{digits}f} {unit} (range {spread}, {x.count} readings)"

    changes = report.weight_changes
    change = ", ".join(f"{n} d {'–' if v is None else f'{v:+.1f} kg'}" for n, v in sorted(changes.items()))
    meets = "meets" if report.adherence_days >= ADHERENCE_DAYS else "below"
    lines = [
        ("Blood pressure", stats(bp.systolic, "mmHg") if bp.systolic.count == 0 else _bp(bp)),
        ("Morning / evening mean", f"{pair(bp.morning)} / {pair(bp.evening)}"),
        ("Home BP category", (bp.category or "–").replace("_", " ")),
        (
            "Weight",
            "no readings"
            if report.weight_latest is None
            else f"{report.weight_latest:.1f} kg; change {change}",
        ),
        ("Heart rate", stats(report.heart_rate, "/min")),
        ("SpO2", stats(report.spo2, "%", 1)),
        ("Days with readings", f"{report.adherence_days} of the last 30 ({meets} the 16-day rule)"),
    ]
    for i, (label, value) in enumerate(lines):
        y = 0.815 - i * 0.02
        figure.text(0.06, y, label, fontsize=9)
        figure.text(0.32, y, value, fontsize=9, weight="bold")
    _trend(
        figure.add_axes((0.1, 0.5, 0.38, 0.14)),
        "Blood pressure (daily means)",
        "mmHg",
        [("systolic", report.systolic, "#0b5cad"), ("diastolic", report.diastolic, "#b34700")],
        report,
    )
    _trend(
        figure.add_axes((0.58, 0.5, 0.36, 0.14)),
        "Body weight",
        "kg",
        [("weight", report.weight, "#1a7f37")],
        report,
    )
    _alerts(figure, report)
    return figure


def _bp(bp: PressureSummary) -> str:
    s, d = bp.systolic, bp.diastolic
    return f"mean {s.mean:.0f}/{d.mean:.0f} mmHg ({s.count} readings; highest {s.high:.0f}/{d.high:.0f})"


def _trend(
    axes: Axes,
    title: str,
    unit: str,
    lines: Sequence[tuple[str, Sequence[Bucket], str]],
    report: PatientReport,
) -> None:
    drawn = False
    for label, buckets, colour in lines:
        if buckets:
            axes.plot(
                [date_number(b.start) for b in buckets],
                [b.mean for b in buckets],
                color=colour,
                marker=".",
                linewidth=1,
                label=label,
            )
            drawn = True
    if not drawn:
        axes.text(0.5, 0.5, "no readings", transform=axes.transAxes, ha="center", color="#4a5561")
    left, right = date_number(report.start), date_number(report.end)
    axes.set_xlim(left, right)
    ticks = [report.start + (report.end - report.start) * i / 4 for i in range(5)]
    axes.set_xticks([date_number(t) for t in ticks], [_day(t, report.zone)[:6] for t in ticks])
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_ylabel(unit, fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    if len(lines) > 1 and drawn:
        axes.legend(fontsize=7, loc="best")


def _alerts(figure: Figure, report: PatientReport) -> None:
    top = 0.44
    figure.text(0.06, top, f"Alerts in the period ({report.alerts_total})", fontsize=11, weight="bold")
    if not report.alerts:
        figure.text(0.06, top - 0.025, "None.", fontsize=9)
        return
    columns = ((0.06, "Began"), (0.2, "Severity"), (0.29, "What happened"), (0.85, "Status"))
    y = top - 0.025
    for x, heading in columns:
        figure.text(x, y, heading, fontsize=8, weight="bold", color="#4a5561")
    y -= 0.006
    shown = 0
    for alert in report.alerts:
        summary = _wrap(glucose_in(alert.summary, report.glucose_unit), 80)
        rows = summary.count("\n") + 1
        if y - 0.0125 * rows < 0.04:
            break
        y -= 0.014
        figure.text(0.06, y, _stamp(alert.began_at, report.zone), fontsize=7.5, va="top")
        figure.text(0.2, y, alert.severity, fontsize=7.5, va="top", weight="bold")
        figure.text(0.29, y, summary, fontsize=7.5, va="top")
        figure.text(0.85, y, alert.status, fontsize=7.5, va="top")
        y -= 0.0125 * (rows - 1)
        shown += 1
    if report.alerts_total > shown:
        figure.text(
            0.06,
            0.025,
            f"… and {report.alerts_total - shown} earlier alerts (see the dashboard).",
            fontsize=8,
        )


def _rule(figure: Figure, y: float) -> Line2D:
    from matplotlib.lines import Line2D

    return Line2D([0.06, 0.94], [y, y], transform=figure.transFigure, color="#d0d7de", linewidth=1)


def _day(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%d %b %Y}"


def _stamp(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%d %b %Y %H:%M}"


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text
