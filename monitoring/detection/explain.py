"""How findings read: number and time formatting, and the one constructor every detector uses."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.findings import Finding, FindingKind
from monitoring.domain import Severity


def fmt(value: float) -> str:
    return f"{round(value, 1):g}"


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at.utcoffset() is not None else at.isoformat()


def points(readings: Iterable[tuple[datetime, float]]) -> list[dict[str, Any]]:
    return [{"at": at.isoformat(), "value": round(value, 2)} for at, value in readings]


def finding(
    *,
    detector: str,
    patient_id: UUID,
    alert_type: str,
    step: str,
    started: datetime,
    at: datetime,
    severity: Severity,
    summary: str,
    explanation: dict[str, Any],
    series: Series | None = None,
) -> Finding:
    """A finding whose explanation always names its detector and window."""
    explanation = {
        "detector": detector,
        **explanation,
        "window": {"start": started.isoformat(), "end": at.isoformat()},
    }
    return Finding(
        patient_id=patient_id,
        alert_type=alert_type,
        detector=detector,
        kind=FindingKind(step),
        severity=severity,
        episode_started_at=started,
        at=at,
        summary=summary,
        explanation=explanation,
        series=series,
    )
