"""Puts the repository root on sys.path so tier 1 tests import `erpnext_mcp` without installing it."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
	sys.path.insert(0, ROOT)
