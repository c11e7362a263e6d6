"""The official MCP conformance suite (@modelcontextprotocol/conformance, from the npm registry, on Node 22
from the npm package `node@22`) against tier 1's HTTP harness, i.e. the same endpoint code Frappe runs.
Every server scenario of the suite runs; tests/conformance-baseline.yml lists those that need a fixture
server's own tools or capabilities this server does not offer, each with its reason. The suite fails
on an unexpected failure and on a baseline entry that starts to pass."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from erpnext_mcp.policy import Profile, Rule

SUITE = "@modelcontextprotocol/conformance@0.1.16"
BASELINE = Path(__file__).parent / "conformance-baseline.yml"
ROOT = Path(__file__).resolve().parent.parent


def suite_bin() -> Path:
	folder = Path(os.environ.get("ERPNEXT_MCP_STATE", ROOT / "dev" / ".state")) / "conformance"
	bin_dir = folder / "node_modules" / ".bin"
	if not (bin_dir / "conformance").exists() or not (bin_dir / "node").exists():
		if shutil.which("npm") is None:
			pytest.fail("npm is not installed: the conformance suite cannot run (apt-get install npm)")
		folder.mkdir(parents=True, exist_ok=True)
		subprocess.run(
			["npm", "install", "--no-audit", "--no-fund", "node@22", SUITE],
			cwd=folder,
			check=True,
			capture_output=True,
			timeout=600,
		)
	return bin_dir


def test_the_official_conformance_suite_passes_every_scenario_that_applies(harness):
	bin_dir = suite_bin()
	# The suite sends no credentials: in the harness an anonymous request is this caller.
	harness.app.anonymous_user = "sales@example.com"
	harness.app.profiles["sales@example.com"] = [
		Profile("Conformance", (Rule("Customer", frozenset({"read"})),))
	]
	result = subprocess.run(
		[str(bin_dir / "conformance"), "server", "--url", harness.url, "--expected-failures", str(BASELINE)],
		capture_output=True,
		text=True,
		timeout=600,
		env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
	)
	out = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
	assert result.returncode == 0, out[-4000:]
	for scenario in ("server-initialize", "ping", "tools-list", "dns-rebinding-protection"):
		assert re.search(rf"✓ {scenario}: [1-9]\d* passed, 0 failed", out), (scenario, out[-4000:])
