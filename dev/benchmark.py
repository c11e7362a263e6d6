"""What the MCP layer costs over ERPNext's own REST API, measured side by side in one run.

Run through ./dev/bench (which serves the site with gunicorn, seeds data and cleans up). Every pair is
interleaved (MCP, REST, MCP, REST, ...) on one keep-alive connection per side, after a warm-up, as the
same ERPNext user; the app runs as shipped (audit and rate limits on, read cache on) unless a row says
otherwise. Prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

URL = os.environ["ERPNEXT_MCP_BENCH_URL"]  # http://127.0.0.1:PORT
SITE = os.environ["ERPNEXT_MCP_BENCH_SITE"]
DATA = json.load(open(os.environ["ERPNEXT_MCP_BENCH_DATA"]))
ENDPOINT = f"{URL}/api/method/erpnext_mcp.api.mcp.handle"
N = int(os.environ.get("ERPNEXT_MCP_BENCH_N", "100"))
WARMUP = 20
FIELDS = ["name", "customer_name", "customer_group", "territory", "customer_type"]
FILTER = {"customer_name": ["like", "MCP Bench Customer%"]}


def headers(token: str, mcp: bool = True) -> dict[str, str]:
	h = {"Authorization": token, "X-Frappe-Site-Name": SITE}
	if mcp:
		h.update(
			{
				"Accept": "application/json, text/event-stream",
				"Content-Type": "application/json",
				"MCP-Protocol-Version": "2025-06-18",
			}
		)
	return h


class Side:
	"""One keep-alive connection that times each call and remembers the app's own Server-Timing."""

	def __init__(self, token: str, mcp: bool = True):
		self.client = httpx.Client(headers=headers(token, mcp), timeout=120)
		self.times: list[float] = []
		self.server: list[float] = []
		self.phases: list[dict[str, float]] = []

	def timed(self, fn):
		start = time.perf_counter()
		response = fn(self.client)
		self.times.append((time.perf_counter() - start) * 1000)
		phases = server_timing(response.headers.get("server-timing", ""))
		if "mcp" in phases:
			self.server.append(phases["mcp"])
			self.phases.append(phases)
		return response

	def reset(self):
		self.times, self.server, self.phases = [], [], []


def server_timing(header: str) -> dict[str, float]:
	"""`mcp;dur=12.3, auth;dur=0.4, ...` (api/mcp.py) → {"mcp": 12.3, "auth": 0.4, ...}."""
	out = {}
	for part in header.split(","):
		name, _, rest = part.strip().partition(";")
		if rest.startswith("dur="):
			out[name] = float(rest[4:])
	return out


class Peer:
	"""The reference peer (PyPI `erpnext-mcp` 0.5.0: a stdio MCP server that calls ERPNext's REST API),
	started over stdio against the same site and user, driven by the real `mcp` client on its own
	event loop; each call is timed from the benchmark's side, as the other two sides are."""

	def __init__(self, python: str, token: str):
		import asyncio

		self.loop = asyncio.new_event_loop()
		self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
		self.thread.start()
		key, secret = token.split(" ", 1)[1].split(":", 1)
		self.params = dict(
			command=python,
			args=[os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_stdio.py"), SITE],
			env={
				"ERPNEXT_URL": f"http://{SITE}:{URL.rsplit(':', 1)[1]}",
				"ERPNEXT_API_KEY": key,
				"ERPNEXT_API_SECRET": secret,
				"PATH": os.environ.get("PATH", ""),
				"HOME": os.environ.get("HOME", "/tmp"),
				"FASTMCP_SHOW_CLI_BANNER": "false",
			},
			cwd="/tmp",
		)
		self.times: list[float] = []
		self._run(self._open())

	def _run(self, coro):
		import asyncio

		return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

	async def _open(self):
		from contextlib import AsyncExitStack

		from mcp import ClientSession, StdioServerParameters
		from mcp.client.stdio import stdio_client

		self.stack = AsyncExitStack()
		read, write = await self.stack.enter_async_context(stdio_client(StdioServerParameters(**self.params)))
		self.session = await self.stack.enter_async_context(ClientSession(read, write))
		await self.session.initialize()

	def call(self, name: str, arguments: dict):
		def run():
			result = self._run(self.session.call_tool(name, arguments))
			if result.isError:
				raise RuntimeError(f"peer {name} failed: {str(result.content)[:300]}")
			return result

		return run

	def ping(self):
		return self._run(self.session.send_ping())

	def timed(self, fn):
		start = time.perf_counter()
		fn()
		self.times.append((time.perf_counter() - start) * 1000)

	def close(self):
		try:
			self._run(self.stack.aclose())
		except Exception:
			pass
		self.loop.call_soon_threadsafe(self.loop.stop)


def tool(name: str, arguments: dict):
	body = {
		"jsonrpc": "2.0",
		"id": 1,
		"method": "tools/call",
		"params": {"name": name, "arguments": arguments},
	}

	def call(client):
		r = client.post(ENDPOINT, json=body)
		result = r.json().get("result") or {}
		if r.status_code != 200 or result.get("isError"):
			raise RuntimeError(f"{name} failed: {r.status_code} {r.text[:300]}")
		return r

	return call


def rest_get(path: str, params: dict | None = None):
	def call(client):
		r = client.get(f"{URL}{path}", params=params)
		r.raise_for_status()
		return r

	return call


def p95(values):
	return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def pair(label, mcp_call, rest_call, *, mcp_side: Side, rest_side: Side, n=N, peer_call=None, peer=None):
	"""MCP, REST (and the peer, when given) interleaved call by call, after a warm-up of each."""
	for _ in range(WARMUP):
		mcp_call(mcp_side.client)
		rest_call(rest_side.client)
		if peer_call is not None:
			peer_call()
	mcp_side.reset()
	rest_side.reset()
	if peer is not None:
		peer.times = []
	for _ in range(n):
		mcp_side.timed(mcp_call)
		rest_side.timed(rest_call)
		if peer_call is not None:
			peer.timed(peer_call)
	m, r = statistics.median(mcp_side.times), statistics.median(rest_side.times)
	row = {
		"case": label,
		"mcp_median": m,
		"mcp_p95": p95(mcp_side.times),
		"rest_median": r,
		"rest_p95": p95(rest_side.times),
		"ratio": m / r,
		"peer_median": statistics.median(peer.times) if peer_call is not None else None,
	}
	if mcp_side.phases:
		names = [k for k in mcp_side.phases[0] if k != "mcp"]
		RESULTS["phases"].append(
			(
				label,
				statistics.median(mcp_side.server),
				{k: statistics.median(p.get(k, 0.0) for p in mcp_side.phases) for k in names},
			)
		)
	return row


def settings(admin: httpx.Client, **values):
	r = admin.put(f"{URL}/api/resource/MCP Settings/MCP Settings", json=values)
	r.raise_for_status()


def settings_fields(admin: httpx.Client) -> set[str]:
	r = admin.get(f"{URL}/api/resource/MCP Settings/MCP Settings")
	r.raise_for_status()
	return set(r.json()["data"])


def list_args(cache_buster: bool = False):
	args = {"doctype": "Customer", "fields": FIELDS, "filters": {"customer_name": "x"}, "limit": 20}
	args["filters"] = [{"field": "customer_name", "op": "like", "value": "MCP Bench Customer%"}]
	if cache_buster:
		args["filters"].append({"field": "name", "op": "!=", "value": uuid.uuid4().hex})
	return args


def throughput(concurrency: int, make_call, token: str, mcp: bool, seconds: float = 3.0):
	stop = time.perf_counter() + seconds
	latencies: list[float] = []
	lock = threading.Lock()

	def worker():
		client = httpx.Client(headers=headers(token, mcp), timeout=120)
		call = make_call()
		local = []
		while time.perf_counter() < stop:
			start = time.perf_counter()
			call(client)
			local.append((time.perf_counter() - start) * 1000)
		with lock:
			latencies.extend(local)

	started = time.perf_counter()
	with ThreadPoolExecutor(max_workers=concurrency) as pool:
		for _ in range(concurrency):
			pool.submit(worker)
	elapsed = time.perf_counter() - started
	return len(latencies) / elapsed, p95(latencies)


def main() -> int:
	token = DATA["token"]
	admin = httpx.Client(headers=headers(DATA["admin"], mcp=False), timeout=60)
	fields = settings_fields(admin)
	have = lambda *names: all(n in fields for n in names)  # noqa: E731
	shipped = {k: v for k, v in {"audit_enabled": 1, "cache_enabled": 1}.items() if k in fields}
	settings(admin, enabled=1, per_doctype_tools=1, **shipped)
	mcp, rest = Side(token), Side(token, mcp=False)
	rows, growth, thr, costs = RESULTS["rows"], RESULTS["growth"], RESULTS["thr"], RESULTS["costs"]
	rest_list = rest_get(
		"/api/resource/Customer",
		{"fields": json.dumps(FIELDS), "filters": json.dumps(FILTER), "limit_page_length": 20},
	)
	invoice = DATA["invoice"]
	rest_get_invoice = rest_get(f"/api/resource/Sales Invoice/{invoice}")

	# 0. what an agent pays in context before and while it works (bytes of the JSON-RPC answers)
	sizes = RESULTS["sizes"]

	def answer_bytes(side: Side, body: dict) -> tuple[int, int]:
		r = side.client.post(ENDPOINT, json=body)
		r.raise_for_status()
		result = r.json()["result"]
		return len(r.content), len(result.get("tools", []))

	listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
	new = DATA["new_profile"]
	b, n = answer_bytes(Side(new["token"]), listing)
	sizes.append(
		(
			f"tools/list, new profile of {new['doctypes']} DocTypes with full CRUD (no per-DocType tools)",
			n,
			b,
			16_000,
		)
	)
	for size, info in sorted(DATA["list_users"].items(), key=lambda kv: int(kv[0])):
		b, n = answer_bytes(Side(info["token"]), listing)
		target = 40_000 if int(size) == 10 else None
		sizes.append((f"tools/list, {info['doctypes']} DocTypes with list and get on", n, b, target))
	for label, arguments, target in (
		("describe_doctype Sales Order (Sales User)", {"doctype": "Sales Order"}, 8_000),
		("describe_doctype Sales Order, detail full", {"doctype": "Sales Order", "detail": "full"}, None),
		(
			"get_generic_document of a one-item Sales Order",
			{"doctype": "Sales Order", "name": DATA["order"]},
			2_500,
		),
		(
			"get_generic_document of a one-item Sales Order, include_empty",
			{"doctype": "Sales Order", "name": DATA["order"], "include_empty": True},
			None,
		),
	):
		name = (
			"describe_doctype"
			if "doctype" in arguments and "name" not in arguments
			else "get_generic_document"
		)
		body = {
			"jsonrpc": "2.0",
			"id": 1,
			"method": "tools/call",
			"params": {"name": name, "arguments": arguments},
		}
		r = mcp.client.post(ENDPOINT, json=body)
		r.raise_for_status()
		structured = r.json()["result"].get("structuredContent")
		assert structured is not None, r.text[:500]
		sizes.append((label, None, len(json.dumps(structured, separators=(",", ":"))), target))
	if os.environ.get("ERPNEXT_MCP_BENCH_ONLY") == "sizes":
		return 0

	# The reference peer over stdio, same site and user (dev/bench installs it into its own venv).
	peer = None
	peer_python = os.environ.get("ERPNEXT_MCP_BENCH_PEER_PYTHON")
	if peer_python and os.path.exists(peer_python):
		try:
			peer = Peer(peer_python, token)
		except Exception as e:
			print(f"reference peer not started: {e}")
	RESULTS["peer"] = peer is not None

	def peer_call(name, arguments):
		return peer.call(name, arguments) if peer is not None else None

	# 1. ping: MCP's against Frappe's own /api/method/ping (same token, so Frappe authenticates both)
	ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}

	def mcp_ping(client):
		r = client.post(ENDPOINT, json=ping)
		if r.status_code != 200 or "result" not in r.json():
			raise RuntimeError(f"ping failed: {r.status_code} {r.text[:300]}")
		return r

	rows.append(
		pair(
			"ping (MCP ping / Frappe /api/method/ping)",
			mcp_ping,
			rest_get("/api/method/ping"),
			mcp_side=mcp,
			rest_side=rest,
			peer_call=peer.ping if peer is not None else None,
			peer=peer,
		)
	)

	# 2-3. reads as shipped (the read cache serves repeated identical reads), then with the cache off:
	# every MCP call runs the query, as REST does
	reads = [
		(
			"list 20 Customers, 5 fields, 1 filter",
			tool("list_generic_documents", list_args()),
			rest_list,
			peer_call(
				"list_documents",
				{
					"doctype": "Customer",
					"fields": FIELDS,
					"filters": json.dumps(FILTER),
					"limit_page_length": 20,
				},
			),
		),
		(
			"get Sales Invoice with items",
			tool("get_generic_document", {"doctype": "Sales Invoice", "name": invoice}),
			rest_get_invoice,
			peer_call("get_document", {"doctype": "Sales Invoice", "name": invoice}),
		),
	]
	modes = [("as shipped", {})] + (
		[("MCP cache off", {"cache_enabled": 0})] if have("cache_enabled") else []
	)
	for mode, values in modes:
		if values:
			settings(admin, **values)
		for label, mcp_call, rest_call, peer_fn in reads:
			rows.append(
				pair(
					f"{label} ({mode})",
					mcp_call,
					rest_call,
					mcp_side=mcp,
					rest_side=rest,
					peer_call=peer_fn,
					peer=peer,
				)
			)
	if have("cache_enabled"):
		settings(admin, cache_enabled=1)

	# 4. a per-DocType tool against the generic one, for a user whose profile names 100 DocTypes with
	# their list and get tools on: the last per-DocType list tool the capped plan kept (the plan's
	# longest walk), and list_generic_documents for the same DocType, interleaved
	wide = DATA["list_users"].get("100")
	if wide:
		wide_side = Side(wide["token"])
		listed = wide_side.client.post(ENDPOINT, json=listing).json()["result"]["tools"]
		slugs = {slug(dt): dt for dt in wide["doctype_names"]}
		kept = [
			t["name"]
			for t in listed
			if t["name"].startswith("list_")
			and t["name"].endswith("_documents")
			and t["name"][5:-10] in slugs
		]
		if kept:
			name = kept[-1]
			doctype = slugs[name[5:-10]]
			generic_side = Side(wide["token"])
			row = pair(
				f"{name} vs list_generic_documents {doctype} (100 DocTypes in the profile)",
				tool(name, {"fields": ["name"], "limit": 5}),
				tool("list_generic_documents", {"doctype": doctype, "fields": ["name"], "limit": 5}),
				mcp_side=wide_side,
				rest_side=generic_side,
			)
			row["generic"] = True
			rows.append(row)

	# 3. create a Customer
	def mcp_create(client):
		return tool(
			"create_generic_document",
			{
				"doctype": "Customer",
				"values": {
					"customer_name": f"{DATA['created_prefix']} {uuid.uuid4().hex[:8]}",
					"customer_type": "Company",
				},
			},
		)(client)

	def rest_create(client):
		r = client.post(
			f"{URL}/api/resource/Customer",
			json={
				"customer_name": f"{DATA['created_prefix']} {uuid.uuid4().hex[:8]}",
				"customer_type": "Company",
			},
		)
		r.raise_for_status()
		return r

	def peer_create():
		data = {
			"customer_name": f"{DATA['created_prefix']} {uuid.uuid4().hex[:8]}",
			"customer_type": "Company",
		}
		return peer.call("create_document", {"doctype": "Customer", "data": json.dumps(data)})()

	rows.append(
		pair(
			"create a Customer",
			mcp_create,
			rest_create,
			mcp_side=mcp,
			rest_side=rest,
			n=max(30, N // 3),
			peer_call=peer_create if peer is not None else None,
			peer=peer,
		)
	)
	if peer is not None:
		peer.close()

	# 4. tools/list growth
	for _size, info in sorted(DATA["list_users"].items(), key=lambda kv: int(kv[0])):
		side = Side(info["token"])
		body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
		for _ in range(3):
			side.client.post(ENDPOINT, json=body)
		side.reset()
		sizes = []
		for _ in range(15):
			r = side.timed(lambda c: c.post(ENDPOINT, json=body))
			sizes.append(len(r.content))
			tools = len(r.json()["result"]["tools"])
		growth.append(
			{
				"doctypes": info["doctypes"],
				"tools": tools,
				"server_ms": statistics.median(side.server),
				"client_ms": statistics.median(side.times),
				"bytes": sizes[-1],
			}
		)

	# 5. throughput
	for c in (1, 4, 16):
		m_rps, m_p95 = throughput(c, lambda: tool("list_generic_documents", list_args()), token, True)
		r_rps, r_p95 = throughput(c, lambda: rest_list, token, False)
		thr.append({"clients": c, "mcp_rps": m_rps, "mcp_p95": m_p95, "rest_rps": r_rps, "rest_p95": r_p95})

	# 6. per-call costs: audit write, rate-limit check, cache hit vs miss (interleaved on/off blocks)
	list_call = tool("list_generic_documents", list_args())
	miss_call = lambda c: tool("list_generic_documents", list_args(cache_buster=True))(c)  # noqa: E731

	def block(**values):
		settings(admin, **values)
		side = Side(token)
		for _ in range(10):
			miss_call(side.client)
		side.reset()
		for _ in range(N // 2):
			side.timed(miss_call)
		return statistics.median(side.server)

	if have("audit_enabled"):
		on, off = [], []
		for _ in range(2):
			on.append(block(audit_enabled=1))
			off.append(block(audit_enabled=0))
		costs.append(("audit record written per call", statistics.median(on) - statistics.median(off)))
		settings(admin, audit_enabled=1)
	if have("rate_limit_per_minute", "rate_limit_per_hour"):
		current = admin.get(f"{URL}/api/resource/MCP Settings/MCP Settings").json()["data"]
		on, off = [], []
		for _ in range(2):
			on.append(block(rate_limit_per_minute=10_000_000, rate_limit_per_hour=10_000_000))
			off.append(block(rate_limit_per_minute=0, rate_limit_per_hour=0))
		costs.append(("rate-limit check per call", statistics.median(on) - statistics.median(off)))
		settings(
			admin,
			rate_limit_per_minute=current["rate_limit_per_minute"],
			rate_limit_per_hour=current["rate_limit_per_hour"],
		)
	if have("cache_enabled"):
		side = Side(token)
		for _ in range(10):
			list_call(side.client)
		hits, misses = [], []
		for _ in range(N):
			side.reset()
			side.timed(list_call)
			hits.append(side.server[-1])
			side.reset()
			side.timed(miss_call)
			misses.append(side.server[-1])
		costs.append(("cache hit (server ms, median)", statistics.median(hits)))
		costs.append(("cache miss (server ms, median)", statistics.median(misses)))
		costs.append(("miss / hit", statistics.median(misses) / statistics.median(hits)))

	return 0


def print_sizes(sizes):
	print("\n| what the agent reads | tools | bytes | target |")
	print("|---|---|---|---|")
	for label, tools, size, target in sizes:
		mark = "" if target is None else (f"≤ {target:,} met" if size <= target else f"≤ {target:,} NOT met")
		print(f"| {label} | {tools if tools is not None else ''} | {size:,} | {mark} |")


def slug(doctype: str) -> str:
	"""As server/tools/per_doctype.py names per-DocType tools."""
	import re

	return re.sub(r"[^a-z0-9]+", "_", doctype.casefold()).strip("_") or "doctype"


def print_report(rows, growth, thr, costs):
	cpu = ""
	try:
		cpu = next(
			line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
		)
	except (OSError, StopIteration):
		cpu = platform.processor()
	mem = (
		subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.split("\n")[1].split()[1]
		+ " GiB"
	)
	v = DATA["versions"]
	print(
		f"\nMachine: {os.cpu_count()} cores ({cpu}), {mem}; site Python {v.get('python', '?')} (client {platform.python_version()}); Frappe {v['frappe']}, ERPNext {v['erpnext']}, erpnext_mcp {v['erpnext_mcp']}, mcp {v.get('mcp', '?')}; gunicorn {os.environ.get('ERPNEXT_MCP_BENCH_WORKERS', '?')} workers; {N} interleaved pairs after {WARMUP} warm-up calls.\n"
	)
	peer = "peer (erpnext-mcp 0.5.0, stdio) median ms" if RESULTS.get("peer") else "peer (not run)"
	print(
		f"| case | MCP median ms | MCP p95 | REST median ms | REST p95 | MCP/REST | MCP - REST ms | {peer} | peer/REST |"
	)
	print("|---|---|---|---|---|---|---|---|---|")
	for r in rows:
		if r.get("generic"):
			continue
		pm = r.get("peer_median")
		peer_cols = f"{pm:.1f} | {pm / r['rest_median']:.2f}" if pm is not None else " | "
		print(
			f"| {r['case']} | {r['mcp_median']:.1f} | {r['mcp_p95']:.1f} | {r['rest_median']:.1f} | {r['rest_p95']:.1f} | {r['ratio']:.2f} | {r['mcp_median'] - r['rest_median']:+.1f} | {peer_cols} |"
		)
	for r in rows:
		if r.get("generic"):
			print(
				"\n| per-DocType tool vs generic tool | per-DocType median ms | p95 | generic median ms | p95 | per-DocType/generic |"
			)
			print("|---|---|---|---|---|---|")
			print(
				f"| {r['case']} | {r['mcp_median']:.1f} | {r['mcp_p95']:.1f} | {r['rest_median']:.1f} | {r['rest_p95']:.1f} | {r['ratio']:.2f} |"
			)
	if RESULTS["phases"]:
		names = []
		for _label, _total, phases in RESULTS["phases"]:
			names += [k for k in phases if k not in names]
		print("\n| server time per phase (Server-Timing, median ms) | total | " + " | ".join(names) + " |")
		print("|---|---|" + "---|" * len(names))
		for label, total, phases in RESULTS["phases"]:
			print(
				f"| {label} | {total:.2f} | " + " | ".join(f"{phases.get(k, 0.0):.2f}" for k in names) + " |"
			)
	print("\n| tools/list: DocTypes in profile | tools | server ms (median) | client ms | response bytes |")
	print("|---|---|---|---|---|")
	for g in growth:
		print(
			f"| {g['doctypes']} | {g['tools']} | {g['server_ms']:.1f} | {g['client_ms']:.1f} | {g['bytes']:,} |"
		)
	print("\n| concurrent clients | MCP req/s | MCP p95 ms | REST req/s | REST p95 ms | MCP/REST req/s |")
	print("|---|---|---|---|---|---|")
	for t in thr:
		print(
			f"| {t['clients']} | {t['mcp_rps']:.1f} | {t['mcp_p95']:.1f} | {t['rest_rps']:.1f} | {t['rest_p95']:.1f} | {t['mcp_rps'] / t['rest_rps']:.2f} |"
		)
	if costs:
		print("\n| per-call cost (app server time) | ms |")
		print("|---|---|")
		for name, value in costs:
			print(f"| {name} | {value:.2f} |")


def print_targets(rows, thr):
	"""The request-path targets (issue 12's "done when"), judged from this run's own figures."""

	def row(start: str, mode: str = ""):
		return next((r for r in rows if r["case"].startswith(start) and mode in r["case"]), None)

	def verdict(ok: bool) -> str:
		return "met" if ok else "**not met**"

	out = []
	cached, uncached = row("list 20", "as shipped"), row("list 20", "cache off")
	if cached and uncached:
		out.append(
			(
				"list ≤ 1.15x REST, cache on / off",
				f"{cached['ratio']:.2f} / {uncached['ratio']:.2f}",
				f"{verdict(cached['ratio'] <= 1.15)} / {verdict(uncached['ratio'] <= 1.15)}",
			)
		)
	invoice = row("get Sales Invoice", "cache off")
	if invoice:
		out.append(
			(
				"get Sales Invoice ≤ 1.10x REST, cache off",
				f"{invoice['ratio']:.2f}",
				verdict(invoice["ratio"] <= 1.10),
			)
		)
	ping = row("ping")
	if ping:
		extra = ping["mcp_median"] - ping["rest_median"]
		out.append(("MCP ping ≤ Frappe's ping + 2 ms", f"{extra:+.1f} ms", verdict(extra <= 2.0)))
	if cached:
		out.append(("cached list ≤ 0.8x REST", f"{cached['ratio']:.2f}", verdict(cached["ratio"] <= 0.8)))
	by_clients = {t["clients"]: t["mcp_rps"] / t["rest_rps"] for t in thr}
	if 1 in by_clients and 16 in by_clients:
		out.append(
			(
				"req/s ≥ 0.9x REST at 1 / 16 clients",
				f"{by_clients[1]:.2f} / {by_clients[16]:.2f}",
				f"{verdict(by_clients[1] >= 0.9)} / {verdict(by_clients[16] >= 0.9)}",
			)
		)
	generic = next((r for r in rows if r.get("generic")), None)
	if generic:
		out.append(
			(
				"per-DocType tool within 10% of the generic one, 100 DocTypes",
				f"{generic['ratio']:.2f}",
				verdict(generic["ratio"] <= 1.10),
			)
		)
	with_peer = [r for r in rows if not r.get("generic") and r.get("peer_median") is not None]
	if with_peer:
		ahead = [r["case"].split(" (")[0] for r in with_peer if r["peer_median"] < r["mcp_median"]]
		out.append(
			(
				"the peer behind us on every line",
				f"peer ahead on: {', '.join(ahead)}" if ahead else "behind on every line",
				verdict(not ahead),
			)
		)
	if out:
		print("\n| target | measured | |")
		print("|---|---|---|")
		for target, measured, judged in out:
			print(f"| {target} | {measured} | {judged} |")


RESULTS: dict[str, list] = {"rows": [], "growth": [], "thr": [], "costs": [], "sizes": [], "phases": []}

if __name__ == "__main__":
	code = 1
	try:
		code = main()
	finally:
		# Whatever was measured is printed, even if a later section failed.
		print_sizes(RESULTS["sizes"])
		if RESULTS["rows"]:
			print_report(RESULTS["rows"], RESULTS["growth"], RESULTS["thr"], RESULTS["costs"])
			print_targets(RESULTS["rows"], RESULTS["thr"])
	sys.exit(code)
