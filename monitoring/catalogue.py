"""The stored vital-sign series: LOINC code, canonical UCUM unit, plausibility limits.

A wire metric maps to one series, except blood pressure, whose two components
are stored as two series that share the panel code 85354-9. Series ids are
small integers stored with every reading; they are append-only: never renumber.
Codes follow the HL7 FHIR R4 vital-signs profile (see docs/clinical notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from devices.contract import METRICS, Metric


class Series(IntEnum):
    HEART_RATE = 1
    RESPIRATORY_RATE = 2
    SPO2 = 3
    BP_SYSTOLIC = 4
    BP_DIASTOLIC = 5
    BODY_TEMPERATURE = 6
    SKIN_TEMPERATURE = 7
    BODY_WEIGHT = 8
    GLUCOSE_CGM = 9
    GLUCOSE_METER = 10
    STEPS = 11

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def info(self) -> SeriesInfo:
        return SERIES[self]

    @classmethod
    def from_key(cls, key: str) -> Series:
        try:
            return cls[key.upper()]
        except KeyError:
            raise ValueError(f"unknown series {key!r}") from None


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    label: str
    loinc: str
    unit: str
    # Values outside these limits cannot be physiological: they are device faults.
    plausible_min: float
    plausible_max: float
    panel_loinc: str | None = None

    def implausible(self, key: str, value: float) -> str | None:
        """Why ``value`` (in ``unit``) cannot be a measurement of this series, or None if it can."""
        if self.plausible_min <= value <= self.plausible_max:
            return None
        return (
            f"{key} {value:g} {self.unit} is outside the plausible range "
            f"{self.plausible_min:g}-{self.plausible_max:g} {self.unit}"
        )


SERIES: dict[Series, SeriesInfo] = {
    Series.HEART_RATE: SeriesInfo("Heart rate", "8867-4", "/min", 20, 300),
    Series.RESPIRATORY_RATE: SeriesInfo("Respiratory rate", "9279-1", "/min", 2, 80),
    Series.SPO2: SeriesInfo("SpO2", "59408-5", "%", 50, 100),
    Series.BP_SYSTOLIC: SeriesInfo("Systolic BP", "8480-6", "mm[Hg]", 40, 300, "85354-9"),
    Series.BP_DIASTOLIC: SeriesInfo("Diastolic BP", "8462-4", "mm[Hg]", 20, 200, "85354-9"),
    Series.BODY_TEMPERATURE: SeriesInfo("Body temperature", "8310-5", "Cel", 25, 45),
    Series.SKIN_TEMPERATURE: SeriesInfo("Skin temperature", "39106-0", "Cel", 15, 45),
    Series.BODY_WEIGHT: SeriesInfo("Body weight", "29463-7", "kg", 2, 400),
    Series.GLUCOSE_CGM: SeriesInfo("Glucose (CGM)", "99504-3", "mg/dL", 10, 1000),
    Series.GLUCOSE_METER: SeriesInfo("Glucose (meter)", "41653-7", "mg/dL", 10, 1000),
    Series.STEPS: SeriesInfo("Steps per day", "41950-7", "/d", 0, 200_000),
}

# Which stored series each wire metric (or its components, in order) becomes.
SERIES_OF_METRIC: dict[Metric, tuple[Series, ...]] = {
    Metric.HEART_RATE: (Series.HEART_RATE,),
    Metric.RESPIRATORY_RATE: (Series.RESPIRATORY_RATE,),
    Metric.SPO2: (Series.SPO2,),
    Metric.BLOOD_PRESSURE: (Series.BP_SYSTOLIC, Series.BP_DIASTOLIC),
    Metric.BODY_TEMPERATURE: (Series.BODY_TEMPERATURE,),
    Metric.SKIN_TEMPERATURE: (Series.SKIN_TEMPERATURE,),
    Metric.BODY_WEIGHT: (Series.BODY_WEIGHT,),
    Metric.GLUCOSE_CGM: (Series.GLUCOSE_CGM,),
    Metric.GLUCOSE_METER: (Series.GLUCOSE_METER,),
    Metric.STEPS: (Series.STEPS,),
}


def _check_catalogue() -> None:
    for metric, series in SERIES_OF_METRIC.items():
        for one in series:
            if SERIES[one].unit != METRICS[metric].canonical_unit:
                raise AssertionError(f"{one.key} unit differs from {metric} canonical unit")


_check_catalogue()
