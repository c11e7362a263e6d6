"""Browser tests: Desk in a real headless Chromium (Debian's package, driven by Playwright; no browser
download), against the running site. dev/tier2 starts Desk on 127.0.0.1 (dev/desk_wsgi.py) and sets:

ERPNEXT_MCP_DESK_URL     http://127.0.0.1:PORT
ERPNEXT_MCP_SCREENSHOTS  folder for the screenshots
ERPNEXT_MCP_BENCH / ERPNEXT_MCP_SITE  to prepare the test data (erpnext_mcp.tests.browser_fixtures)
ERPNEXT_MCP_CHROMIUM     the browser (default /usr/bin/chromium)
ERPNEXT_MCP_ADMIN_PASSWORD  the Administrator's password (default "admin")
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from desk import run_json, wait_for_desk
from playwright.sync_api import Page, sync_playwright

CHROMIUM_ARGS = [
	"--headless=new",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
]
TIMEOUT_MS = 30_000


def _env(name: str, default: str | None = None) -> str:
	value = os.environ.get(name, default)
	if not value:
		pytest.fail(f"{name} is not set: run the browser tests through dev/test")
	return value


@pytest.fixture(scope="session")
def base_url() -> str:
	return _env("ERPNEXT_MCP_DESK_URL").rstrip("/")


@pytest.fixture(scope="session")
def screenshots() -> Path:
	path = Path(_env("ERPNEXT_MCP_SCREENSHOTS"))
	path.mkdir(parents=True, exist_ok=True)
	return path


@pytest.fixture(scope="session")
def data() -> dict:
	"""Test user, role and customer (erpnext_mcp.tests.browser_fixtures.prepare, run on the site)."""
	bench = _env("ERPNEXT_MCP_BENCH")
	site = _env("ERPNEXT_MCP_SITE", "mcp.localhost")
	return run_json(
		[
			os.path.join(bench, "env", "bin", "python"),
			"-m",
			"frappe.utils.bench_helper",
			"frappe",
			"--site",
			site,
			"execute",
			"erpnext_mcp.tests.browser_fixtures.prepare",
		],
		cwd=os.path.join(bench, "sites"),
		timeout=300,
	)


@pytest.fixture(scope="session")
def context():
	executable = os.environ.get("ERPNEXT_MCP_CHROMIUM", "/usr/bin/chromium")
	if not os.path.exists(executable):
		pytest.fail(f"no Chromium at {executable}")
	profile = tempfile.mkdtemp(prefix="erpnext-mcp-chromium-")
	with sync_playwright() as p:
		ctx = p.chromium.launch_persistent_context(
			profile,
			executable_path=executable,
			args=CHROMIUM_ARGS,
			headless=True,
			viewport={"width": 1440, "height": 1000},
			device_scale_factor=1,
			permissions=["clipboard-read", "clipboard-write"],
		)
		ctx.set_default_timeout(TIMEOUT_MS)
		try:
			yield ctx
		finally:
			ctx.close()
			shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def logged_in(context, base_url):
	"""Log in once through the /login page, as an administrator would."""
	page = context.new_page()
	page.goto(f"{base_url}/login")
	page.fill("#login_email", "Administrator")
	page.fill("#login_password", os.environ.get("ERPNEXT_MCP_ADMIN_PASSWORD", "admin"))
	page.click(".btn-login")
	# Desk lives at /app on Frappe v15 and at /desk on v16 (which redirects /app/... there).
	page.wait_for_url(re.compile(r"/(app|desk)(/|$)"))
	wait_for_desk(page)
	page.close()
	return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
	outcome = yield
	report = outcome.get_result()
	if report.when == "call":
		item.failed_call = report.failed


@pytest.fixture
def page(request, context, logged_in, base_url, screenshots) -> Page:
	page = context.new_page()
	errors: list[str] = []
	page.on("pageerror", lambda e: errors.append(str(e)))
	# A request Desk sends that the server fails (what shows the "Server Error" dialog) fails the test.
	page.on(
		"response",
		lambda r: errors.append(f"{r.status} from {r.url}") if r.status >= 500 and "/api/" in r.url else None,
	)
	page.base = base_url  # type: ignore[attr-defined]
	yield page
	if getattr(request.node, "failed_call", False):
		page.screenshot(path=str(screenshots / f"failed-{request.node.name}.png"), full_page=True)
	dialogs = page.locator(".modal.show .modal-title").all_inner_texts()
	page.close()
	# A JavaScript exception or a Server Error dialog in Desk is a failure even when the page looked right.
	assert not [t for t in dialogs if "Server Error" in t], dialogs
	assert not errors, errors
