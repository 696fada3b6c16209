"""The newcomer's path: `monitoring demo` on embedded services raises an alert and stops cleanly."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from monitoring.embedded.broker import free_port
from monitoring_cli.seed import DEMO_PASSWORD

pytestmark = pytest.mark.e2e


def _get(url: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback only
        body: dict[str, object] = json.loads(response.read())
        return body


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:  # not listening yet, or 503 while starting
        return False


def _sign_in(base: str, username: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(f"{base}/api/v1/auth/token", data=form, timeout=5) as response:  # noqa: S310
        token: str = json.loads(response.read())["access_token"]
        return token


def test_demo_raises_an_explained_alert_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    # No service URLs: the demo must start its own database and broker.
    env = {k: v for k, v in os.environ.items() if k not in ("RPM_DATABASE__URL", "RPM_MQTT__URL")}
    env |= {"RPM_DATA_DIR": str(tmp_path / "data"), "RPM_API__PORT": str(port)}
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitoring_cli",
            "demo",
            "--duration",
            "150",
            "--no-browser",
            "--history-days",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    alert: dict[str, object] | None = None
    try:
        deadline = time.monotonic() + 140
        while not _ready(port) and time.monotonic() < deadline and demo.poll() is None:
            time.sleep(0.5)
        # Once ready, the demo accounts exist: the first sign-in works (no 401, no retry).
        token = _sign_in(f"http://127.0.0.1:{port}", "demo-coordinator", DEMO_PASSWORD)
        # ... and the history is in: every patient has readings on each of the last days, and
        # the diabetic patient's glucose report covers them.
        panel = _get(f"http://127.0.0.1:{port}/api/v1/panel", token)
        rows = panel["items"]
        assert isinstance(rows, list)
        assert len(rows) == 5
        assert all(row["adherence_days"] >= 2 for row in rows), [
            (r["mrn"], r["adherence_days"]) for r in rows
        ]
        assert all(row["time_zone"] == "Europe/London" for row in rows)
        diabetic = next(row for row in rows if row["time_in_range"] is not None)
        report = _get(
            f"http://127.0.0.1:{port}/api/v1/patients/{diabetic['patient_id']}/reports/glucose", token
        )
        sufficiency = report["sufficiency"]
        assert isinstance(sufficiency, dict)
        assert sufficiency["days_with_data"] >= 2
        assert sufficiency["readings"] >= 2 * 288 * 0.9  # a CGM every 5 minutes for two days
        while alert is None and time.monotonic() < deadline and demo.poll() is None:
            time.sleep(1)
            try:
                found = _get(f"http://127.0.0.1:{port}/api/v1/alerts?status=open", token)
            except OSError:
                continue
            items = found["items"]
            assert isinstance(items, list)
            # The patient in fast atrial fibrillation; other patients may alert too.
            alert = next((a for a in items if a["alert_type"] == "arrhythmia.rapid_irregular"), None)
    finally:
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=30)
    assert alert is not None, output[-3000:]
    assert "Rapid irregular heart rate" in str(alert["summary"])
    assert demo.returncode == 0, output[-3000:]
    assert f"http://127.0.0.1:{port}/app/" in output
    assert "Traceback" not in output
    assert "refuses to start like this" not in output, "the demo connects as its runtime role, not the owner"
