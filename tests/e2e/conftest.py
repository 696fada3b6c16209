from pathlib import Path

import pytest

from tests.e2e.support import Broker
from tests.services import require_mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Broker:
    require_mosquitto()
    return Broker.fresh(tmp_path)
