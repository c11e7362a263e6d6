"""Tier 1's HTTP server: a stdlib WSGI server running the same `erpnext_mcp.server.http.serve` that
Frappe's whitelisted method runs, with the in-memory backend behind it.

Two paths (conftest.py runs every test using the harness on both; "fast-only" skips the comparison): "sdk" sends every request through
the SDK's transport; "fast" answers with server/fast.py where it applies, and first serves the same
request through the SDK's transport on a copy of the store, so every answer of every test is compared
byte for byte with the SDK's (status, headers but Content-Length, body); differences are collected in
`App.mismatches` and fail the test.
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from erpnext_mcp.policy import Profile, resolve
from erpnext_mcp.server import fast
from erpnext_mcp.server.context import CallState, EndpointSettings
from erpnext_mcp.server.http import HttpRequest, HttpResponse, serve
from tests.memory_backend import USERS, MemoryBackend, MemoryStore

TOKENS = {f"token key-{i}:secret-{i}": user for i, user in enumerate(sorted(USERS))}
TOKEN_OF = {user: token for token, user in TOKENS.items()}
PATH = "/api/method/erpnext_mcp.api.mcp.handle"


def _shadow_store(store: MemoryStore) -> MemoryStore:
	"""A copy of the store for the SDK's answer to the same request (the counter continues alike)."""
	shadow = copy.copy(store)
	shadow.docs = copy.deepcopy(store.docs)
	shadow.idempotency = dict(store.idempotency)
	shadow.approvals = copy.deepcopy(store.approvals)
	shadow.notified = list(store.notified)
	value = next(store.counter)
	store.counter, shadow.counter = itertools.count(value), itertools.count(value)
	return shadow


_SEALED_STATE_RE = re.compile(rb'"requestState":"[^"]*"')


def _wire(response: HttpResponse) -> tuple:
	"""An answer as compared across the two paths; a sealed requestState differs on every seal (its
	nonce is random), so only its presence is compared."""
	headers = sorted((k.lower(), v) for k, v in response.headers.items() if k.lower() != "content-length")
	return response.status, headers, _SEALED_STATE_RE.sub(b'"requestState":"<sealed>"', response.body)


class App:
	def __init__(self, path: str = "sdk"):
		self.path = path
		self.mismatches: list[tuple] = []
		self._lock = threading.Lock()
		self.store = MemoryStore()
		self.settings = EndpointSettings(enabled=True, allowed_origins=("https://allowed.example",))
		self.profiles: dict[str, list[Profile]] = {}
		self.states: list[CallState] = []
		self.list_cache = None
		# Who an unauthenticated request is (the conformance suite sends no credentials); None: nobody.
		self.anonymous_user: str | None = None
		# The site's requestState secret (data/approvals.state_secret derives it from encryption_key).
		self.state_secret = b"tier1-site-secret-derived-from-encryption-key"

	def __call__(self, environ, start_response):
		headers = {
			key[5:].replace("_", "-").lower(): value
			for key, value in environ.items()
			if key.startswith("HTTP_")
		}
		if environ.get("CONTENT_TYPE"):
			headers["content-type"] = environ["CONTENT_TYPE"]
		length = int(environ.get("CONTENT_LENGTH") or 0)
		body = environ["wsgi.input"].read(length) if length else b""
		if environ.get("PATH_INFO") != PATH:
			start_response("404 Not Found", [("Content-Type", "text/plain")])
			return [b"not found"]
		user = TOKENS.get(headers.get("authorization", "")) or self.anonymous_user
		request = HttpRequest(method=environ["REQUEST_METHOD"], headers=headers, body=body, path=PATH)

		def respond(store: MemoryStore, record: bool, list_cache) -> HttpResponse:
			def make_state(version: str) -> CallState:
				state = CallState(
					backend=MemoryBackend(store, user),
					policy=resolve(self.profiles.get(user, [])),
					settings=self.settings,
					headers=headers,
					protocol_version=version,
					state_secret=self.state_secret,
				)
				if record:
					self.states.append(state)
				return state

			response, _state = serve(
				request,
				settings=self.settings,
				authenticated=user is not None,
				www_authenticate='Token realm="tier1"',
				make_state=make_state,
				list_cache=list_cache,
			)
			return response

		if self.path == "fast":
			with self._lock:  # one request at a time, so the copy and the store see the same history
				with fast.disabled():
					expected = respond(_shadow_store(self.store), False, None)
				response = respond(self.store, True, self.list_cache)
			if _wire(response) != _wire(expected):
				self.mismatches.append((body, _wire(expected), _wire(response)))
		elif self.path == "fast-only":
			response = respond(self.store, True, self.list_cache)
		else:
			with fast.disabled():
				response = respond(self.store, True, self.list_cache)
		start_response(
			f"{response.status} X",
			[(k, v) for k, v in response.headers.items() if k.lower() != "content-length"],
		)
		return [response.body]


class _Quiet(WSGIRequestHandler):
	def log_message(self, *args):
		pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
	daemon_threads = True


class Harness:
	def __init__(self, path: str = "sdk"):
		self.app = App(path)
		self.httpd = make_server(
			"127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_Quiet
		)
		self.url = f"http://127.0.0.1:{self.httpd.server_port}{PATH}"
		self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
		self.thread.start()

	def close(self):
		self.httpd.shutdown()
		self.httpd.server_close()
