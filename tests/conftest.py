import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
	sys.path.insert(0, str(ROOT))


@pytest.fixture(params=["sdk", "fast"])
def harness(request):
	"""Tier 1's HTTP server, once with every request on the SDK's transport and once with the fast path,
	whose every answer is compared byte for byte with the SDK's answer to the same request."""
	from tests.harness import Harness

	h = Harness(request.param)
	yield h
	h.close()
	assert not h.app.mismatches, h.app.mismatches[:3]
