"""Vocabulary shared by every stage: conditions, severities, statuses."""

from __future__ import annotations

from enum import StrEnum


class Condition(StrEnum):
    HYPERTENSION = "hypertension"
    TYPE1_DIABETES = "type1_diabetes"
    TYPE2_DIABETES = "type2_diabetes"
    HEART_FAILURE = "heart_failure"
    COPD = "copd"
    ATRIAL_FIBRILLATION = "atrial_fibrillation"


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


class GlucoseUnit(StrEnum):
    """How a person reads glucose; stored values are always mg/dL (1 mmol/L = 18.016 mg/dL)."""

    MG_DL = "mg/dL"
    MMOL_L = "mmol/L"
