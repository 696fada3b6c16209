"""The fuzzer in the test suite: a short run here, `python -m tests.fuzz` for 100k messages and more."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from devices.contract import ErrorCode
from monitoring.ingest.intake import decode
from monitoring.ingest.records import DeadLetter, Inbound
from monitoring.storage.db import Database
from monitoring.storage.models import DeadLetter as DeadLetterRow
from monitoring.storage.models import Reading
from tests.factories import enrol
from tests.fuzz.mutations import ROOT, SERIAL
from tests.fuzz.run import batches, fuzz
from tests.pipeline_support import Acks, make_pipeline


def test_fuzzed_messages_among_good_ones_never_crash_and_each_is_accounted_for() -> None:
    report = fuzz(4000, seed=20261123)
    assert report.ok, report.failures[:5]
    assert report.crashes == 0
    assert report.good == 1000
    assert report.good_readings_missing == 0
    assert len(report.refused_messages) >= 6, "the mutations reach many different refusals"
    assert len(report.refused_readings) >= 5


@settings(max_examples=500, deadline=None)
@given(topic=st.text(max_size=80), payload=st.binary(max_size=2000))
def test_any_bytes_on_any_topic_decode_or_become_a_specific_dead_letter(topic: str, payload: bytes) -> None:
    decoded = decode(Inbound(topic, payload, datetime.now(UTC)), ROOT)
    if isinstance(decoded, DeadLetter):
        assert decoded.code in set(ErrorCode)
        assert decoded.code is not ErrorCode.PROCESSING_FAILED
        assert decoded.message


@pytest.mark.integration
async def test_the_pipeline_stores_every_good_reading_among_fuzzed_messages(database: Database) -> None:
    await enrol(database, serial=SERIAL)
    pipeline, acks = make_pipeline(database, ROOT), Acks()
    expected, messages = 0, 0
    for inbound, good in batches(1200, seed=5):
        await pipeline.process(inbound, acks)
        expected += sum(good.values())
        messages += len(inbound)
    async with database.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(Reading))
        letters = await session.scalar(select(func.count()).select_from(DeadLetterRow))
        generic = await session.scalar(
            select(func.count())
            .select_from(DeadLetterRow)
            .where(DeadLetterRow.code == ErrorCode.PROCESSING_FAILED.value)
        )
    assert len(acks.acknowledged) == messages, (
        "every message was acknowledged: none left to redeliver forever"
    )
    assert stored is not None
    assert stored >= expected  # the good ones, plus fuzzed messages that were still valid
    assert letters is not None
    assert letters > 0
    assert generic == 0
