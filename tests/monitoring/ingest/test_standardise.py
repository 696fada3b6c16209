from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.contract import ErrorCode, Reading
from monitoring.catalogue import SERIES, Series
from monitoring.ingest.standardise import standardise_reading
from monitoring.readings.records import StandardReading

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def standardise(reading: Reading) -> list[StandardReading] | tuple[ErrorCode, str]:
    return standardise_reading(reading, patient_id=uuid4(), device_id=uuid4(), seq=3, received_at=NOW)


def rows(reading: Reading) -> list[StandardReading]:
    result = standardise(reading)
    assert isinstance(result, list), result
    return result


@pytest.mark.parametrize(
    ("metric", "unit", "value", "series", "stored"),
    [
        ("glucose_meter", "mmol/L", 5.5, Series.GLUCOSE_METER, 99.088),
        ("glucose_cgm", "mg/dL", 110, Series.GLUCOSE_CGM, 110),
        ("body_temperature", "[degF]", 100.4, Series.BODY_TEMPERATURE, 38.0),
        ("body_weight", "[lb_av]", 176.37, Series.BODY_WEIGHT, 80.0),
        ("body_weight", "g", 80_000, Series.BODY_WEIGHT, 80.0),
        ("heart_rate", "{beats}/min", 64, Series.HEART_RATE, 64),
    ],
)
def test_values_are_stored_in_the_canonical_unit_with_the_original_kept(
    metric: str, unit: str, value: float, series: Series, stored: float
) -> None:
    (row,) = rows(Reading(metric=metric, unit=unit, at=NOW, value=value))
    assert row.series is series
    assert row.value == pytest.approx(stored, abs=0.01)
    canonical = SERIES[series].unit
    if unit == canonical:
        assert (row.original_value, row.original_unit) == (None, None)
    else:
        assert (row.original_value, row.original_unit) == (value, unit)


def test_blood_pressure_becomes_two_series_sharing_the_measurement() -> None:
    systolic, diastolic = rows(
        Reading(metric="blood_pressure", unit="mm[Hg]", at=NOW, systolic=142, diastolic=91, sqi=0.9)
    )
    assert (systolic.series, systolic.value) == (Series.BP_SYSTOLIC, 142)
    assert (diastolic.series, diastolic.value) == (Series.BP_DIASTOLIC, 91)
    assert systolic.measured_at == diastolic.measured_at == NOW
    assert SERIES[Series.BP_SYSTOLIC].panel_loinc == "85354-9"
    assert systolic.sqi == 0.9


@pytest.mark.parametrize(
    "reading",
    [
        Reading(metric="heart_rate", unit="/min", at=NOW, value=400),
        Reading(metric="spo2", unit="%", at=NOW, value=101),
        Reading(metric="body_temperature", unit="[degF]", at=NOW, value=150),
        Reading(metric="blood_pressure", unit="mm[Hg]", at=NOW, systolic=80, diastolic=95),
    ],
)
def test_implausible_values_are_refused_with_the_reason(reading: Reading) -> None:
    result = standardise(reading)
    assert isinstance(result, tuple)
    code, message = result
    assert code is ErrorCode.VALUE_IMPLAUSIBLE
    assert "plausible" in message or "not below systolic" in message


@given(value=st.floats(min_value=0.5, max_value=60.0))
def test_glucose_in_mmol_is_stored_within_plausible_limits_or_refused(value: float) -> None:
    result = standardise(Reading(metric="glucose_meter", unit="mmol/L", at=NOW, value=value))
    info = SERIES[Series.GLUCOSE_METER]
    if isinstance(result, list):
        assert info.plausible_min <= result[0].value <= info.plausible_max
    else:
        assert result[0] is ErrorCode.VALUE_IMPLAUSIBLE
