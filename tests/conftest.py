import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
	sys.path.insert(0, str(ROOT))


@pytest.fixture
def harness():
	from tests.harness import Harness

	h = Harness()
	yield h
	h.close()
