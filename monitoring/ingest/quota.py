"""A bound on what one device can put in the dead-letter store per hour.

A broken or hostile device can send refused messages as fast as the broker
takes them; each would be kept with up to 16 KiB of its payload. Per device
(per topic when the message names none) at most ``per_hour`` dead letters are
kept in each clock hour; the next one is replaced by a single ``quota_exceeded``
letter that says so, and the rest of the hour's refusals are only counted (in
metrics, and on the device's row). Counts live in the worker that owns the
device's messages, so with N workers the bound holds per worker.

>>> from datetime import UTC, datetime
>>> from devices.contract import ErrorCode
>>> from monitoring.ingest.records import DeadLetter, Inbound
>>> junk = Inbound("rpm/v1/devices/cuff-1/readings", b"{", datetime(2026, 1, 1, tzinfo=UTC))
>>> letters = [DeadLetter.of(junk, ErrorCode.MALFORMED_JSON, "bad", device_serial="cuff-1")] * 5
>>> kept = DeadLetterBound(per_hour=2).admit(letters)
>>> [letter.code.value for letter in kept.letters], kept.unstored
(['malformed_json', 'malformed_json', 'quota_exceeded'], {'cuff-1': 2})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from devices.contract import ErrorCode
from monitoring.ingest.records import DeadLetter

_HOUR = timedelta(hours=1)


@dataclass(slots=True)
class Admitted:
    letters: list[DeadLetter] = field(default_factory=list)  # to store
    unstored: dict[str, int] = field(default_factory=dict)  # device serial (or topic) -> not kept
    unstored_codes: Counter[str] = field(default_factory=Counter)


class DeadLetterBound:
    def __init__(self, *, per_hour: int, max_keys: int = 200_000) -> None:
        self.per_hour = per_hour
        self.max_keys = max_keys
        self._hours: dict[str, tuple[int, int]] = {}  # key -> (hour number, letters seen in it)

    def admit(self, letters: Sequence[DeadLetter]) -> Admitted:
        admitted = Admitted()
        for letter in letters:
            key = letter.device_serial or letter.topic
            hour = int(letter.received_at.timestamp() // 3600)
            seen_hour, seen = self._hours.get(key, (hour, 0))
            if seen_hour != hour:
                seen = 0
            if len(self._hours) >= self.max_keys and key not in self._hours:
                self._hours.clear()  # a flood of made-up topics must not grow memory without bound
            self._hours[key] = (hour, seen + 1)
            if seen < self.per_hour:
                admitted.letters.append(letter)
            elif seen == self.per_hour:
                admitted.letters.append(_over_quota(letter, self.per_hour))
            else:
                admitted.unstored[key] = admitted.unstored.get(key, 0) + 1
                admitted.unstored_codes[letter.code.value] += 1
        return admitted


def _over_quota(letter: DeadLetter, per_hour: int) -> DeadLetter:
    until = letter.received_at.replace(minute=0, second=0, microsecond=0) + _HOUR
    who = f"device {letter.device_serial!r}" if letter.device_serial else f"topic {letter.topic!r}"
    return DeadLetter(
        received_at=letter.received_at,
        topic=letter.topic,
        code=ErrorCode.QUOTA_EXCEEDED,
        message=(
            f"{who} had {per_hour} refused messages or readings kept this hour; until "
            f"{until:%H:%M} UTC further refusals (this one was {letter.code.value}) are counted, not kept"
        ),
        payload=b"",
        payload_truncated=len(letter.payload) > 0,
        device_serial=letter.device_serial,
        seq=letter.seq,
        reading_index=letter.reading_index,
    )
