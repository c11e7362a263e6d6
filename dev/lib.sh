# Shared by dev/tier2 and dev/bench: start what a bench site needs unless it is running already, and
# stop on exit exactly what was started here. Source it; set BENCH, SITE and STATE first.

# Where a bench is looked for when none is named: a v15 and a v16 bench side by side (README).
DEFAULT_BENCHES="/opt/frappe-bench-v15 /opt/frappe-bench-v16 /opt/frappe-bench"

# first_bench: the first of DEFAULT_BENCHES that is a bench (prints nothing if none is).
first_bench() {
	local candidate
	for candidate in $DEFAULT_BENCHES; do
		[ -d "$candidate/sites" ] && [ -x "$candidate/env/bin/python" ] && { echo "$candidate"; return 0; }
	done
	return 1
}

# app_fingerprint ROOT: changes when the app's DocTypes, hooks or patches do (then a site migrates).
app_fingerprint() {
	cat "$1"/erpnext_mcp/hooks.py "$1"/erpnext_mcp/patches.txt $(find "$1/erpnext_mcp" -name '*.json' | sort) \
		| sha1sum | cut -c1-40
}

started=()
GUNICORN_PID=""

frappe_cmd() { (cd "$BENCH/sites" && "$BENCH/env/bin/python" -m frappe.utils.bench_helper frappe --site "$SITE" "$@"); }

_db_ping() {
	mysqladmin ping >/dev/null 2>&1 || mysqladmin --user=root --password="${ERPNEXT_MCP_DB_ROOT_PASSWORD:-root}" ping >/dev/null 2>&1
}

start_services() {
	if ! _db_ping; then
		echo "starting MariaDB"
		# Debian's service script prepares /run/mysqld; plain mysqld_safe where there is none.
		if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/mariadb ]; then
			service mariadb start >/dev/null 2>&1 || (mysqld_safe >/dev/null 2>&1 &)
		else
			mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null
			(mysqld_safe >/dev/null 2>&1 &)
		fi
		for _ in $(seq 60); do _db_ping && break; sleep 1; done
		started+=(mariadb)
	fi
	local conf port
	for conf in "$BENCH"/config/redis_cache.conf "$BENCH"/config/redis_queue.conf; do
		[ -f "$conf" ] || continue
		port=$(grep -E '^port ' "$conf" | awk '{print $2}')
		if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
			echo "starting Redis on $port"
			(cd "$BENCH/config" && redis-server "$conf" --daemonize yes >/dev/null)
			for _ in $(seq 30); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.5; done
			started+=("redis:$port")
		fi
	done
}

# start_gunicorn PORT WORKERS: the site on 127.0.0.1 only, the way production serves it.
start_gunicorn() {
	"$BENCH/env/bin/gunicorn" -b "127.0.0.1:$1" -w "$2" -t 120 --chdir "$BENCH/sites" frappe.app:application \
		>"$STATE/gunicorn.log" 2>&1 &
	GUNICORN_PID=$!
	for _ in $(seq 60); do
		curl -sf -H "X-Frappe-Site-Name: $SITE" "http://127.0.0.1:$1/api/method/ping" >/dev/null && return 0
		sleep 0.5
	done
	echo "gunicorn did not come up; see $STATE/gunicorn.log"
	return 1
}

# start_desk_gunicorn PORT: Desk for the browser tests on 127.0.0.1, with /assets and /files served and
# every request pinned to $SITE (dev/desk_wsgi.py; nginx does this in production).
DESK_GUNICORN_PID=""
_LIB_DEV="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
start_desk_gunicorn() {
	if curl -s -o /dev/null "http://127.0.0.1:$1/"; then
		echo "port $1 is in use: set ERPNEXT_MCP_DESK_PORT to a free port"
		return 1
	fi
	ERPNEXT_MCP_SITE="$SITE" "$BENCH/env/bin/gunicorn" -b "127.0.0.1:$1" -w 2 --threads 4 -t 120 \
		--chdir "$BENCH/sites" --pythonpath "$_LIB_DEV" desk_wsgi:application >"$STATE/gunicorn-desk.log" 2>&1 &
	DESK_GUNICORN_PID=$!
	for _ in $(seq 60); do
		kill -0 "$DESK_GUNICORN_PID" 2>/dev/null || break
		curl -sf "http://127.0.0.1:$1/api/method/ping" >/dev/null && return 0
		sleep 0.5
	done
	echo "gunicorn (desk) did not come up; see $STATE/gunicorn-desk.log"
	return 1
}

stop_started() {
	if [ -n "$GUNICORN_PID" ]; then kill "$GUNICORN_PID" 2>/dev/null; wait "$GUNICORN_PID" 2>/dev/null; fi
	if [ -n "$DESK_GUNICORN_PID" ]; then kill "$DESK_GUNICORN_PID" 2>/dev/null; wait "$DESK_GUNICORN_PID" 2>/dev/null; fi
	local what
	for what in "${started[@]}"; do
		case "$what" in
			redis:*) redis-cli -p "${what#redis:}" shutdown nosave >/dev/null 2>&1 ;;
			mariadb)
				if [ -x /etc/init.d/mariadb ]; then service mariadb stop >/dev/null 2>&1; fi
				if _db_ping; then
					mysqladmin --user=root --password="${ERPNEXT_MCP_DB_ROOT_PASSWORD:-root}" shutdown >/dev/null 2>&1 \
						|| mysqladmin shutdown >/dev/null 2>&1
				fi ;;
		esac
	done
}

# link_checkout ROOT: the bench's apps/erpnext_mcp is this checkout, installed in the bench's env and
# named in sites/apps.txt (what `bench get-app` does for an app from a folder).
link_checkout() {
	local root="$1" app="$BENCH/apps/erpnext_mcp"
	if [ "$(readlink -f "$app" 2>/dev/null)" != "$root" ]; then
		if [ -e "$app" ] && [ ! -L "$app" ]; then mv "$app" "$app.before-$(date +%s)"; fi
		ln -sfn "$root" "$app"
	fi
	# Asked from the bench's sites folder, as Frappe imports it: run from the checkout, the import would
	# find ./erpnext_mcp in the current folder and hide an app the bench's env does not have.
	if ! (cd "$BENCH/sites" && "$BENCH/env/bin/python" -c "import os, sys, erpnext_mcp; sys.exit(0 if os.path.realpath(erpnext_mcp.__file__).startswith('$root/') else 1)") 2>/dev/null; then
		echo "installing erpnext_mcp into the bench env (pip install -e)"
		"$BENCH/env/bin/pip" install -q --disable-pip-version-check -e "$app" || return 1
	fi
	grep -qx erpnext_mcp "$BENCH/sites/apps.txt" || { sed -i -e '$a\' "$BENCH/sites/apps.txt"; echo erpnext_mcp >>"$BENCH/sites/apps.txt"; }
}
