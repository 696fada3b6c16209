"""Vocabulary shared by every stage: conditions, severities, statuses."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Condition(StrEnum):
    HYPERTENSION = "hypertension"
    TYPE1_DIABETES = "type1_diabetes"
    TYPE2_DIABETES = "type2_diabetes"
    HEART_FAILURE = "heart_failure"
    COPD = "copd"
    ATRIAL_FIBRILLATION = "atrial_fibrillation"

    @property
    def label(self) -> str:
        """How people write it: "Type 1 diabetes", "COPD"."""
        return _CONDITION_LABELS[self]


_CONDITION_LABELS = {
    Condition.HYPERTENSION: "Hypertension",
    Condition.TYPE1_DIABETES: "Type 1 diabetes",
    Condition.TYPE2_DIABETES: "Type 2 diabetes",
    Condition.HEART_FAILURE: "Heart failure",
    Condition.COPD: "COPD",
    Condition.ATRIAL_FIBRILLATION: "Atrial fibrillation",
}


class Severity(StrEnum):
    """Alert severity, lowest first; compare with ``rank``."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


ACTIVE_ALERT_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class DeviceState(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class PatientState(StrEnum):
    ACTIVE = "active"
    DISCHARGED = "discharged"


MG_PER_MMOL = 18.016  # mg/dL of glucose in 1 mmol/L


class GlucoseUnit(StrEnum):
    """How a person reads glucose; stored values are always mg/dL (1 mmol/L = 18.016 mg/dL)."""

    MG_DL = "mg/dL"
    MMOL_L = "mmol/L"


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name``; ValueError names what is wrong.

    >>> time_zone("Europe/Paris").key
    'Europe/Paris'
    >>> time_zone("Mars/Olympus")
    Traceback (most recent call last):
    ...
    ValueError: unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Paris or America/New_York
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Paris or America/New_York"
        ) from error
