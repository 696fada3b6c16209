"""A PNG chart of one series for clinicians: the trend with its min-max band, care-plan limits
and the alerts raised on it. Drawn with matplotlib's object API (no global pyplot state), so it
is safe to call from worker threads. matplotlib is imported on the first chart."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from monitoring.readings.repository import Bucket

SEVERITY_COLOURS = {"low": "#6c757d", "medium": "#f0ad4e", "high": "#d9534f", "critical": "#8b0000"}


@dataclass(frozen=True, slots=True)
class Marker:
    at: datetime
    label: str
    severity: str


def date_number(at: datetime) -> float:
    """matplotlib's date number: days since 1970-01-01 UTC."""
    return at.timestamp() / 86_400


def render(
    *,
    title: str,
    unit: str,
    buckets: Sequence[Bucket],
    low: float | None,
    high: float | None,
    alerts: Sequence[Marker],
    start: datetime,
    end: datetime,
    zone: tzinfo = UTC,
) -> bytes:
    # Imported here: matplotlib takes about a second to import, and every process that
    # serves the API (or only ingests) would pay it at start-up for a chart it may never draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    times = [date_number(b.start) for b in buckets]
    if buckets:
        axes.fill_between(
            times, [b.low for b in buckets], [b.high for b in buckets], alpha=0.25, label="min-max"
        )
        axes.plot(times, [b.mean for b in buckets], linewidth=1.2, label="mean")
    else:
        axes.text(0.5, 0.5, "no readings in this range", transform=axes.transAxes, ha="center")
    for limit, name in ((low, "care-plan low"), (high, "care-plan high")):
        if limit is not None:
            axes.axhline(limit, linestyle="--", linewidth=1, color="#555555", label=f"{name} {limit:g}")
    for marker in alerts:
        axes.axvline(
            date_number(marker.at),
            color=SEVERITY_COLOURS.get(marker.severity, "black"),
            linewidth=1.5,
            alpha=0.8,
        )
        axes.annotate(
            marker.label,
            (date_number(marker.at), 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
        )
    axes.set_xlim(date_number(start), date_number(end))
    axes.xaxis_date(zone)
    axes.set_xlabel(f"time ({zone})")
    axes.set_title(title)
    axes.set_ylabel(unit)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="lower left", fontsize=7)
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
