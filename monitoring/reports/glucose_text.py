"""Glucose figures as a reader reads them: stored values are mg/dL; a reader may choose mmol/L.

Server text (explanations, band labels) carries mg/dL figures; on paper they are converted in
place, as the dashboard converts them on screen.
"""

from __future__ import annotations

import re

from monitoring.domain import MG_PER_MMOL

MG_DL = re.compile(r"(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))? ?mg/dL")


def glucose_text(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    return f"{value / MG_PER_MMOL:.1f} mmol/L" if unit == "mmol/L" else f"{value:.0f} mg/dL"


def glucose_in(text: str, unit: str) -> str:
    """mg/dL figures in ``text`` in the reader's unit, as the dashboard does for server text.

    >>> glucose_in("Glucose 54 mg/dL; Very low  <54 mg/dL; In range  70-180 mg/dL", "mmol/L")
    'Glucose 3.0 mmol/L; Very low  <3.0 mmol/L; In range  3.9-10.0 mmol/L'
    """
    if unit != "mmol/L":
        return text

    def convert(match: re.Match[str]) -> str:
        low, high = match.group(1), match.group(2)
        shown = f"{float(low) / MG_PER_MMOL:.1f}"
        if high:
            shown += f"-{float(high) / MG_PER_MMOL:.1f}"
        return f"{shown} mmol/L"

    return MG_DL.sub(convert, text)
