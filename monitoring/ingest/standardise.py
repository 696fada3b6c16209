"""Standardisation: canonical UCUM units, stored series, plausibility limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from devices.contract import METRICS, ErrorCode, Reading, ReadingError, ReadingsMessage
from devices.units import to_canonical
from monitoring.catalogue import SERIES, SERIES_OF_METRIC, Series, SeriesInfo
from monitoring.readings.records import StandardReading


def _values(reading: Reading) -> tuple[float, ...]:
    if reading.value is not None:
        return (reading.value,)
    assert reading.systolic is not None
    assert reading.diastolic is not None
    return (reading.systolic, reading.diastolic)


@dataclass(frozen=True, slots=True)
class _Route:
    """Where a wire metric goes: its canonical unit and, per component, the series and its limits."""

    canonical: str
    series: tuple[tuple[Series, SeriesInfo], ...]


# Looked up by the wire name (a StrEnum member hashes as its string): one dict hit per reading.
_ROUTES: dict[str, _Route] = {
    metric.value: _Route(METRICS[metric].canonical_unit, tuple((s, SERIES[s]) for s in series))
    for metric, series in SERIES_OF_METRIC.items()
}


def standardise_reading(
    reading: Reading,
    *,
    patient_id: UUID,
    device_id: UUID,
    seq: int,
    received_at: datetime,
) -> list[StandardReading] | tuple[ErrorCode, str]:
    """Turn one contract-valid reading into stored rows, or say why it is implausible."""
    route = _ROUTES[reading.metric]
    canonical = route.canonical
    unit = reading.unit
    converted = unit != canonical
    rows: list[StandardReading] = []
    for (series, info), original in zip(route.series, _values(reading), strict=True):
        value = to_canonical(original, unit, canonical) if converted else original
        if not info.plausible_min <= value <= info.plausible_max:
            why = info.implausible(series.key, value)
            assert why is not None
            return ErrorCode.VALUE_IMPLAUSIBLE, why
        rows.append(
            StandardReading(
                patient_id,
                device_id,
                series,
                reading.at,
                value,
                seq,
                received_at,
                original if converted else None,
                unit if converted else None,
                reading.sqi,
            )
        )
    if rows[0].series is Series.BP_SYSTOLIC and rows[1].value >= rows[0].value:
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
    kind: str | None = None,
    metrics: frozenset[str] | None = None,
) -> tuple[list[StandardReading], list[ReadingError]]:
    """Standardise every reading the contract accepted; collect all per-reading errors.

    ``metrics`` (when given) are what the device's ``kind`` measures: any other
    metric is refused on its own, so a wearable cannot report a patient's glucose.
    """
    rejected = {error.index for error in contract_errors}
    errors = list(contract_errors)
    rows: list[StandardReading] = []
    seq = message.seq
    for index, reading in enumerate(message.readings):
        if index in rejected:
            continue
        if metrics is not None and reading.metric not in metrics:
            errors.append(
                ReadingError(
                    index,
                    ErrorCode.METRIC_NOT_FOR_DEVICE,
                    f"a {kind or 'device of unknown kind'} does not measure {reading.metric}; "
                    f"it may send {', '.join(sorted(metrics)) or 'nothing'}",
                )
            )
            continue
        result = standardise_reading(
            reading, patient_id=patient_id, device_id=device_id, seq=seq, received_at=received_at
        )
        if isinstance(result, tuple):
            errors.append(ReadingError(index, *result))
        else:
            rows.extend(result)
    if errors:
        errors.sort(key=lambda error: error.index)
    return rows, errors
