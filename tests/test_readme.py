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


def _layout_paths() -> list[str]:
    table = README[README.index("| Path | Role |") : README.index("## Running it")]
    return [
        p
        for row in table.splitlines()[2:]
        if row.startswith("| ")
        for p in row.split("|")[1].split("`")[1::2]
    ]


def test_the_layout_table_matches_the_tree() -> None:
    root = Path(__file__).resolve().parents[1]
    paths = _layout_paths()
    assert [p for p in paths if not (root / p).exists()] == []
    packages = {
        str(d.relative_to(root)) + "/"
        for top in ("monitoring", "monitoring/detection")
        for d in (root / top).iterdir()
        if d.is_dir() and (d / "__init__.py").exists()
    }
    packages |= {
        f"{d}/" for d in ("devices", "simulators", "evaluation", "monitoring_cli", "benchmarks", "tests")
    }
    assert sorted(packages - set(paths)) == []
