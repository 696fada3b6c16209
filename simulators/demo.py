"""The demo cohort: a few patients whose devices publish over MQTT, one of whom deteriorates.

Deliberately small; the full physiology, events and faults live beside it. The
cadence is compressed so something happens within a minute: wearables report
every ``interval_s`` seconds of real time.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from devices.contract import Metric, Reading
from devices.publisher import BrokerAddress, DevicePublisher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Episode:
    """A ground-truth event: from ``start_s`` after launch, ``metric`` drifts by ``shift`` over ``ramp_s``."""

    label: str
    metric: Metric
    start_s: float
    shift: float
    ramp_s: float = 10.0

    def offset(self, elapsed_s: float) -> float:
        if elapsed_s < self.start_s:
            return 0.0
        return self.shift * min(1.0, (elapsed_s - self.start_s) / self.ramp_s)


@dataclass(frozen=True, slots=True)
class DemoPatient:
    mrn: str
    name: str
    conditions: tuple[str, ...]
    wearable: str
    heart_rate: float
    spo2: float
    respiratory_rate: float
    meter: str | None = None
    glucose_mmol: float | None = None
    episodes: tuple[Episode, ...] = field(default=())


DEMO_COHORT: tuple[DemoPatient, ...] = (
    DemoPatient("DEMO-001", "Ada Moreau", ("hypertension",), "wrist-demo-001", 68, 97.5, 14),
    DemoPatient(
        "DEMO-002",
        "Ben Okafor",
        ("type2_diabetes",),
        "wrist-demo-002",
        74,
        97.0,
        15,
        meter="meter-demo-002",
        glucose_mmol=7.4,  # this meter reports mmol/L; the service stores mg/dL
    ),
    DemoPatient(
        "DEMO-003",
        "Chen Li",
        ("heart_failure",),
        "wrist-demo-003",
        78,
        95.5,
        16,
        episodes=(Episode("tachycardia", Metric.HEART_RATE, start_s=12, shift=45),),
    ),
    DemoPatient("DEMO-004", "Dana Whitfield", ("copd",), "wrist-demo-004", 82, 91.0, 18),
)


class DemoSimulator:
    """Publishes the cohort's readings until stopped. Runs on its own thread."""

    def __init__(
        self,
        broker: BrokerAddress,
        *,
        root: str,
        cohort: tuple[DemoPatient, ...] = DEMO_COHORT,
        interval_s: float = 2.0,
        seed: int = 7,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.broker = broker
        self.root = root
        self.cohort = cohort
        self.interval_s = interval_s
        self.random = random.Random(seed)
        self.clock = clock
        self.published = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-simulator", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        publishers: dict[str, DevicePublisher] = {}
        try:
            for patient in self.cohort:
                for serial, kind in ((patient.wearable, "wearable"), (patient.meter, "glucometer")):
                    if serial is not None:
                        publisher = DevicePublisher(serial, self.broker, kind=kind, root=self.root)
                        publisher.connect()
                        publishers[serial] = publisher
            started = self.clock()
            tick = 0
            while not self._stop.is_set():
                now = self.clock()
                elapsed = (now - started).total_seconds()
                for patient in self.cohort:
                    publishers[patient.wearable].publish(self._wearable(patient, now, elapsed))
                    self.published += 1
                    # Finger-stick glucose: much rarer than the wearable.
                    if patient.meter is not None and tick % 10 == 0:
                        publishers[patient.meter].publish(self._glucose(patient, now))
                        self.published += 1
                tick += 1
                self._stop.wait(self.interval_s)
        except Exception:
            log.exception("demo simulator stopped on an error")
        finally:
            for publisher in publishers.values():
                publisher.close()

    def _wearable(self, patient: DemoPatient, now: datetime, elapsed: float) -> list[Reading]:
        gauss = self.random.gauss
        drift = {e.metric: e.offset(elapsed) for e in patient.episodes}
        # A slow rhythm stands in for the circadian swing; the noise is the sensor's.
        swing = math.sin(elapsed / 600 * 2 * math.pi)
        hr = patient.heart_rate + 3 * swing + gauss(0, 1.5) + drift.get(Metric.HEART_RATE, 0)
        spo2 = min(100.0, patient.spo2 + gauss(0, 0.4) + drift.get(Metric.SPO2, 0))
        rr = patient.respiratory_rate + gauss(0, 0.8) + drift.get(Metric.RESPIRATORY_RATE, 0)
        return [
            Reading(metric=Metric.HEART_RATE, unit="/min", at=now, value=round(hr)),
            Reading(metric=Metric.SPO2, unit="%", at=now, value=round(spo2, 1)),
            Reading(metric=Metric.RESPIRATORY_RATE, unit="/min", at=now, value=round(rr)),
        ]

    def _glucose(self, patient: DemoPatient, now: datetime) -> list[Reading]:
        assert patient.glucose_mmol is not None
        value = max(2.5, patient.glucose_mmol + self.random.gauss(0, 0.6))
        return [Reading(metric=Metric.GLUCOSE_METER, unit="mmol/L", at=now, value=round(value, 1))]
