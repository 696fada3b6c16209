"""The detectors: one per module, each behind the one ``Detector`` protocol (``detection.base``).

Clinical rules (thresholds, glucose episodes, predicted lows, blood pressure,
weight gain, NEWS2, rapid irregular rate), the per-patient models
(``personal``) and the scheduler's data-gap check. The engine and its plumbing
live one level up; ``detection.lineup`` says which detectors the service runs.
"""
