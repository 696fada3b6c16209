"""Signal-quality gate: readings that are the device, not the patient, never reach clinical rules.

Checked per device and series, before any detector sees a reading:
- the device's own signal-quality index (``sqi`` below ``min_sqi``: motion, poor contact);
- an abrupt jump, faster than the body changes and not the continuation of a
  trend already under way (a CGM compression low, a motion spike): the new
  level is held as suspect and only believed once it has lasted
  ``confirm_after``; if the signal comes back first, it was an artefact. If
  it keeps moving the same way (``trend_release`` beyond the first suspect
  value), it is a fast real change, not a step artefact, and is believed at once;
- a stuck sensor: the exact same value many times in a row from a signal that
  always moves. That raises a device-problem alert, not a clinical one.

A reading at a sensor's reporting limit (a CGM's 40 or 400 mg/dL: "below / above
what I can measure") is neither: it is a real extreme, repeated because the
sensor cannot say more. It is believed at once and never counts towards stuck.

Limits are physiological (glucose does not fall 30 mg/dL in five minutes,
heart rate does not jump 40 beats in a minute at rest); they are defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from monitoring.catalogue import SERIES, Series
from monitoring.detection.explain import Explanation, finding, when
from monitoring.detection.findings import Finding, FindingKind, Observation
from monitoring.detection.state import dump_time, load_time, need_time
from monitoring.domain import Severity

MAX_HELD = 60  # suspect readings kept per device and series (a CGM's 40 minutes at one a minute)


class Verdict(StrEnum):
    OK = "ok"
    LOW_SQI = "low_sqi"
    SUSPECT_JUMP = "suspect_jump"
    STUCK = "stuck"


@dataclass(frozen=True, slots=True)
class QualityRule:
    max_jump: float | None = None  # largest believable change per minute, absolute ...
    max_jump_fraction: float = 0.0  # ... plus this fraction of the level, per minute
    confirm_after: timedelta = timedelta(minutes=5)
    stuck_count: int | None = None
    stuck_ignore: tuple[float, ...] = ()  # values a healthy signal may repeat (SpO2 100 %)
    min_sqi: float = 0.5
    suspect_above: float | None = None  # beyond what the body does at home: believe it once it lasts
    trend_release: float | None = None  # a suspect level that moves on this far the same way is real
    # A jump in the direction the signal has been moving at least this fast (per minute, smoothed
    # over the last readings) continues a real change: a fall into hypoglycaemia that steepens.
    trend_slope: float | None = None
    # Readings at or beyond these are the sensor's "lower / higher than I can measure".
    reporting_limits: tuple[float, float] | None = None

    def at_limit(self, value: float) -> bool:
        limits = self.reporting_limits
        return limits is not None and not limits[0] < value < limits[1]


RULES: dict[Series, QualityRule] = {
    # Heart rate jumps about in AF, so no jump rule: values above 200 /min must last 5 minutes.
    Series.HEART_RATE: QualityRule(suspect_above=200, confirm_after=timedelta(minutes=5), stuck_count=30),
    Series.SPO2: QualityRule(
        max_jump=4, confirm_after=timedelta(minutes=5), stuck_count=240, stuck_ignore=(100.0,)
    ),
    Series.RESPIRATORY_RATE: QualityRule(max_jump=8, stuck_count=60),
    Series.SKIN_TEMPERATURE: QualityRule(stuck_count=120),
    # Glucose changes at most a few mg/dL a minute; compression lows last 15-35 minutes.
    Series.GLUCOSE_CGM: QualityRule(
        max_jump=3,
        max_jump_fraction=0.01,
        confirm_after=timedelta(minutes=40),
        stuck_count=8,
        trend_release=15,
        trend_slope=1.0,
        reporting_limits=(40.0, 399.0),  # 39.6 and 399.6 are 2.2 and 22.2 mmol/L
    ),
}
_NO_RULE = QualityRule()


@dataclass(slots=True)
class _Track:
    last: float | None = None
    last_at: datetime | None = None
    step: float = 0.0  # the last change between readings
    slope: float = 0.0  # change per minute, smoothed over the last few believed readings
    anchor: float | None = None  # the value before a suspect jump
    suspect_since: datetime | None = None
    suspect_value: float | None = None  # the first reading of the suspect level
    same_value: float | None = None
    same_count: int = 0
    same_since: datetime | None = None
    stuck: bool = False
    # Readings held back while a suspect level is judged: (at, value, sqi). If the level is
    # believed they were real and are released to the detectors, in order; if not, dropped.
    held: list[tuple[datetime, float, float | None]] = field(default_factory=list)

    def dump(self) -> list[Any]:
        return [
            self.last,
            dump_time(self.last_at),
            self.step,
            self.anchor,
            dump_time(self.suspect_since),
            self.same_value,
            self.same_count,
            dump_time(self.same_since),
            self.stuck,
            self.suspect_value,
            self.slope,
            [[dump_time(at), value, sqi] for at, value, sqi in self.held],
        ]

    @classmethod
    def load(cls, row: list[Any]) -> _Track:
        return cls(
            last=row[0],
            last_at=load_time(row[1]),
            step=row[2],
            anchor=row[3],
            suspect_since=load_time(row[4]),
            same_value=row[5],
            same_count=row[6],
            same_since=load_time(row[7]),
            stuck=row[8],
            # Absent from checkpoints taken before they existed.
            suspect_value=row[9] if len(row) > 9 else None,
            slope=row[10] if len(row) > 10 else 0.0,
            held=[(need_time(at), value, sqi) for at, value, sqi in row[11]] if len(row) > 11 else [],
        )


@dataclass(slots=True)
class GateStats:
    checked: int = 0
    gated: dict[str, int] = field(default_factory=dict)


class SignalGate:
    name = "signal_quality"

    def __init__(
        self, rules: dict[Series, QualityRule] | None = None, default: QualityRule = _NO_RULE
    ) -> None:
        self.rules = RULES if rules is None else rules
        self.default = default
        # Patient -> (device, series) -> track, by the UUIDs' integers (hashed in C, not in Python).
        self._tracks: dict[int, dict[tuple[int, Series], _Track]] = {}
        self._released: list[Observation] = []
        self.stats = GateStats()

    def assess(self, obs: Observation) -> tuple[Verdict, list[Finding]]:
        """Judge one reading; return the verdict and any device-problem findings."""
        rule = self.rules.get(obs.series, self.default)
        tracks = self._tracks.get(obs.patient_id.int)
        if tracks is None:
            tracks = self._tracks[obs.patient_id.int] = {}
        key = (obs.device_id.int, obs.series)
        track = tracks.get(key)
        if track is None:  # (not setdefault: that would build a track for every reading)
            track = tracks[key] = _Track()
        findings = self._stuck(rule, track, obs)
        verdict = self._verdict(rule, track, obs)
        self.stats.checked += 1
        if verdict is not Verdict.OK:
            self.stats.gated[verdict.value] = self.stats.gated.get(verdict.value, 0) + 1
            if verdict is Verdict.SUSPECT_JUMP and len(track.held) < MAX_HELD:
                track.held.append((obs.at, obs.value, obs.sqi))
        return verdict, findings

    def take_released(self) -> Sequence[Observation]:
        """Readings held as suspect that the last ``assess`` came to believe, oldest first.

        They were real (the new level lasted, or kept moving), so the detectors
        should see them before the reading that confirmed them: an episode's
        start and duration then come from what was measured, not from when
        the gate made up its mind.
        """
        if not self._released:
            return ()
        released, self._released = self._released, []
        return released

    def _believe(self, track: _Track, obs: Observation) -> None:
        pid, series, device = obs.patient_id, obs.series, obs.device_id
        self._released = [Observation(pid, series, at, value, device, sqi) for at, value, sqi in track.held]
        track.held = []

    def plausible(self, obs: Observation) -> bool:
        """Whether a reading judged on its own (a late one) is clean enough to act on."""
        rule = self.rules.get(obs.series, self.default)
        return obs.sqi is None or obs.sqi >= rule.min_sqi

    def _verdict(self, rule: QualityRule, track: _Track, obs: Observation) -> Verdict:
        if track.stuck:
            return Verdict.STUCK
        if obs.sqi is not None and obs.sqi < rule.min_sqi:
            return Verdict.LOW_SQI
        if rule.at_limit(obs.value):
            # A real extreme: believe it, and what was held on the way there.
            track.last, track.last_at, track.step = obs.value, obs.at, 0.0
            if track.suspect_since is not None:
                track.suspect_since = None
                self._believe(track, obs)
            return Verdict.OK
        if rule.suspect_above is not None:
            if obs.value <= rule.suspect_above:
                track.suspect_since, track.held = None, []
                return Verdict.OK
            track.suspect_since = track.suspect_since or obs.at
            if obs.at - track.suspect_since < rule.confirm_after:
                return Verdict.SUSPECT_JUMP
            self._believe(track, obs)
            return Verdict.OK
        previous, previous_at, trend = track.last, track.last_at, track.step
        track.last, track.last_at = obs.value, obs.at
        if rule.max_jump is None or previous is None or previous_at is None:
            return Verdict.OK
        minutes = (obs.at - previous_at).total_seconds() / 60
        step = obs.value - previous
        track.step = step
        if track.suspect_since is not None and track.anchor is not None:
            if abs(obs.value - track.anchor) <= self._allowed(rule, track.anchor, minutes):
                track.suspect_since, track.held = None, []  # back where it was: that was an artefact
                return Verdict.OK
            if obs.at - track.suspect_since >= rule.confirm_after or self._moving_on(rule, track, obs.value):
                # The new level has lasted, or is a real trend: believe it, and take the whole
                # move since the level before the jump as the signal's current slope.
                elapsed = (obs.at - track.suspect_since).total_seconds() / 60 + max(minutes, 1.0)
                track.slope = (obs.value - track.anchor) / elapsed
                track.suspect_since = None
                self._believe(track, obs)
                return Verdict.OK
            return Verdict.SUSPECT_JUMP
        if minutes > 15:
            track.slope = 0.0
            return Verdict.OK  # after a gap any change is possible
        # Abrupt: faster than the body changes, and not the continuation of a trend under way.
        slope = track.slope
        continuing = (trend * step > 0 and abs(trend) * 3 >= abs(step)) or (
            rule.trend_slope is not None and slope * step > 0 and abs(slope) >= rule.trend_slope
        )
        if abs(step) > self._allowed(rule, previous, minutes) and not continuing:
            track.anchor, track.suspect_since, track.suspect_value = previous, obs.at, obs.value
            return Verdict.SUSPECT_JUMP
        track.slope = (slope + step / max(minutes, 1.0)) / 2
        return Verdict.OK

    @staticmethod
    def _moving_on(rule: QualityRule, track: _Track, value: float) -> bool:
        """Whether the signal has gone on past the suspect level, away from where it was.

        A compression low or a motion spike is a step to a new level; a fast
        real fall keeps falling.
        """
        if rule.trend_release is None or track.suspect_value is None or track.anchor is None:
            return False
        direction = 1.0 if track.suspect_value > track.anchor else -1.0
        return (value - track.suspect_value) * direction >= rule.trend_release

    @staticmethod
    def _allowed(rule: QualityRule, level: float, minutes: float) -> float:
        assert rule.max_jump is not None
        return (rule.max_jump + rule.max_jump_fraction * abs(level)) * max(minutes, 1.0)

    def _stuck(self, rule: QualityRule, track: _Track, obs: Observation) -> list[Finding]:
        if rule.stuck_count is None:
            return []
        if (
            obs.value == track.same_value
            and obs.value not in rule.stuck_ignore
            and not rule.at_limit(obs.value)
        ):
            track.same_count += 1
        else:
            was_stuck, since = track.stuck, track.same_since
            track.same_value, track.same_count, track.same_since, track.stuck = obs.value, 1, obs.at, False
            if was_stuck and since is not None:
                track.last, track.last_at, track.suspect_since, track.held = obs.value, obs.at, None, []
                return [self._finding(FindingKind.CLEAR, obs, since, rule, obs.value)]
            return []
        if track.same_count == rule.stuck_count and track.same_since is not None:
            track.stuck = True
            return [self._finding(FindingKind.OPEN, obs, track.same_since, rule, obs.value)]
        return []

    def _finding(
        self, kind: FindingKind, obs: Observation, since: datetime, rule: QualityRule, value: float
    ) -> Finding:
        info = SERIES[obs.series]
        if kind is FindingKind.OPEN:
            summary = (
                f"Device problem, not a clinical finding: {info.label} has reported exactly "
                f"{value:g} {info.unit} {rule.stuck_count} times in a row since {when(since)}; "
                "the sensor looks stuck and its readings are held back from clinical rules."
            )
        else:
            summary = f"{info.label} sensor is reporting changing values again as of {when(obs.at)}."
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type=f"device.stuck_sensor.{obs.series.key}",
            step=kind.value,
            started=since,
            at=obs.at,
            severity=Severity.MEDIUM,
            summary=summary,
            explanation=Explanation(
                rule=f"{rule.stuck_count} identical consecutive readings",
                series=obs.series.key,
                observed=[{"at": obs.at.isoformat(), "value": obs.value}],
                threshold={"identical_readings": rule.stuck_count},
                baseline=None,
                details={"category": "device", "device_id": str(obs.device_id)},
            ),
            series=obs.series,
        )

    def forget(self, patient_id: UUID) -> None:
        self._tracks.pop(patient_id.int, None)

    def snapshot(self, patient_id: UUID) -> dict[str, Any] | None:
        tracks = self._tracks.get(patient_id.int)
        if not tracks:
            return None
        return {
            f"{UUID(int=device)}/{int(series)}": track.dump() for (device, series), track in tracks.items()
        }

    def restore(self, patient_id: UUID, state: dict[str, Any]) -> None:
        tracks: dict[tuple[int, Series], _Track] = {}
        for key, row in state.items():
            device, series = key.split("/")
            tracks[(UUID(device).int, Series(int(series)))] = _Track.load(row)
        self._tracks[patient_id.int] = tracks
