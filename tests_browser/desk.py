"""Driving Desk the way a person does: wait for Desk, open routes, fill controls, pick suggestions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from playwright.sync_api import Page, expect


def wait_for_desk(page: Page) -> None:
	page.wait_for_function("() => window.frappe && frappe.boot && frappe.boot.user && frappe.router")
	page.wait_for_selector(".page-container:visible, .layout-main:visible")


def goto(page: Page, route: str) -> None:
	page.goto(f"{page.base}/app/{route}")  # type: ignore[attr-defined]
	wait_for_desk(page)
	settle(page)


def settle(page: Page) -> None:
	"""No freeze overlay and no request in flight (Desk's own counter)."""
	page.wait_for_function(
		"""() => ![...document.querySelectorAll('.freeze')].some((e) => e.offsetParent !== null)
			&& !(frappe.request && frappe.request.ajax_count > 0)"""
	)
	page.wait_for_timeout(300)


def shot(page: Page, folder: Path, name: str, *, full_page: bool = False) -> Path:
	path = folder / f"{name}.png"
	# Toasts ("Saved") would cover what the screenshot is for.
	page.evaluate(
		"() => document.querySelectorAll('#alert-container .desk-alert').forEach((e) => e.remove())"
	)
	page.screenshot(path=str(path), full_page=full_page)
	return path


def control(page: Page, fieldname: str, scope: str = ""):
	"""A form control's input by fieldname (scope: a CSS prefix such as a dialog's or grid row's)."""
	return page.locator(
		f"{scope} .frappe-control[data-fieldname='{fieldname}'] :is(input, textarea, select)"
	).first


def pick_awesomplete(page: Page, input_locator, text: str, option: str | None = None) -> None:
	"""Type into a Link / Autocomplete / MultiSelect input and choose the suggestion."""
	input_locator.click()
	input_locator.fill("")
	input_locator.press_sequentially(text, delay=20)
	item = page.locator("ul[role='listbox']:visible :is([role='option'], li)").filter(has_text=option or text)
	expect(item.first).to_be_visible()
	item.first.click()


def save(page: Page) -> None:
	page.keyboard.press("Control+s")
	settle(page)


def run_json(command: list[str], *, timeout: int, cwd: str | None = None) -> dict:
	"""Run a helper process and return the last line of its output that is a JSON object."""
	out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
	lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
	assert out.returncode == 0 and lines, out.stdout + out.stderr
	return json.loads(lines[-1])
