import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
	sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def site():
	url = os.environ.get("ERPNEXT_MCP_E2E_URL")
	if not url:
		pytest.fail("ERPNEXT_MCP_E2E_URL is not set: run these through dev/test, which starts the site")
	with open(os.environ["ERPNEXT_MCP_E2E_CREDENTIALS"]) as f:
		creds = json.load(f)
	return {"url": url, "host": os.environ.get("ERPNEXT_MCP_E2E_HOST", "localhost"), **creds}
