"""UCUM unit conversions for the units devices are allowed to report.

Every conversion is exact arithmetic on documented factors, so a value can go
device unit -> canonical unit -> device unit and come back unchanged (up to
floating point rounding).

>>> round(to_canonical(5.5, "mmol/L", "mg/dL"), 3)
99.088
>>> round(to_canonical(98.6, "[degF]", "Cel"), 2)
37.0
"""

from __future__ import annotations

from collections.abc import Callable

# 1 mmol/L of glucose (molar mass 180.16 g/mol) is 18.016 mg/dL.
GLUCOSE_MG_DL_PER_MMOL_L = 18.016
# The international avoirdupois pound, by definition.
KG_PER_LB = 0.45359237


class UnitConversionError(ValueError):
    """The pair of units has no conversion in this table."""


_Converter = tuple[Callable[[float], float], Callable[[float], float]]

# (from_unit, canonical_unit) -> (forward, inverse)
_CONVERSIONS: dict[tuple[str, str], _Converter] = {
    ("mmol/L", "mg/dL"): (
        lambda v: v * GLUCOSE_MG_DL_PER_MMOL_L,
        lambda v: v / GLUCOSE_MG_DL_PER_MMOL_L,
    ),
    ("[degF]", "Cel"): (lambda v: (v - 32.0) * 5.0 / 9.0, lambda v: v * 9.0 / 5.0 + 32.0),
    ("[lb_av]", "kg"): (lambda v: v * KG_PER_LB, lambda v: v / KG_PER_LB),
    ("g", "kg"): (lambda v: v / 1000.0, lambda v: v * 1000.0),
    # UCUM annotations in braces are unity: {beats}/min is /min.
    ("{beats}/min", "/min"): (lambda v: v, lambda v: v),
    ("{breaths}/min", "/min"): (lambda v: v, lambda v: v),
}


def to_canonical(value: float, unit: str, canonical: str) -> float:
    """Convert ``value`` expressed in ``unit`` into ``canonical``."""
    if unit == canonical:
        return value
    try:
        forward, _ = _CONVERSIONS[(unit, canonical)]
    except KeyError:
        raise UnitConversionError(f"no conversion from {unit!r} to {canonical!r}") from None
    return forward(value)


def from_canonical(value: float, canonical: str, unit: str) -> float:
    """Convert ``value`` expressed in ``canonical`` into a device ``unit``."""
    if unit == canonical:
        return value
    try:
        _, inverse = _CONVERSIONS[(unit, canonical)]
    except KeyError:
        raise UnitConversionError(f"no conversion from {canonical!r} to {unit!r}") from None
    return inverse(value)
