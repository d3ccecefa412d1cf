#!/bin/sh
# Starts a throwaway PostgreSQL cluster for the HA tests and prints its URL,
# for example:
#
#   export MACHINEHUB_TEST_PG_URL="$(scripts/start-postgres.sh)"
#
# Idempotent: a second run finds the cluster running and prints the URL
# again. Installs nothing: it needs the server binaries of an installed
# PostgreSQL (initdb, pg_ctl). The cluster trusts every local connection, so
# it listens on 127.0.0.1 only and must never hold real data.
#
# Settings (environment):
#   MACHINEHUB_PG_DIR   cluster directory (default /tmp/machinehub-pg)
#   MACHINEHUB_PG_PORT  TCP port on 127.0.0.1 (default 55432)
#   MACHINEHUB_PG_BIN   directory of initdb and pg_ctl (default: newest
#                       /usr/lib/postgresql/*/bin, else PATH)
# Stop it with: pg_ctl -D "$MACHINEHUB_PG_DIR/data" stop (as its owner).
set -eu

dir="${MACHINEHUB_PG_DIR:-/tmp/machinehub-pg}"
port="${MACHINEHUB_PG_PORT:-55432}"
bin="${MACHINEHUB_PG_BIN:-}"
if [ -z "$bin" ]; then
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -n "$bin" ]; then
  PATH="$bin:$PATH"
fi
if ! command -v initdb >/dev/null 2>&1 || ! command -v pg_ctl >/dev/null 2>&1; then
  echo "start-postgres.sh: initdb and pg_ctl not found; install the PostgreSQL server or set MACHINEHUB_PG_BIN" >&2
  exit 1
fi

# PostgreSQL refuses to run as root, so root runs it as the postgres user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- env PATH="$PATH" "$@"
  else
    "$@"
  fi
}

mkdir -p "$dir"
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
fi
data="$dir/data"
if [ ! -f "$data/PG_VERSION" ]; then
  as_owner initdb --pgdata="$data" --username=postgres --auth=trust --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
fi
if ! as_owner pg_ctl --pgdata="$data" status >/dev/null 2>&1; then
  as_owner pg_ctl --pgdata="$data" --log="$dir/server.log" --wait \
    --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" \
    start >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
