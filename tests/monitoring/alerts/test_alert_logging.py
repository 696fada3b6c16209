"""Alert changes reach the operator's log without the patient's values (no PHI in logs)."""

from __future__ import annotations

import logging
from uuid import uuid4

import pytest

from monitoring.alerts.from_findings import AlertChange
from monitoring.domain import Severity
from monitoring.runtime import _log_alert_changes


def test_the_log_names_the_alert_but_not_the_readings(caplog: pytest.LogCaptureFixture) -> None:
    alert_id, patient_id = uuid4(), uuid4()
    summary = "Heart rate below the care-plan limit of 45 /min for 5 consecutive readings (38, 36 /min)."
    change = AlertChange(alert_id, patient_id, "opened", Severity.HIGH, "threshold.heart_rate.low", summary)
    with caplog.at_level(logging.INFO):
        _log_alert_changes([change])
    (record,) = [r for r in caplog.records if r.name == "monitoring.runtime"]
    text = record.getMessage()
    assert str(alert_id) in text
    assert "threshold.heart_rate.low" in text
    assert "38, 36" not in text  # the readings
    assert "care-plan limit" not in text  # nor any of the sentence that carries them
    assert str(patient_id) not in text
