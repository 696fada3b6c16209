import socket
from pathlib import Path

import pytest

from monitoring.config import Settings
from monitoring_cli.main import build_parser, main


@pytest.mark.parametrize(
    "command", ["demo", "serve", "ingest", "api", "migrate", "enrol", "replay", "evaluate"]
)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([command, "--help"])
    assert exited.value.code == 0
    assert command in capsys.readouterr().out


def test_a_default_secret_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RPM_ENVIRONMENT", "production")
    assert main(["migrate"]) == 2
    assert "RPM_API__SECRET_KEY" in capsys.readouterr().err


def test_nested_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPM_DATABASE__URL", "postgresql://db.example:5432/rpm")
    monkeypatch.setenv("RPM_MQTT__URL", "mqtt://user:pw@broker.example:8883")
    settings = Settings()
    assert settings.database.url == "postgresql+asyncpg://db.example:5432/rpm"
    assert settings.mqtt.endpoint() == ("broker.example", 8883, "user", "pw")


def test_only_postgresql_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPM_DATABASE__URL", "sqlite:///x.db")
    with pytest.raises(ValueError, match="only PostgreSQL"):
        Settings()


def test_the_demo_says_in_one_line_when_its_port_is_taken(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["demo", "--port", str(port), "--no-browser", "--duration", "1"]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in errors[0]
    assert f'ARGS="--port {port + 1}"' in errors[0]
    assert "Traceback" not in caplog.text


def test_a_second_demo_says_it_reuses_the_first_and_fresh_starts_over(tmp_path: Path) -> None:
    from monitoring_cli.demo import _earlier_run

    settings = Settings(data_dir=tmp_path / "data")
    assert _earlier_run(settings, fresh=False) == [], "a first run has nothing to say"
    (settings.data_dir / "postgres").mkdir(parents=True)
    (note,) = _earlier_run(settings, fresh=False)
    assert "reuses the data of an earlier run" in note
    assert 'ARGS="--fresh"' in note
    assert _earlier_run(settings, fresh=True) == []
    assert not settings.data_dir.exists()
