"""Starts the reference peer, the PyPI package `erpnext-mcp` (a separate stdio MCP server that calls
ERPNext's REST API over HTTP), for dev/benchmark.py. Run with the peer's own venv; argv[1] is the site
name, which the benchmark's gunicorn serves on 127.0.0.1 but which no resolver here knows: it is
mapped to 127.0.0.1 in this process, as an /etc/hosts line would. Nothing else of the peer changes."""

import socket
import sys

SITE = sys.argv[1]
_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
	# anyio (under httpx) passes the name IDNA-encoded, as bytes
	return _getaddrinfo("127.0.0.1" if host in (SITE, SITE.encode("idna")) else host, *args, **kwargs)


socket.getaddrinfo = getaddrinfo
sys.argv = sys.argv[:1]

from erpnext_mcp.server import main  # the peer's package, from its own venv

main()
