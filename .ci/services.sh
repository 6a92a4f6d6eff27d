#!/usr/bin/env bash
# services.sh starts the services the tests need and prints, on stdout, the
# environment that points the tests at them:
#
#   eval "$(.ci/services.sh)"
#
# It installs redis-server, PostgreSQL, nginx and chromium (the browser tests' headless
# browser; never downloaded any other way) with apt-get when they are missing
# (as root, on Debian), starts a throw-away PostgreSQL cluster (trust auth,
# 127.0.0.1 only) in $DMCHAT_PG_DIR (default /tmp/dmchat-pg) on port
# $DMCHAT_PG_PORT (default 55432), and waits until it accepts connections.
# It is idempotent: whatever is already installed or running is left alone.
# Everything except the export lines goes to stderr.
#
#   .ci/services.sh redis     only redis-server: installed if missing (make bench)
set -euo pipefail

ONLY="${1:-}"

PGPORT="${DMCHAT_PG_PORT:-55432}"
PGDIR="${DMCHAT_PG_DIR:-/tmp/dmchat-pg}"

log() { echo "services: $*" >&2; }
die() { log "error: $*"; exit 1; }

# pg_bindir prints the bin directory of the newest installed PostgreSQL.
pg_bindir() {
	local d
	d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
	if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then
		echo "$d"
		return
	fi
	if command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v pg_ctl)"
	fi
}

nginx_path() {
	command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}

chromium_path() {
	command -v chromium 2>/dev/null || { [ -x /usr/bin/chromium ] && echo /usr/bin/chromium; } || true
}

redis_path() {
	command -v redis-server 2>/dev/null || { [ -x /usr/bin/redis-server ] && echo /usr/bin/redis-server; } || true
}

# --- install what is missing ------------------------------------------------
missing=()
[ -n "$(redis_path)" ] || missing+=(redis-server)
[ "$ONLY" = redis ] || [ -n "$(pg_bindir)" ] || missing+=(postgresql)
[ "$ONLY" = redis ] || [ -n "$(nginx_path)" ] || missing+=(nginx)
[ "$ONLY" = redis ] || [ -n "$(chromium_path)" ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; run as root to install them"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Wait (up to 10 min) for another apt/dpkg run to release its locks.
	aptopts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
	for attempt in 1 2 3; do
		if apt-get "${aptopts[@]}" update >&2 && apt-get "${aptopts[@]}" install -y --no-install-recommends "${missing[@]}" >&2; then
			break
		fi
		[ "$attempt" -lt 3 ] || die "apt-get failed"
		log "apt-get failed; retrying in 10 s"
		sleep 10
	done
fi
REDIS="$(redis_path)"
[ -n "$REDIS" ] || die "redis-server not found after install"
# redis-cli (Debian's redis-tools, a dependency of redis-server) forms the
# Redis Cluster of the cluster tests.
REDIS_CLI="$(command -v redis-cli 2>/dev/null || true)"
[ -n "$REDIS_CLI" ] || die "redis-cli not found (install redis-tools)"
if [ "$ONLY" = redis ]; then
	echo "export DMCHAT_REDIS_SERVER=$REDIS"
	echo "export DMCHAT_REDIS_CLI=$REDIS_CLI"
	exit 0
fi
BIN="$(pg_bindir)"
[ -n "$BIN" ] || die "PostgreSQL binaries not found after install"
CHROMIUM="$(chromium_path)"
[ -n "$CHROMIUM" ] || die "chromium not found after install"

# --- PostgreSQL ---------------------------------------------------------------
# PostgreSQL refuses to run as root: as root, run it as the postgres user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -t 2 >/dev/null 2>&1; }

if ready; then
	log "PostgreSQL already running on 127.0.0.1:$PGPORT"
else
	if [ ! -s "$PGDIR/PG_VERSION" ]; then
		log "initialising a PostgreSQL cluster in $PGDIR"
		rm -rf "$PGDIR"
		mkdir -p "$PGDIR"
		if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PGDIR"; fi
		chmod 700 "$PGDIR"
		as_pg "$BIN/initdb" -D "$PGDIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2 ||
			as_pg "$BIN/initdb" -D "$PGDIR" -U postgres --auth=trust --encoding=UTF8 --locale=C >&2
	elif [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$PGDIR"
	fi
	log "starting PostgreSQL on 127.0.0.1:$PGPORT"
	# After a killed server, its orphaned children keep the data directory
	# locked until they notice and exit (a second or two): try again.
	started=""
	for attempt in $(seq 1 15); do
		if as_pg "$BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$PGDIR -c max_connections=500" \
			start >&2; then
			started=1
			break
		fi
		ready && { started=1; break; }
		log "PostgreSQL did not start (attempt $attempt); retrying"
		sleep 1
	done
	[ -n "$started" ] || { tail -n 30 "$PGDIR/server.log" >&2 || true; die "PostgreSQL did not start"; }
fi
for _ in $(seq 1 60); do
	ready && break
	sleep 1
done
ready || die "PostgreSQL on 127.0.0.1:$PGPORT is not ready after 60 s"
log "PostgreSQL ready; redis-server at $REDIS; chromium at $CHROMIUM"

echo "export DMCHAT_TEST_POSTGRES=postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
echo "export DMCHAT_REDIS_SERVER=$REDIS"
echo "export DMCHAT_REDIS_CLI=$REDIS_CLI"
echo "export DMCHAT_NGINX=$(nginx_path)"
echo "export DMCHAT_CHROMIUM=$CHROMIUM"
