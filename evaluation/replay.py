"""``monitoring replay``: the live detectors, offline, over a CSV series or a wire-format JSONL stream.

CSV input has ``timestamp,value`` rows (ISO 8601 or epoch seconds) of one
metric of one patient; the output adds ``score`` (the personal model's anomaly
score of that point, in [0, 1], computed before learning from it) and
``alerts`` (the alert types raised at that point, ``;``-joined). A metric the
service does not know (``--metric other``) runs the generic personal model
alone. JSONL input is what devices send (one readings message per line) and
may hold several devices, patients and metrics.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from devices.contract import METRICS, Metric, readings_topic
from devices.units import to_canonical
from evaluation.evaluate import service_plan
from monitoring.catalogue import SERIES_OF_METRIC, Series
from monitoring.detection.detectors.personal.baseline import Features, PersonalBaseline
from monitoring.detection.detectors.personal.models import PersonalModels
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import FindingKind, Observation
from monitoring.detection.lineup import default_detectors
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Condition
from monitoring.ingest.intake import DecodedReadings, attribute, decode
from monitoring.ingest.records import Inbound
from monitoring.registry.records import DeviceRef

OTHER = "other"
CSV_COLUMNS = ["timestamp", "value", "score", "alerts"]
STREAM_COLUMNS = ["timestamp", "patient", "device", "metric", "value", "score", "alerts"]


class ReplayError(ValueError):
    """Bad replay input: says which line and why."""


def parse_time(text: str) -> datetime:
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


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
        raise ReplayError(f"unknown metric {metric!r}; use a known metric or 'other'") from None
    if len(found) != 1:
        raise ReplayError(f"{metric!r} has {len(found)} components; replay one of them, e.g. bp_systolic")
    return found[0]


def read_csv(source: IO[str]) -> Iterator[tuple[datetime, float]]:
    reader = csv.DictReader(source)
    if reader.fieldnames is None or not {"timestamp", "value"} <= set(reader.fieldnames):
        raise ReplayError("CSV input needs a header with columns timestamp,value")
    for line, row in enumerate(reader, start=2):
        try:
            yield parse_time(row["timestamp"]), float(row["value"])
        except (TypeError, ValueError) as error:
            raise ReplayError(f"line {line}: {error}") from None


class GenericDeparture:
    """The generic model alone: a personal baseline and an alert on a persistent departure."""

    def __init__(self, z: float = 4.0, readings: int = 3) -> None:
        self.model = PersonalBaseline(warmup_count=20, warmup_span=timedelta(hours=12))
        self.z = z
        self.episode = EpisodeState()
        self.rule = Persistence(start_count=readings, end_count=readings)

    def step(self, at: datetime, value: float) -> tuple[float, list[str]]:
        x: Features = {"value": value, "at": at}
        z = self.model.z(x)
        score = self.model.score_one(x)
        found = self.rule.step(self.episode, at, z is not None and abs(z) >= self.z)
        if z is None or abs(z) < self.z:
            self.model.learn_one(x)
        return score, ["personal.departure"] if found and found[0] == "open" else []


@dataclass(slots=True)
class ReplayStats:
    rows: int = 0
    alerts: int = 0
    skipped: int = 0


class Replayer:
    """The service's detectors over one or more patients, fed in time order."""

    def __init__(self, conditions: tuple[str, ...] = ()) -> None:
        self.engine = DetectionEngine(default_detectors())
        self.models = next(d for d in self.engine.detectors if isinstance(d, PersonalModels))
        self.plan = service_plan(tuple(Condition(c).value for c in conditions))
        self._planned: set[UUID] = set()

    def step(self, obs: Observation) -> tuple[float, list[str]]:
        if obs.patient_id not in self._planned:
            self.engine.set_care_plan(obs.patient_id, self.plan)
            self._planned.add(obs.patient_id)
        findings = self.engine.observe(obs)
        raised = sorted({f.alert_type for f in findings if f.kind is FindingKind.OPEN})
        return self.models.last_score(obs.patient_id, obs.series), raised


def replay_csv(
    source: IO[str], out: IO[str], *, metric: str, unit: str | None, conditions: tuple[str, ...] = ()
) -> ReplayStats:
    series = series_for(metric)
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    stats = ReplayStats()
    generic = GenericDeparture() if series is None else None
    replayer = Replayer(conditions) if series is not None else None
    patient, device = uuid5(NAMESPACE_URL, "replay/patient"), uuid5(NAMESPACE_URL, "replay/device")
    for at, raw in sorted(read_csv(source), key=lambda row: row[0]):
        value = raw
        if series is not None and unit is not None:
            value = to_canonical(raw, unit, series.info.unit)
        if generic is not None:
            score, raised = generic.step(at, value)
        else:
            assert replayer is not None
            assert series is not None
            score, raised = replayer.step(Observation(patient, series, at, value, device))
        writer.writerow([at.isoformat(), f"{value:g}", f"{score:.4f}", ";".join(raised)])
        stats.rows += 1
        stats.alerts += len(raised)
    return stats


def replay_jsonl(
    source: IO[bytes], out: IO[str], *, manifest: dict[str, Any] | None = None, topic_root: str = "replay"
) -> ReplayStats:
    """Wire-format messages, one per line; devices map to patients through an optional manifest."""
    owners: dict[str, tuple[str, tuple[str, ...]]] = {}
    for patient in (manifest or {}).get("patients", []):
        for device in patient["devices"]:
            owners[device["serial"]] = (patient["mrn"], tuple(patient.get("conditions", ())))
    replayers: dict[tuple[str, ...], Replayer] = {}
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
            mrn, _ = owners.get(serial, (serial, ()))
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
        conditions = owners.get(serial, (mrn, ()))[1]
        replayer = replayers.get(conditions)
        if replayer is None:
            replayer = replayers[conditions] = Replayer(conditions)
        score, raised = replayer.step(Observation(pid, series, at, value, did))
        writer.writerow(
            [at.isoformat(), mrn, serial, series.key, f"{value:g}", f"{score:.4f}", ";".join(raised)]
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
    conditions: tuple[str, ...],
    manifest: Path | None,
) -> ReplayStats:
    with out_path.open("w", newline="") as out:
        if path.suffix == ".jsonl":
            loaded = json.loads(manifest.read_text()) if manifest is not None else None
            with path.open("rb") as source:
                return replay_jsonl(source, out, manifest=loaded)
        if metric is None:
            raise ReplayError("CSV input needs --metric")
        if unit is not None and metric != OTHER:
            series = series_for(metric)
            if series is not None and unit not in METRICS[_metric_of(series)].accepted_units:
                raise ReplayError(f"unit {unit!r} is not accepted for {metric}")
        with path.open(newline="") as source:
            return replay_csv(source, out, metric=metric, unit=unit, conditions=conditions)


def _metric_of(series: Series) -> Metric:
    return next(m for m, found in SERIES_OF_METRIC.items() if series in found)
