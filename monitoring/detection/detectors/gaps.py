"""Missing data: a device that has gone quiet for longer than its kind's expected interval.

Checked by a scheduled heartbeat (not on arrival of data, which is exactly
what is missing). Tiered as Nightscout does for stale data: a warning once the
device has been silent for its kind's expected interval, urgent at twice that.
The alert names the device and the last time it was heard from; it clears on
the first heartbeat after data arrives again.

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import uuid4
>>> from devices.kinds import DeviceKind
>>> seen = datetime(2026, 1, 1, tzinfo=UTC)
>>> device = DeviceSeen(uuid4(), uuid4(), "cgm-1", DeviceKind.CGM, seen)
>>> gaps = DataGaps()
>>> [(f.kind.value, f.severity.value) for f in gaps.check([device], seen + timedelta(minutes=25), {})]
[('open', 'medium')]
>>> [(f.kind.value, f.severity.value) for f in gaps.check([device], seen + timedelta(minutes=45), {})]
[('open', 'high')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from uuid import UUID

from devices.kinds import KINDS, DeviceKind
from monitoring.detection.explain import Explanation, finding, when, writing_in
from monitoring.detection.findings import Finding
from monitoring.domain import Severity

ALERT_PREFIX = "device.data_gap."
TIERS = {1: Severity.MEDIUM, 2: Severity.HIGH}


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    device_id: UUID
    patient_id: UUID
    serial: str
    kind: DeviceKind
    last_seen: datetime | None
    zone: tzinfo = UTC  # the patient's time zone


@dataclass(frozen=True, slots=True)
class ActiveGap:
    """A data-gap alert already raised: its tier and the silence it is about."""

    tier: int
    since: datetime


def alert_type(kind: DeviceKind) -> str:
    return f"{ALERT_PREFIX}{kind.value}"


def tier_of(kind: DeviceKind, last_seen: datetime, now: datetime, urgent_factor: float = 2.0) -> int:
    silent = now - last_seen
    expected = KINDS[kind].expected_interval
    if silent >= expected * urgent_factor:
        return 2
    return 1 if silent >= expected else 0


class DataGaps:
    name = "data_gap"

    def __init__(self, urgent_factor: float = 2.0) -> None:
        self.urgent_factor = urgent_factor

    def check(
        self,
        devices: Iterable[DeviceSeen],
        now: datetime,
        active: Mapping[tuple[UUID, str], ActiveGap],
    ) -> list[Finding]:
        """Findings that bring the data-gap alerts in line with what the devices did."""
        found: list[Finding] = []
        for device in devices:
            if device.last_seen is None:
                continue  # never reported: provisioning, not a gap
            key = (device.patient_id, alert_type(device.kind))
            current = active.get(key)
            tier = tier_of(device.kind, device.last_seen, now, self.urgent_factor)
            if current is not None and device.last_seen > current.since:
                found.append(self._finding("clear", device, current.since, now, current.tier))
                current = None
                if tier == 0:
                    continue
            if tier == 0:
                continue
            if current is None:
                found.append(self._finding("open", device, device.last_seen, now, tier))
            elif tier > current.tier:
                found.append(self._finding("update", device, current.since, now, tier))
        return found

    def _finding(self, step: str, device: DeviceSeen, since: datetime, now: datetime, tier: int) -> Finding:
        expected = KINDS[device.kind].expected_interval
        hours = (now - since).total_seconds() / 3600
        kind = device.kind.label
        with writing_in(device.zone):
            summary = (
                f"No data from {kind.lower()} {device.serial} since {when(since)} ({hours:.1f} h; "
                f"expected at least every {expected.total_seconds() / 3600:g} h)"
                f"{'; urgent' if tier == 2 else ''}."
                if step != "clear"
                else f"{kind} {device.serial} is sending data again as of {when(now)}."
            )
        return finding(
            detector=self.name,
            patient_id=device.patient_id,
            alert_type=alert_type(device.kind),
            step=step,
            started=since,
            at=now,
            severity=TIERS.get(tier, Severity.MEDIUM),
            summary=summary,
            explanation=Explanation(
                rule=f"silent for >= expected interval (warn) or {self.urgent_factor:g}x (urgent)",
                observed=[{"at": since.isoformat(), "value": "last reading"}],
                threshold={"expected_interval_s": expected.total_seconds(), "tier": tier},
                baseline=None,
                details={"category": "device", "device_id": str(device.device_id), "serial": device.serial},
            ),
        )
