import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.contract import METRICS
from devices.units import UnitConversionError, from_canonical, to_canonical

PAIRS = sorted({(unit, spec.canonical_unit) for spec in METRICS.values() for unit in spec.accepted_units})
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(pair=st.sampled_from(PAIRS), value=finite)
def test_every_accepted_unit_round_trips_through_the_canonical_unit(
    pair: tuple[str, str], value: float
) -> None:
    unit, canonical = pair
    back = from_canonical(to_canonical(value, unit, canonical), canonical, unit)
    assert math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-9)


@given(value=st.floats(min_value=1.0, max_value=40.0))
def test_glucose_conversion_is_monotonic_and_scaled(value: float) -> None:
    assert to_canonical(value, "mmol/L", "mg/dL") == pytest.approx(value * 18.016)
    assert to_canonical(value + 0.1, "mmol/L", "mg/dL") > to_canonical(value, "mmol/L", "mg/dL")


@pytest.mark.parametrize(
    ("value", "unit", "canonical", "expected"),
    [
        (212.0, "[degF]", "Cel", 100.0),
        (32.0, "[degF]", "Cel", 0.0),
        (1.0, "[lb_av]", "kg", 0.45359237),
        (70_500.0, "g", "kg", 70.5),
        (5.0, "mmol/L", "mg/dL", 90.08),
        (120.0, "mm[Hg]", "mm[Hg]", 120.0),
    ],
)
def test_known_conversions(value: float, unit: str, canonical: str, expected: float) -> None:
    assert to_canonical(value, unit, canonical) == pytest.approx(expected)


def test_unknown_pair_is_refused() -> None:
    with pytest.raises(UnitConversionError, match="no conversion"):
        to_canonical(1.0, "mg/dL", "kg")
