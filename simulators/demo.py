"""The demo cohort: a few patients over the last hour and on into real time, one of whom deteriorates.

The simulated clock starts an hour ago and runs at 60x until it reaches the
present, then keeps pace with it, so a newcomer sees history and an alert
within a minute. Device faults are left out so the demo behaves the same
every time; artefacts and daily life stay in.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from devices.client import BrokerAddress
from simulators.cohort import Cohort, build_cohort
from simulators.episodes import Effect, Episode
from simulators.profiles import COPD, HEART_FAILURE, HYPERTENSION, TYPE1_DIABETES, TYPE2_DIABETES
from simulators.run import RunStats, play
from simulators.sinks import MqttSink

log = logging.getLogger(__name__)

DEMO_CONDITIONS = (
    (HYPERTENSION,),
    (TYPE2_DIABETES, HYPERTENSION),
    (HEART_FAILURE,),
    (COPD,),
    (TYPE1_DIABETES,),
)
DETERIORATING = 2  # the heart-failure patient
SPEED = 60.0


def demo_cohort(now: datetime) -> Cohort:
    start = now - timedelta(hours=1)
    cohort = build_cohort(
        size=len(DEMO_CONDITIONS), start=start, days=1, seed=7, conditions=DEMO_CONDITIONS, prefix="DEMO"
    )
    cohort.site = "DEMO"
    for patient in cohort.patients:
        patient.faults = []
    patient = cohort.patients[DETERIORATING]
    onset = start + timedelta(minutes=15)
    patient.episodes.append(
        Episode(
            type="af_rapid_ventricular_response",
            kind="event",
            patient=patient.mrn,
            start=onset,
            end=onset + timedelta(hours=2),
            severity="high",
            onset=timedelta(minutes=2),
            effects=(Effect("heart_rate", target=128, extra_sd=14),),
            metrics=("heart_rate",),
        )
    )
    return cohort


class DemoSimulator:
    """Plays the demo cohort to a broker on a background thread until stopped."""

    def __init__(
        self, cohort: Cohort, broker: BrokerAddress, *, root: str, credentials: Mapping[str, str]
    ) -> None:
        """``credentials``: each simulated device's MQTT password, by serial."""
        self.cohort = cohort
        self._outboxes = tempfile.TemporaryDirectory(prefix="rpm-demo-outbox-")
        self.sink = MqttSink(broker, Path(self._outboxes.name), root=root, credentials=credentials)
        self._stop = threading.Event()
        self.stats: RunStats | None = None
        self._thread = threading.Thread(target=self._run, name="demo-simulator", daemon=True)

    @property
    def deteriorating_patient(self) -> str:
        return self.cohort.patients[DETERIORATING].mrn

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self.stats = play(self.cohort, self.sink, speed=SPEED, live=True, stop=self._stop)
        except Exception:
            log.exception("demo simulator stopped on an error")

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self.sink.finish(timeout_s=2.0)
        self._outboxes.cleanup()
