"""The demo cohort: a few patients with two weeks of history, then on into real time; one deteriorates.

Two weeks before now are uploaded at start as fast as the system takes them
(through the broker and ingestion like any reading), so every chart, the AGP,
triage and the reports have content from the first minute. The last hour then
replays at 60x until it reaches the present and keeps pace with it, so a
newcomer sees an alert open live within a minute. Device faults are left out
so the demo behaves the same every time; artefacts and daily life stay in.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Mapping
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
# Messages of history sent but not yet stored, at most: the upload goes as fast as ingestion
# stores it, not all at once (the embedded broker gives a subscriber 5 s to acknowledge each
# message, and the history's messages carry up to 500 readings each).
UPLOAD_AHEAD = 16


HISTORY = timedelta(days=14)  # uploaded at start
REPLAY = timedelta(hours=1)  # then played at SPEED until it reaches the present


def demo_cohort(now: datetime, history: timedelta = HISTORY) -> Cohort:
    """The cohort from ``history`` plus the replayed hour before ``now``, on for a day after it."""
    start = now - history - REPLAY
    cohort = build_cohort(
        size=len(DEMO_CONDITIONS),
        start=start,
        days=history.days + 2,
        seed=7,
        conditions=DEMO_CONDITIONS,
        prefix="DEMO",
    )
    cohort.site = "DEMO"
    cohort.time_zone = "Europe/London"  # on UTC's clock in winter, and every time still says its zone
    for patient in cohort.patients:
        patient.faults = []
    patient = cohort.patients[DETERIORATING]
    onset = now - REPLAY + timedelta(minutes=15)
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
        self,
        cohort: Cohort,
        broker: BrokerAddress,
        *,
        root: str,
        credentials: Mapping[str, str],
        now: datetime,
        taken_in: Callable[[], int],
    ) -> None:
        """``credentials``: each simulated device's MQTT password, by serial. What was measured
        up to an hour before ``now`` is history, uploaded at once; that hour is replayed.
        ``taken_in``: how many messages the receiver has stored so far (the upload keeps
        within ``UPLOAD_AHEAD`` of it)."""
        self.cohort = cohort
        self.replay_from = max(cohort.start, now - REPLAY)
        self._outboxes = tempfile.TemporaryDirectory(prefix="rpm-demo-outbox-")
        self.sink = MqttSink(broker, Path(self._outboxes.name), root=root, credentials=credentials)
        self.taken_in = taken_in
        self._stop = threading.Event()
        self.stats: RunStats | None = None
        self.history: RunStats | None = None  # what the upload of the history sent, once it has
        self.history_sent = threading.Event()
        self._replay = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-simulator", daemon=True)

    @property
    def deteriorating_patient(self) -> str:
        return self.cohort.patients[DETERIORATING].mrn

    def start(self) -> None:
        self._thread.start()

    def _backfilled(self, stats: RunStats) -> None:
        """The history is sent: hold the replay (and its story) until ``replay`` is called."""
        self.history = stats
        self.history_sent.set()
        while not (self._replay.wait(0.5) or self._stop.is_set()):
            pass

    def _keep_pace(self, sent: int) -> None:
        while sent - self.taken_in() >= UPLOAD_AHEAD and not self._stop.wait(0.01):
            pass

    def replay(self) -> None:
        """Start the paced last hour (the history has been taken in)."""
        self._replay.set()

    def _run(self) -> None:
        try:
            self.stats = play(
                self.cohort,
                self.sink,
                speed=SPEED,
                live=True,
                stop=self._stop,
                backfill_until=self.replay_from,
                backfilled=self._backfilled,
                upload_gate=self._keep_pace,
            )
        except Exception:
            log.exception("demo simulator stopped on an error")

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self.sink.finish(timeout_s=2.0)
        self._outboxes.cleanup()
