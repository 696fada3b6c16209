import pytest

from tests.e2e.support import Broker
from tests.services import require_mosquitto


@pytest.fixture
def broker() -> Broker:
    require_mosquitto()
    return Broker.fresh()
