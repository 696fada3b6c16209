"""The figures of a fault run as text for people."""

from __future__ import annotations

from statistics import median

from tests.faults.run import FaultRun


def render(run: FaultRun) -> str:
    outcome = run.outcome
    lines = [
        f"fault run: {len(run.faults)} faults over {run.seconds} s of load, {run.devices} devices",
        "  faults by kind: " + ", ".join(f"{kind} {n}" for kind, n in run.counts.items()),
    ]
    if run.faults:
        recovered = [f.recovered_s for f in run.faults]
        lines.append(
            f"  outage per fault {min(f.down_s for f in run.faults)}-{max(f.down_s for f in run.faults)} s; "
            f"worker ready again after median {median(recovered):.2f} s, max {max(recovered):.2f} s"
        )
    for kind, what in (("database_restart", "PostgreSQL was down"), ("primary_failover", "no primary")):
        during = [f.readiness_during for f in run.faults if f.kind == kind]
        if during:
            lines.append(f"  /ready while {what}: {during}")
    failovers = [f for f in run.faults if f.kind == "primary_failover"]
    if failovers:
        lines.append(
            "  primary failovers: writable again "
            + ", ".join(f"{f.down_s + f.recovered_s:.2f}" for f in failovers)
            + " s after the primary was killed (promotion after the outage shown above); standby was "
            + ", ".join(str(f.replication) for f in failovers)
        )
    takeovers = [f.takeover_s for f in run.faults if f.takeover_s is not None]
    if takeovers:
        lines.append(
            "  worker kills: every partition held by a live worker again "
            + ", ".join(f"{t:.2f}" for t in takeovers)
            + " s after the kill"
        )
    if run.on_primary_and_standby is not None:
        lines.append(f"  readings on the final primary and its standby: {run.on_primary_and_standby}")
    if outcome is None:
        lines.append("  no outcome: the run did not finish")
        return "\n".join(lines)
    lines += [
        f"  readings published {outcome.published}, stored {outcome.stored}: "
        f"lost {outcome.lost}, duplicated or unexpected {outcome.unexpected}, altered {outcome.altered}, "
        f"still in device outboxes {outcome.undelivered}",
        f"  episodes {outcome.episodes}, alerted {outcome.alerted} (marked late {outcome.late_marked}); "
        f"missed {len(outcome.missed_alerts)}, duplicated {len(outcome.duplicated_alerts)}, "
        f"spurious {len(outcome.spurious_alerts)}",
        "  alerts by type: " + ", ".join(f"{t} {n}" for t, n in sorted(outcome.alert_types.items())),
    ]
    for label, items in (
        ("missed", outcome.missed_alerts),
        ("duplicated", outcome.duplicated_alerts),
        ("spurious", outcome.spurious_alerts),
        ("offline episodes not marked late", outcome.offline_not_marked_late),
    ):
        lines += [f"  {label}: {item}" for item in items]
    lines.append("  RESULT: " + ("clean" if outcome.clean else f"FAILED (process logs in {run.folder})"))
    return "\n".join(lines)
