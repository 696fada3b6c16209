from devices.kinds import KINDS, DeviceKind
from monitoring.domain import Condition
from simulators.profiles import CONDITIONS, DEVICES_FOR


def test_simulated_conditions_are_the_ones_the_service_enrols() -> None:
    # The manifest carries condition names from the simulators to `monitoring enrol`.
    assert set(CONDITIONS) == {c.value for c in Condition}
    assert set(DEVICES_FOR) <= set(CONDITIONS)


def test_every_device_kind_is_described() -> None:
    assert set(KINDS) == set(DeviceKind)
    for spec in KINDS.values():
        assert spec.expected_interval > spec.sample_every * spec.batch
