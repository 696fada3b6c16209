"""compose.yaml (one node of each tier) and compose.cluster.yaml (no single point of failure) are valid
Compose, run only commands the CLI has, and mount the repository's configuration."""

import json
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from monitoring.config import IngestSettings, NatsSettings
from monitoring.ingest.nats_link import mappings_block
from monitoring_cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]


def compose(name: str = "compose.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema: dict[str, Any] = json.loads(vendored.read_text())
    return schema


@pytest.mark.parametrize("name", ["compose.yaml", "compose.cluster.yaml"])
def test_compose_file_follows_the_compose_specification(name: str) -> None:
    jsonschema.validate(compose(name), compose_schema())


def test_the_schema_check_would_catch_a_mistake() -> None:
    broken = compose()
    broken["services"]["api"]["depends_on"] = {"migrate": {"condition": "whenever"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, compose_schema())


def test_every_monitoring_service_runs_a_real_cli_command() -> None:
    services = compose()["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "rpm-monitoring:latest"}
    commands = {name: s["command"] for name, s in ours.items() if "command" in s}
    assert set(commands) == {"migrate", "broker-auth", "api", "ingest-0", "ingest-1"}
    # The one-shot that writes certificates runs the repository's script, which the image holds.
    assert ours["certs"]["entrypoint"][:2] == ["sh", "/app/config/tls/make-certs.sh"]
    assert (ROOT / "config" / "tls" / "make-certs.sh").is_file()
    assert "COPY config/tls config/tls" in (ROOT / "Dockerfile").read_text()
    for name, command in commands.items():
        assert command[0] == "monitoring", name
        assert command[1] in COMMANDS, name
        build_parser().parse_args(command[1:])


def test_the_mosquitto_config_in_the_repository_is_the_one_mounted() -> None:
    volumes = compose()["services"]["mosquitto"]["volumes"]
    mounted = [v.split(":")[0] for v in volumes if v.startswith("./")]
    assert mounted == ["./config/mosquitto/mosquitto.conf"]
    assert (ROOT / mounted[0]).is_file()


def test_the_ingestion_workers_own_every_patient_exactly_once() -> None:
    services = compose()["services"]
    workers = {name: s for name, s in services.items() if s.get("command") == ["monitoring", "ingest"]}
    settings = [
        IngestSettings(
            partitions=int(s["environment"]["RPM_INGEST__PARTITIONS"]),
            partition=int(s["environment"]["RPM_INGEST__PARTITION"]),
        )
        for s in workers.values()
    ]
    assert {s.partitions for s in settings} == {len(workers)}
    assert sorted(s.partition for s in settings) == list(range(len(workers)))
    # Every worker keeps the service's environment (database, broker, TLS) next to its own.
    for worker in workers.values():
        assert "RPM_MQTT__URL" in worker["environment"]


@pytest.mark.parametrize("name", ["compose.yaml", "compose.cluster.yaml"])
def test_no_secret_has_a_default_and_only_migrate_holds_the_owner(name: str) -> None:
    text = (ROOT / name).read_text()
    assert ":-" not in text, "a ${VAR:-default} would give every deployment the same password"
    services = compose(name)["services"]
    for name, service in services.items():
        environment = service.get("environment", {})
        owner = "RPM_DATABASE__OWNER_URL" in environment
        assert owner == (name == "migrate"), name
        if "RPM_DATABASE__URL" in environment:
            assert environment["RPM_DATABASE__URL"].startswith("postgresql+asyncpg://rpm_app:"), name
    assert services["migrate"]["environment"]["RPM_DATABASE__OWNER_URL"].startswith(
        "postgresql+asyncpg://rpm_owner:"
    )
    mounted = [v.split(":")[0] for v in services["postgres"]["volumes"] if v.startswith("./")]
    assert {"./config/postgres/init-roles.sh", "./config/postgres/roles.sql"} <= set(mounted)
    assert all((ROOT / path).is_file() for path in mounted)


def test_the_cluster_profile_has_no_single_point_of_failure() -> None:
    services = compose("compose.cluster.yaml")["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "rpm-monitoring:latest"}
    commands = {name: s["command"] for name, s in ours.items() if "command" in s}
    assert set(commands) == {"migrate", "nats-auth", "api", "ingest-0", "ingest-1"}
    for command in commands.values():
        build_parser().parse_args(command[1:])

    # Three broker nodes, each from the repository's configuration, its own name and its own store.
    nodes = {name: s for name, s in services.items() if s.get("image", "").startswith("nats:")}
    assert sorted(nodes) == ["nats-1", "nats-2", "nats-3"]
    assert sorted(s["environment"]["NATS_SERVER_NAME"] for s in nodes.values()) == sorted(nodes)
    stores = set()
    for node in nodes.values():
        volumes = node["volumes"]
        assert "./config/nats/nats.conf:/etc/nats/nats.conf:ro" in volumes
        assert "./config/nats/mappings.conf:/etc/nats/mappings.conf:ro" in volumes
        assert "nats-auth:/etc/nats/auth:ro" in volumes  # what `broker-auth --nats` writes
        stores |= {v for v in volumes if v.endswith(":/data")}
    assert len(stores) == 3
    assert services["nats-auth"]["command"][-1] == "/nats-auth/users.conf"
    assert "include ./auth/users.conf" in (ROOT / "config/nats/nats.conf").read_text()

    # The mappings the nodes load are the ones the workers check at start, for their partitions.
    partitions = int(ours["ingest-0"]["environment"]["RPM_NATS__PARTITIONS"])
    mappings = (ROOT / "config/nats/mappings.conf").read_text()
    assert mappings.split("\n", 1)[1] == mappings_block(partitions)

    # Two or more workers on every node, and the database as a primary and a standby.
    workers = [s for s in ours.values() if s.get("command") == ["monitoring", "ingest"]]
    assert len(workers) >= 2
    for worker in workers:
        environment = worker["environment"]
        servers = NatsSettings(url=environment["RPM_NATS__URL"]).servers()
        assert [server.rsplit("@", 1)[1] for server in servers] == [f"{n}:4222" for n in sorted(nodes)]
        assert all(server.startswith("tls://") for server in servers)
        url = environment["RPM_DATABASE__URL"]
        assert "host=postgres:5432&host=postgres-standby:5432&target_session_attrs=read-write" in url
    standby = services["postgres-standby"]
    assert standby["entrypoint"] == ["sh", "/rpm-init/standby.sh"]
    assert "./config/postgres/standby.sh:/rpm-init/standby.sh:ro" in standby["volumes"]
    assert "synchronous_standby_names = '*'" in " ".join(services["postgres-sync"]["command"])
    assert services["migrate"]["depends_on"] == {
        "postgres-sync": {"condition": "service_completed_successfully"}
    }
    for script in ("standby.sh", "init-replication.sh"):
        assert subprocess.run(["sh", "-n", str(ROOT / "config/postgres" / script)]).returncode == 0
