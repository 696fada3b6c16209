"""CPU seconds and resident memory of processes, read from /proc (Linux); starting and stopping children."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes (those that have exited count 0)."""
    return cpu_and_system_seconds(pids)[0]


def cpu_and_system_seconds(pids: list[int]) -> tuple[float, float]:
    """User plus system CPU time, and system time alone (the kernel's work for them: sockets, disk)."""
    times = [_times(pid) for pid in pids]
    return sum(user + system for user, system in times), sum(system for _, system in times)


def _times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (0, 0 once it has exited)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0, 0.0
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS  # utime, stime


def cores_used(groups: dict[str, list[int]], seconds: float) -> dict[str, float]:
    """How many cores each group of processes used over the next ``seconds`` (none measured: 0 s)."""
    if seconds <= 0:
        return {}
    before = {name: cpu_seconds(pids) for name, pids in groups.items()}
    time.sleep(seconds)
    return {name: round((cpu_seconds(pids) - before[name]) / seconds, 3) for name, pids in groups.items()}


def resident_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pids_of(name: str) -> list[int]:
    """Every process whose command name is ``name`` (mosquitto, postgres)."""
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


def kill_process(process: subprocess.Popen[bytes]) -> None:
    """kill -9, and wait for it: nothing the process holds in memory survives."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def stop_process(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM (a worker checkpoints its detector state on it), then SIGKILL after ``grace_s``."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)
