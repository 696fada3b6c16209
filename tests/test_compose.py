"""compose.yaml is valid Compose and only runs commands the CLI has."""

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from monitoring.config import IngestSettings
from monitoring_cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema: dict[str, Any] = json.loads(vendored.read_text())
    return schema


def test_compose_file_follows_the_compose_specification() -> None:
    jsonschema.validate(compose(), compose_schema())


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


def test_no_secret_has_a_default_and_only_migrate_holds_the_owner() -> None:
    text = (ROOT / "compose.yaml").read_text()
    assert ":-" not in text, "a ${VAR:-default} would give every deployment the same password"
    services = compose()["services"]
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
    assert mounted == ["./config/postgres/init-roles.sh", "./config/postgres/roles.sql"]
    assert all((ROOT / path).is_file() for path in mounted)
