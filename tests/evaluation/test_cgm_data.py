"""Episodes derived from CGM data alone, by the consensus definition; people split by a stable hash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluation.cgm_data import Trace, episodes, held_out, read_traces

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def trace(values: Sequence[float], *, step: int = 5, gaps: dict[int, int] | None = None) -> Trace:
    times, at = [], T0
    for i in range(len(values)):
        at += timedelta(minutes=(gaps or {}).get(i, step)) if i else timedelta()
        times.append(at)
    return Trace("test:1", tuple(times), tuple(values))


def test_two_readings_below_70_are_not_an_episode_three_are() -> None:
    assert episodes(trace([90, 68, 66, 90, 95, 100])) == []
    found = episodes(trace([90, 68, 66, 65, 90, 95, 100]))
    assert [(e.onset, e.nadir, e.level2) for e in found] == [(T0 + timedelta(minutes=5), 65.0, False)]


def test_an_episode_ends_after_fifteen_minutes_back_above_70() -> None:
    # A brief return above 70 (two readings) does not end it: one episode, not two.
    found = episodes(trace([90, 65, 62, 60, 72, 74, 66, 64, 63, 75, 80, 85, 90]))
    assert len(found) == 1
    assert found[0].end == T0 + timedelta(minutes=5 * 9)


def test_level_2_needs_fifteen_minutes_below_54() -> None:
    assert episodes(trace([90, 60, 52, 50, 60, 80, 80, 80]))[0].level2 is False
    assert episodes(trace([90, 60, 52, 50, 49, 60, 80, 80, 80]))[0].level2 is True


def test_a_gap_breaks_a_run_and_history_counts_from_it() -> None:
    # Readings 1-2 below 70, then a 40-minute gap, then 1 more: not 15 consecutive minutes.
    assert episodes(trace([90, 65, 64, 63, 90, 90, 90], gaps={3: 40})) == []
    found = episodes(trace([100] * 10 + [65, 64, 63, 90, 90, 90]))
    assert found[0].history == timedelta(minutes=50)
    assert found[0].predictable
    assert not episodes(trace([100, 65, 64, 63, 90, 90, 90]))[0].predictable


def test_the_split_is_stable_and_keeps_about_three_in_ten_aside() -> None:
    people = [f"study:{i}" for i in range(1000)]
    share = sum(held_out(p) for p in people) / len(people)
    assert 0.25 < share < 0.35
    assert [held_out(p) for p in people[:50]] == [held_out(p) for p in people[:50]]
    assert held_out("Dubosson2018:001") == held_out("Dubosson2018:001")


def test_many_people_in_one_file_are_read_apart_and_na_rows_skipped(tmp_path: Path) -> None:
    path = tmp_path / "Study2020_processed.csv"
    path.write_text(
        '"id","time","gl"\n'
        '"a",2020-01-01 00:00:00,100\n"b",2020-01-01 00:00:00,80\n'
        '"a",2020-01-01 00:05:00,NA\n"a",2020-01-01 00:10:00,90\n"a",2020-01-01 00:10:00,90\n'
    )
    found = {t.person: t.values for t in read_traces([path])}
    assert found == {"Study2020:a": (100.0, 90.0), "Study2020:b": (80.0,)}
