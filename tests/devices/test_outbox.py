from pathlib import Path

from devices.client import Backoff
from devices.outbox import Outbox


def test_messages_wait_in_order_until_removed(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    seqs = [box.append(lambda seq: f"m{seq}".encode()) for _ in range(5)]
    assert seqs == [0, 1, 2, 3, 4]
    assert [s for s, _ in box.peek(limit=3)] == [0, 1, 2]
    assert box.peek(after=3) == [(4, b"m4")]
    box.remove([0, 2])
    assert [s for s, _ in box.peek()] == [1, 3, 4]
    assert len(box) == 3


def test_waiting_messages_and_the_sequence_survive_a_restart(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for _ in range(3):
        box.append(lambda seq: b"x")
    box.remove([0, 1, 2])
    box.append(lambda seq: b"kept")
    box.close()
    reopened = Outbox(tmp_path / "o.db")
    assert reopened.peek() == [(3, b"kept")]
    assert reopened.append(lambda seq: b"next") == 4, "a sequence number is never reused"


def test_a_full_outbox_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_messages=3)
    for _ in range(5):
        box.append(lambda seq: b"x")
    assert [s for s, _ in box.peek()] == [2, 3, 4]
    assert box.dropped == 2


def test_backoff_grows_with_jitter_up_to_its_ceiling() -> None:
    import random

    rng = random.Random(1)
    backoff = Backoff(initial_s=1, maximum_s=8)
    delays = [backoff.next_delay(rng) for _ in range(6)]
    for delay, step in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert step / 2 <= delay <= step
    backoff.reset()
    assert backoff.next_delay(rng) <= 1


def test_devices_sharing_a_file_keep_their_own_queues_and_sequences(tmp_path: Path) -> None:
    cuff = Outbox(tmp_path / "gateway.db", device="cuff-1")
    scale = Outbox(tmp_path / "gateway.db", device="scale-1")
    assert [cuff.append(lambda s: b"c") for _ in range(3)] == [0, 1, 2]
    assert scale.append(lambda s: b"s") == 0
    cuff.remove([0])
    assert [s for s, _ in cuff.peek()] == [1, 2]
    assert scale.peek() == [(0, b"s")]
    cuff.close()
    assert len(scale) == 1, "closing one view leaves the shared file open for the others"
    scale.close()
