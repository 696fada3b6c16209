"""Standardisation: canonical UCUM units, stored series, plausibility limits."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from devices.contract import METRICS, ErrorCode, Metric, Reading, ReadingError, ReadingsMessage
from devices.units import to_canonical
from monitoring.catalogue import SERIES, SERIES_OF_METRIC
from monitoring.ingest.records import StandardReading


def _values(reading: Reading) -> tuple[float, ...]:
    if reading.value is not None:
        return (reading.value,)
    assert reading.systolic is not None
    assert reading.diastolic is not None
    return (reading.systolic, reading.diastolic)


def standardise_reading(
    reading: Reading,
    *,
    patient_id: UUID,
    device_id: UUID,
    seq: int,
    received_at: datetime,
) -> list[StandardReading] | tuple[ErrorCode, str]:
    """Turn one contract-valid reading into stored rows, or say why it is implausible."""
    metric = Metric(reading.metric)
    canonical = METRICS[metric].canonical_unit
    converted = reading.unit != canonical
    rows: list[StandardReading] = []
    for series, original in zip(SERIES_OF_METRIC[metric], _values(reading), strict=True):
        info = SERIES[series]
        value = to_canonical(original, reading.unit, canonical)
        if not info.plausible_min <= value <= info.plausible_max:
            return (
                ErrorCode.VALUE_IMPLAUSIBLE,
                f"{series.key} {value:g} {canonical} is outside the plausible range "
                f"{info.plausible_min:g}-{info.plausible_max:g} {canonical}",
            )
        rows.append(
            StandardReading(
                patient_id=patient_id,
                device_id=device_id,
                series=series,
                measured_at=reading.at,
                value=value,
                seq=seq,
                received_at=received_at,
                original_value=original if converted else None,
                original_unit=reading.unit if converted else None,
                sqi=reading.sqi,
            )
        )
    if metric is Metric.BLOOD_PRESSURE and rows[1].value >= rows[0].value:
        return (
            ErrorCode.VALUE_IMPLAUSIBLE,
            f"diastolic {rows[1].value:g} mm[Hg] is not below systolic {rows[0].value:g} mm[Hg]",
        )
    return rows


def standardise_message(
    message: ReadingsMessage,
    contract_errors: list[ReadingError],
    *,
    patient_id: UUID,
    device_id: UUID,
    received_at: datetime,
) -> tuple[list[StandardReading], list[ReadingError]]:
    """Standardise every reading the contract accepted; collect all per-reading errors."""
    rejected = {error.index for error in contract_errors}
    errors = list(contract_errors)
    rows: list[StandardReading] = []
    for index, reading in enumerate(message.readings):
        if index in rejected:
            continue
        result = standardise_reading(
            reading,
            patient_id=patient_id,
            device_id=device_id,
            seq=message.seq,
            received_at=received_at,
        )
        if isinstance(result, tuple):
            errors.append(ReadingError(index, *result))
        else:
            rows.extend(result)
    errors.sort(key=lambda error: error.index)
    return rows, errors
