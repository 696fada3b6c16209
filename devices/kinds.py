"""The kinds of home device, what each reports, in which units, and how often.

The server uses ``expected_interval`` to tell when a device has gone quiet;
simulators use the same table to behave like the real thing. Units are the ones
such devices really send (some glucometers report mmol/L, some scales pounds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from devices.contract import Metric


class DeviceKind(StrEnum):
    WEARABLE = "wearable"
    BP_CUFF = "bp_cuff"
    CGM = "cgm"
    GLUCOMETER = "glucometer"
    SCALE = "scale"
    PULSE_OXIMETER = "pulse_oximeter"
    THERMOMETER = "thermometer"

    @property
    def label(self) -> str:
        """How people call it: "Blood pressure cuff", "Continuous glucose monitor"."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    DeviceKind.WEARABLE: "Wearable",
    DeviceKind.BP_CUFF: "Blood pressure cuff",
    DeviceKind.CGM: "Continuous glucose monitor",
    DeviceKind.GLUCOMETER: "Glucose meter",
    DeviceKind.SCALE: "Scale",
    DeviceKind.PULSE_OXIMETER: "Pulse oximeter",
    DeviceKind.THERMOMETER: "Thermometer",
}


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: DeviceKind
    metrics: tuple[tuple[Metric, str], ...]  # (metric, unit as sent)
    # How often a measurement is taken, and how many are sent together in one message.
    sample_every: timedelta
    batch: int
    # Longest normal silence: after this the device is considered quiet.
    expected_interval: timedelta
    description: str
    # Sent once a day (the day's total), e.g. steps from a wearable.
    daily: tuple[tuple[Metric, str], ...] = ()
    # Recorded when the user enters them, on no schedule: a CGM receiver's or app's finger-stick
    # calibrations (Nightscout ``mbg`` entries). Accepted, never expected.
    entered: tuple[Metric, ...] = ()


KINDS: dict[DeviceKind, KindSpec] = {
    DeviceKind.WEARABLE: KindSpec(
        DeviceKind.WEARABLE,
        (
            (Metric.HEART_RATE, "/min"),
            (Metric.SPO2, "%"),
            (Metric.RESPIRATORY_RATE, "/min"),
            (Metric.SKIN_TEMPERATURE, "Cel"),
        ),
        sample_every=timedelta(minutes=1),
        batch=10,
        expected_interval=timedelta(minutes=30),
        description="wrist wearable: heart rate, SpO2, respiratory rate, skin temperature each minute",
        daily=((Metric.STEPS, "/d"),),
    ),
    DeviceKind.BP_CUFF: KindSpec(
        DeviceKind.BP_CUFF,
        ((Metric.BLOOD_PRESSURE, "mm[Hg]"), (Metric.HEART_RATE, "/min")),
        sample_every=timedelta(hours=8),
        batch=1,
        expected_interval=timedelta(hours=26),
        description="upper-arm cuff: blood pressure and pulse, morning and evening",
    ),
    DeviceKind.CGM: KindSpec(
        DeviceKind.CGM,
        ((Metric.GLUCOSE_CGM, "mg/dL"),),
        sample_every=timedelta(minutes=5),
        batch=1,
        expected_interval=timedelta(minutes=20),
        description="continuous glucose monitor: interstitial glucose every 5 minutes",
        entered=(Metric.GLUCOSE_METER,),
    ),
    DeviceKind.GLUCOMETER: KindSpec(
        DeviceKind.GLUCOMETER,
        ((Metric.GLUCOSE_METER, "mmol/L"),),
        sample_every=timedelta(hours=6),
        batch=1,
        expected_interval=timedelta(hours=26),
        description="finger-stick meter (mmol/L): before meals and at bedtime",
    ),
    DeviceKind.SCALE: KindSpec(
        DeviceKind.SCALE,
        ((Metric.BODY_WEIGHT, "[lb_av]"),),
        sample_every=timedelta(days=1),
        batch=1,
        expected_interval=timedelta(hours=36),
        description="bathroom scale (pounds): every morning",
    ),
    DeviceKind.PULSE_OXIMETER: KindSpec(
        DeviceKind.PULSE_OXIMETER,
        ((Metric.SPO2, "%"), (Metric.HEART_RATE, "/min")),
        sample_every=timedelta(hours=4),
        batch=1,
        expected_interval=timedelta(hours=26),
        description="finger pulse oximeter: spot checks through the day",
    ),
    DeviceKind.THERMOMETER: KindSpec(
        DeviceKind.THERMOMETER,
        ((Metric.BODY_TEMPERATURE, "[degF]"),),
        sample_every=timedelta(hours=12),
        batch=1,
        expected_interval=timedelta(hours=36),
        description="oral thermometer ([degF]): morning and evening",
    ),
}


def metrics_of(kind: str) -> frozenset[str]:
    """The wire names of the metrics a device of ``kind`` may send (none for an unknown kind)."""
    try:
        spec = KINDS[DeviceKind(kind)]
    except ValueError:
        return frozenset()
    scheduled = (metric for metric, _ in spec.metrics + spec.daily)
    return frozenset(metric.value for metric in (*scheduled, *spec.entered))
