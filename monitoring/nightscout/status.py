"""``/api/v1/status.json``: what Nightscout clients read before they upload.

Clients check ``version`` (xDrip+ refuses 0.6-0.8), ``apiEnabled`` and ``settings.units``; the
thresholds are the international consensus ranges the glucose reports use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitoring.nightscout.entries import iso, millis
from monitoring.reports.glucose import BANDS

# The Nightscout API this server answers as (v1 REST, as served by Nightscout 15).
API_VERSION = "15.0.0"
_EDGES = {name: (low, high) for name, low, high in BANDS}


def server_status(now: datetime) -> dict[str, Any]:
    return {
        "status": "ok",
        "name": "Remote monitoring (Nightscout-compatible uploads)",
        "version": API_VERSION,
        "serverTime": iso(now),
        "serverTimeEpoch": millis(now),
        "apiEnabled": True,
        "careportalEnabled": False,
        "boluscalcEnabled": False,
        "settings": {
            "units": "mg/dl",
            "enable": [],
            "thresholds": {
                "bgHigh": int(_EDGES["very_high"][0]),
                "bgTargetTop": int(_EDGES["in_range"][1]),
                "bgTargetBottom": int(_EDGES["in_range"][0]),
                "bgLow": int(_EDGES["low"][0]),
            },
        },
        "extendedSettings": {},
        "authorized": None,
    }
