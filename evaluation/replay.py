"""``monitoring replay``: the live detectors, offline, over a CSV series or a wire-format JSONL stream.

CSV input is one person's ``timestamp,value`` rows or many people's
``id,time,value`` rows (see ``replay_input``) of one metric. The output keeps
the input's rows, in its order and with its timestamps as written, and adds
``score`` (the personal model's anomaly score of that reading in [0, 1],
computed before learning from it, at full precision), ``z`` (the raw
departure from the person's usual in standard deviations, which ranks where
the score saturates), ``alerts`` (alert types opened at that reading,
``;``-joined) and ``refused`` (why a row was not replayed: the file goes on).
A metric the service does not know (``--metric other``) runs the generic
personal model alone. JSONL input is what devices send (one readings message
per line) and may hold several devices, patients and metrics.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from devices.contract import METRICS, Metric, readings_topic
from evaluation.evaluate import service_plan
from evaluation.replay_input import ReplayError, Row, metric_of, parse_time, read_rows
from monitoring.catalogue import SERIES, SERIES_OF_METRIC, Series
from monitoring.detection.detectors.personal.baseline import PersonalBaseline, two_sided
from monitoring.detection.detectors.personal.models import PersonalModels
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import FindingKind, Observation
from monitoring.detection.lineup import default_detectors
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Condition
from monitoring.ingest.intake import DecodedReadings, attribute, decode
from monitoring.ingest.records import Inbound
from monitoring.registry.records import DeviceRef

__all__ = ["ReplayError", "replay_file"]

OTHER = "other"
CSV_COLUMNS = ["timestamp", "value", "score", "z", "alerts", "refused"]
STREAM_COLUMNS = ["timestamp", "patient", "device", "metric", "value", "score", "alerts"]


def series_for(metric: str) -> Series | None:
    """The stored series a ``--metric`` names (a wire metric or a series key); None for ``other``."""
    if metric == OTHER:
        return None
    try:
        return Series.from_key(metric)
    except ValueError:
        pass
    try:
        found = SERIES_OF_METRIC[Metric(metric)]
    except ValueError:
        raise ReplayError(f"unknown metric {metric!r}; see --help for the metrics, or use 'other'") from None
    if len(found) != 1:
        raise ReplayError(f"{metric!r} has {len(found)} components; replay one of them, e.g. bp_systolic")
    return found[0]


def parse_conditions(text: str) -> tuple[Condition, ...]:
    chosen = []
    for name in (c.strip().lower() for c in text.split(",") if c.strip()):
        try:
            chosen.append(Condition(name))
        except ValueError:
            known = ", ".join(c.value for c in Condition)
            raise ReplayError(f"unknown condition {name!r}; use any of {known}") from None
    return tuple(chosen)


def help_text() -> str:
    """What ``monitoring replay --help`` lists after the options: metrics, units, conditions."""
    lines = ["metrics (--metric) and the units each accepts (--unit, any case; values are converted):"]
    for series, info in SERIES.items():
        units = ", ".join(sorted(METRICS[metric_of(series)].accepted_units))
        lines.append(f"  {series.key:<18} {info.label} ({units}; stored in {info.unit})")
    lines.append(f"  {OTHER:<18} any other series: the generic personal model alone, no unit, no conditions")
    lines.append("conditions (--conditions, comma-separated; their care-plan defaults apply):")
    lines.append("  " + ", ".join(c.value for c in Condition))
    lines.append("CSV forms: timestamp,value (one person) or id,time,value (many people).")
    return "\n".join(lines)


class GenericDeparture:
    """The generic model alone: a baseline of the series and an alert on a persistent departure.

    It learns from every reading, a departure only as far as ``clip`` standard
    deviations: one wild value moves the baseline little, while a new level
    that lasts first widens the spread and then draws the mean after it, so
    the model settles on a new normal within a few hundred readings instead
    of calling it anomalous for ever. A real deterioration is alerted long
    before that (``readings`` in a row beyond ``z``); the alert ends once the
    departure is back under ``z_clear``.

    >>> from datetime import UTC, datetime, timedelta
    >>> model, t0 = GenericDeparture(), datetime(2026, 1, 1, tzinfo=UTC)
    >>> steps = [model.step(t0 + timedelta(minutes=i), 10.0 + (i % 5) * 0.2) for i in range(600)]
    >>> after = [model.step(t0 + timedelta(minutes=600 + i), 20.0 + (i % 5) * 0.2) for i in range(1500)]
    >>> after[2][2], max(i for i, (_, z, _) in enumerate(after) if z is not None and abs(z) >= 4) < 400
    (['personal.departure'], True)
    """

    def __init__(self, z: float = 4.0, z_clear: float = 3.0, readings: int = 3, clip: float = 3.0) -> None:
        # A series of unknown cadence and meaning: one bin (no time of day), and a memory counted
        # in readings (the last ~500), not in days.
        self.model = PersonalBaseline(
            bins=1,
            tau=timedelta(days=36500),
            warmup_count=20,
            warmup_span=timedelta(0),
            memory_readings=500,
            floor_sd=1e-6,
        )
        self.z, self.z_clear, self.clip = z, z_clear, clip
        self.episode = EpisodeState()
        self.rule = Persistence(start_count=readings, end_count=readings)

    def step(self, at: datetime, value: float) -> tuple[float, float | None, list[str]]:
        """The point's score in [0, 1] and its z (both before learning from it), and what opened."""
        now = at.timestamp()
        usual = self.model.usual_at(now)
        z = None if usual is None else (value - usual[0]) / usual[1]
        limit = self.z_clear if self.episode.active else self.z
        found = self.rule.step(self.episode, at, z is not None and abs(z) >= limit)
        learned = value
        if z is not None and usual is not None:
            learned = usual[0] + max(-self.clip, min(self.clip, z)) * usual[1]
        self.model.learn(learned, now)
        score = 0.0 if z is None else two_sided(z)
        return score, z, ["personal.departure"] if found and found[0] == "open" else []


@dataclass(slots=True)
class ReplayStats:
    rows: int = 0
    alerts: int = 0
    skipped: int = 0  # JSONL lines that are not a readings message; CSV rows refused


class Replayer:
    """The service's detectors over one or more patients, fed in time order."""

    def __init__(self, conditions: tuple[Condition, ...] = ()) -> None:
        self.engine = DetectionEngine(default_detectors())
        self.models = next(d for d in self.engine.detectors if isinstance(d, PersonalModels))
        self.plan = service_plan(tuple(c.value for c in conditions))
        self._planned: set[UUID] = set()

    def step(self, obs: Observation) -> tuple[float, float | None, list[str]]:
        if obs.patient_id not in self._planned:
            self.engine.set_care_plan(obs.patient_id, self.plan)
            self._planned.add(obs.patient_id)
        findings = self.engine.observe(obs)
        raised = sorted({f.alert_type for f in findings if f.kind is FindingKind.OPEN})
        pid, series = obs.patient_id, obs.series
        return self.models.last_score(pid, series), self.models.last_z(pid, series), raised


def replay_csv(
    source: IO[str], out: IO[str], *, metric: str, unit: str | None, conditions: tuple[Condition, ...] = ()
) -> ReplayStats:
    series = series_for(metric)
    if series is None and conditions:
        raise ReplayError("--conditions do not apply to --metric other: the generic model knows no care plan")
    if series is None and unit is not None:
        raise ReplayError("--unit needs a known metric: values of --metric other are replayed as they are")
    rows, many = read_rows(source, series=series, unit=unit)
    results = _detect(rows, series, conditions)
    writer = csv.writer(out)
    writer.writerow((["id"] if many else []) + CSV_COLUMNS)
    stats = ReplayStats()
    for i, row in enumerate(rows):
        score, z, raised = results.get(i, (None, None, []))
        writer.writerow(
            ([row.person] if many else [])
            + [
                row.time_text,
                "" if row.value is None else f"{row.value:.10g}",
                "" if score is None else repr(score),
                "" if z is None else repr(z),
                ";".join(raised),
                row.refused,
            ]
        )
        stats.rows += 1
        stats.alerts += len(raised)
        stats.skipped += bool(row.refused)
    return stats


def _detect(
    rows: list[Row], series: Series | None, conditions: tuple[Condition, ...]
) -> dict[int, tuple[float, float | None, list[str]]]:
    """Each person's accepted rows through the detectors in time order; results by row index."""
    accepted = sorted(
        (i for i, r in enumerate(rows) if not r.refused), key=lambda i: (rows[i].person, rows[i].at)
    )
    replayer = Replayer(conditions) if series is not None else None
    generic: dict[str, GenericDeparture] = {}
    device = uuid5(NAMESPACE_URL, "replay/device")
    results: dict[int, tuple[float, float | None, list[str]]] = {}
    for i in accepted:
        row = rows[i]
        assert row.at is not None
        assert row.value is not None
        if replayer is None or series is None:
            model = generic.get(row.person)
            if model is None:
                model = generic[row.person] = GenericDeparture()
            results[i] = model.step(row.at, row.value)
        else:
            patient = uuid5(NAMESPACE_URL, f"replay/patient/{row.person}")
            results[i] = replayer.step(Observation(patient, series, row.at, row.value, device))
    return results


def replay_jsonl(
    source: IO[bytes],
    out: IO[str],
    *,
    manifest: dict[str, Any] | None = None,
    conditions: tuple[Condition, ...] = (),
    topic_root: str = "replay",
) -> ReplayStats:
    """Wire-format messages, one per line; devices map to patients through an optional manifest.

    A patient's conditions come from the manifest; ``conditions`` apply to devices it does not list.
    """
    owners: dict[str, tuple[str, tuple[Condition, ...]]] = {}
    for patient in (manifest or {}).get("patients", []):
        for device in patient["devices"]:
            owned = parse_conditions(",".join(patient.get("conditions", ())))
            owners[device["serial"]] = (patient["mrn"], owned)
    replayers: dict[tuple[Condition, ...], Replayer] = {}
    devices: dict[str, DeviceRef] = {}
    names: dict[UUID, str] = {}
    rows: list[tuple[datetime, str, str, Series, float, UUID, UUID]] = []
    stats = ReplayStats()
    for line in source:
        if not line.strip():
            continue
        device_id, sent_at = _envelope(line)
        inbound = Inbound(readings_topic(device_id, topic_root), line.strip(), sent_at)
        decoded = decode(inbound, topic_root)
        if not isinstance(decoded, DecodedReadings):
            stats.skipped += 1
            continue
        serial = decoded.serial
        if serial not in devices:
            mrn = owners[serial][0] if serial in owners else serial
            pid = uuid5(NAMESPACE_URL, f"replay/{mrn}")
            names[pid] = mrn
            devices[serial] = DeviceRef(
                uuid5(NAMESPACE_URL, f"replay/device/{serial}"), serial, pid, "active"
            )
        for reading in attribute([decoded], devices).readings:
            rows.append(
                (
                    reading.measured_at,
                    names[reading.patient_id],
                    serial,
                    reading.series,
                    reading.value,
                    reading.patient_id,
                    reading.device_id,
                )
            )
    writer = csv.writer(out)
    writer.writerow(STREAM_COLUMNS)
    for at, mrn, serial, series, value, pid, did in sorted(rows, key=lambda r: r[0]):
        chosen = owners[serial][1] if serial in owners else conditions
        replayer = replayers.get(chosen)
        if replayer is None:
            replayer = replayers[chosen] = Replayer(chosen)
        score, _, raised = replayer.step(Observation(pid, series, at, value, did))
        writer.writerow(
            [at.isoformat(), mrn, serial, series.key, f"{value:g}", repr(score), ";".join(raised)]
        )
        stats.rows += 1
        stats.alerts += len(raised)
    return stats


def _envelope(line: bytes) -> tuple[str, datetime]:
    """Device id and send time of a JSONL line: the topic and receipt time it would have had live."""
    device, sent_at = "unknown", datetime.now(UTC)
    try:
        data = json.loads(line)
        if isinstance(data.get("device_id"), str) and data["device_id"]:
            device = data["device_id"]
        if isinstance(data.get("sent_at"), str):
            sent_at = parse_time(data["sent_at"])
    except (ValueError, AttributeError):
        pass  # the decoder says what is wrong with it
    return device, sent_at


def replay_file(
    path: Path,
    out_path: Path,
    *,
    metric: str | None,
    unit: str | None,
    conditions: tuple[Condition, ...],
    manifest: Path | None,
) -> ReplayStats:
    if path.suffix != ".jsonl" and metric is None:
        raise ReplayError("CSV input needs --metric (see --help for the list)")
    with out_path.open("w", newline="") as out:
        if path.suffix == ".jsonl":
            loaded = json.loads(manifest.read_text()) if manifest is not None else None
            with path.open("rb") as source:
                return replay_jsonl(source, out, manifest=loaded, conditions=conditions)
        assert metric is not None
        with path.open(newline="") as source:
            return replay_csv(source, out, metric=metric, unit=unit, conditions=conditions)
