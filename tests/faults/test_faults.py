"""The short fault run CI can afford: two faults of each kind under load, nothing lost, no alert missed.

The full run (24 faults by default) is ``python -m tests.faults``.
"""

from __future__ import annotations

import pytest

from tests.e2e.broker_process import mosquitto_path
from tests.faults.cluster import nats_server_path
from tests.faults.report import render
from tests.faults.run import CLUSTER_KINDS, KINDS, REPLICATED_KINDS, FaultRun, Plan, run_faults
from tests.faults.verify import Outcome

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


@pytest.mark.timeout(600)
def test_faults_under_load_lose_no_reading_and_no_alert() -> None:
    mosquitto_path()  # fails under CI, skips elsewhere, when mosquitto is missing
    run = run_faults(Plan(faults=8, seed=5))
    print(render(run))  # noqa: T201 - kept in the test log
    assert run.counts == dict.fromkeys(KINDS, 2)
    outcome = run.outcome
    assert outcome is not None
    assert outcome.published > 2000
    assert (outcome.stored, outcome.lost, outcome.unexpected, outcome.altered) == (outcome.published, 0, 0, 0)
    assert outcome.undelivered == 0
    assert outcome.episodes == 8
    assert outcome.alerted == 8, outcome.missed_alerts
    assert outcome.duplicated_alerts == []
    assert outcome.spurious_alerts == []
    assert outcome.offline_not_marked_late == [], "a backlog older than late_after_s alerts as late"
    assert [f.readiness_during for f in run.faults if f.kind == "database_restart"] == [503, 503]
    assert outcome.clean


@pytest.mark.timeout(600)
def test_a_primary_failover_under_load_loses_no_acknowledged_reading() -> None:
    """PostgreSQL as a primary and a synchronous standby; the service's URL names both."""
    mosquitto_path()
    run = run_faults(Plan(faults=4, seed=11, replicated=True))
    print(render(run))  # noqa: T201 - kept in the test log
    assert run.counts == dict.fromkeys(REPLICATED_KINDS, 1)
    assert [f.replication for f in run.faults if f.kind == "primary_failover"] == ["sync"]
    outcome = _clean_with_four_episodes(run)
    assert run.on_primary_and_standby == (outcome.stored, outcome.stored)  # two copies again


@pytest.mark.timeout(600)
def test_a_cluster_loses_nothing_when_a_worker_a_broker_node_or_the_primary_dies() -> None:
    """Three NATS nodes (R3), two workers sharing leased partitions, a primary and a synchronous standby."""
    nats_server_path()
    run = run_faults(Plan(faults=4, seed=5, cluster=True))
    print(render(run))  # noqa: T201 - kept in the test log
    assert run.counts == dict.fromkeys(CLUSTER_KINDS, 1)
    _clean_with_four_episodes(run)
    takeovers = [f.takeover_s for f in run.faults if f.kind == "worker_kill"]
    assert len(takeovers) == 1
    assert takeovers[0] is not None
    assert takeovers[0] < 30  # a killed worker's patients are evaluated again within 30 s


def _clean_with_four_episodes(run: FaultRun) -> Outcome:
    """Every reading stored once and unaltered, each of the four episodes alerted exactly once."""
    outcome = run.outcome
    assert outcome is not None
    assert outcome.published > 1000
    assert (outcome.stored, outcome.lost, outcome.unexpected, outcome.altered) == (outcome.published, 0, 0, 0)
    assert outcome.alerted == outcome.episodes == 4, outcome.missed_alerts
    assert outcome.duplicated_alerts == []
    assert outcome.spurious_alerts == []
    assert outcome.clean
    return outcome
