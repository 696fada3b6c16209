"""The README's promises that code can check."""

from pathlib import Path

from monitoring.catalogue import SERIES
from monitoring.config import Settings
from monitoring_cli.main import COMMANDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_loinc_code_in_the_catalogue_is_documented() -> None:
    for info in SERIES.values():
        assert info.loinc in README, info.label


def test_every_cli_command_is_documented() -> None:
    for name in COMMANDS:
        assert f"`monitoring {name}" in README


def test_every_setting_is_in_the_configuration_table() -> None:
    for section, model in Settings.model_fields.items():
        annotation = model.annotation
        fields = getattr(annotation, "model_fields", None)
        if fields is None:
            assert f"`RPM_{section.upper()}`" in README
            continue
        for name in fields:
            assert f"RPM_{section.upper()}__{name.upper()}" in README, f"{section}.{name}"
