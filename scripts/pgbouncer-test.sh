#!/usr/bin/env bash
# A private PgBouncer in transaction mode for the tests and the benchmarks: its config, auth
# file, pid file and log all under one directory, on a free port of its own, in front of the
# PostgreSQL at 127.0.0.1:5432 (every database name there, by wildcard).
#
#   pgbouncer-test.sh install            apt-get install pgbouncer unless already there (root)
#   pgbouncer-test.sh start DIR [USER...] write DIR/pgbouncer.ini and DIR/userlist.txt (postgres
#                                        and the USERs), start pgbouncer, wait until its admin
#                                        console answers, print `export PGBOUNCER_PORT=N` on stdout
#   pgbouncer-test.sh add-users DIR USER... add users to the auth file and reload pgbouncer
#   pgbouncer-test.sh stop DIR           stop it (clients are disconnected)
#   pgbouncer-test.sh status DIR         pid and port; exit 0 only if it is running
#
# Authentication is `trust`: PgBouncer checks no password (the PostgreSQL behind it trusts local
# connections), but a user must be named in the auth file, which holds names only, never a
# password. Environment: PGBOUNCER_TEST_POOL_SIZE (server connections per database and user,
# default 5), PGBOUNCER_TEST_MAX_CLIENTS (default 500), PGBOUNCER_TEST_SERVER_HOST and
# PGBOUNCER_TEST_SERVER_PORT (the PostgreSQL, default 127.0.0.1 and 5432),
# PGBOUNCER_TEST_START_TIMEOUT (seconds, default 20).
# Run as root, pgbouncer (which refuses to run as root) is started as the postgres user.
# Progress goes to stderr; on failure the last line of stderr says why, after the log's tail.
set -euo pipefail

# shellcheck source=lib/test-service-helpers.sh
source "$(dirname "$0")/lib/test-service-helpers.sh"

# Debian installs the binary in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin
have_pgbouncer() { command -v pgbouncer >/dev/null; }

cmd_install() {
  if have_pgbouncer; then
    log "PgBouncer is installed ($(pgbouncer --version | head -n1))"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "PgBouncer is not installed and installing it needs root"
  local t0
  t0=$(now_ms)
  # Two installs at once (parallel test files) would fight over the dpkg lock.
  exec 8>/var/lock/sluice-pgbouncer-install.lock
  flock 8
  if ! have_pgbouncer; then
    log "installing pgbouncer"
    export DEBIAN_FRONTEND=noninteractive
    local aptlog
    aptlog=$(mktemp /tmp/sluice-pgbouncer-install.XXXXXX.log)
    apt-get update -qq >"$aptlog" 2>&1 </dev/null 8>&- || die "apt-get update failed" "$aptlog"
    apt-get install -y -qq --no-install-recommends pgbouncer >>"$aptlog" 2>&1 </dev/null 8>&- ||
      die "apt-get install of pgbouncer failed" "$aptlog"
    have_pgbouncer || die "installed, but pgbouncer is still missing" "$aptlog"
    rm -f "$aptlog"
    # The package's own instance (port 6432) is not what the tests use: leave it stopped.
    if [ -x /etc/init.d/pgbouncer ]; then
      /etc/init.d/pgbouncer stop >/dev/null 2>&1 </dev/null 8>&- || true
    fi
  fi
  flock -u 8
  log "installed $(pgbouncer --version | head -n1) in $(($(now_ms) - t0)) ms"
}

# Local TCP ports in use (listening or connected), in decimal, one a line.
pick_port() { pick_ports 1; }

port_of() { sed -n 's/^listen_port = \([0-9]*\)$/\1/p' "$1/pgbouncer.ini" 2>/dev/null; }

valid_user() { [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "not a plain role name: $1"; }

# The auth file: one `"name" ""` a line. With auth_type trust the password field is not read.
write_users() {
  local file=$1 u
  shift
  touch "$file"
  for u in "$@"; do
    valid_user "$u"
    grep -q "^\"$u\" " "$file" || printf '"%s" ""\n' "$u" >>"$file"
  done
}


# SHOW VERSION on the admin console: 0 when pgbouncer answers.
answers() {
  local port=$1
  PGCONNECT_TIMEOUT=2 psql -X -q -w -h 127.0.0.1 -p "$port" -U postgres -d pgbouncer -tAc 'SHOW VERSION' \
    >/dev/null 2>&1 </dev/null
}

cmd_start() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  shift
  have_pgbouncer || die "PgBouncer is not installed: run '$0 install' first"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  local pid
  pid=$(pid_of "$dir/pgbouncer.pid")
  ! pid_alive "$pid" || die "a pgbouncer in $dir is already running (pid $pid); stop it first"

  local t0 port pool clients host pgport
  t0=$(now_ms)
  pool=${PGBOUNCER_TEST_POOL_SIZE:-5}
  clients=${PGBOUNCER_TEST_MAX_CLIENTS:-500}
  host=${PGBOUNCER_TEST_SERVER_HOST:-127.0.0.1}
  pgport=${PGBOUNCER_TEST_SERVER_PORT:-5432}
  rm -f "$dir/pgbouncer.pid" "$dir/pgbouncer.log" "$dir/userlist.txt"
  write_users "$dir/userlist.txt" postgres "$@"

  # Pick the port and start under a lock, so that two starts do not take the same one.
  exec 9>/tmp/sluice-pgbouncer-ports.lock
  flock 9
  port=$(pick_port)
  cat >"$dir/pgbouncer.ini" <<EOF
; Written by scripts/pgbouncer-test.sh for a test PgBouncer in $dir
[databases]
; Every database of the server, under its own name.
* = host=$host port=$pgport

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
; TCP only: no socket in a shared directory.
unix_socket_dir =
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
stats_users = postgres
; A server connection is a client's for one transaction only: what a site puts before its workers.
pool_mode = transaction
default_pool_size = $pool
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = $clients
; Hundreds of workers each connecting and disconnecting would flood the log.
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
stats_period = 60
EOF
  # pgbouncer runs as postgres when we are root: it must be able to write its pid file and log.
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "user postgres cannot reach $dir (a parent directory is not searchable by it)"
  fi
  chmod 0700 "$dir"
  local extra=()
  [ "$(id -u)" = 0 ] && extra=(-u postgres)
  # -d: it daemonizes, so it does not hold our caller's pipes (nor the lock: 9>&-).
  pgbouncer -d -q "${extra[@]}" "$dir/pgbouncer.ini" >>"$dir/pgbouncer.stderr" 2>&1 </dev/null 9>&- ||
    die "pgbouncer failed to start" "$dir/pgbouncer.stderr" "$dir/pgbouncer.log"
  flock -u 9

  local timeout=${PGBOUNCER_TEST_START_TIMEOUT:-20} deadline
  deadline=$(($(date +%s) + timeout))
  until answers "$port"; do
    pid=$(pid_of "$dir/pgbouncer.pid")
    if [ -s "$dir/pgbouncer.pid" ] && ! pid_alive "$pid"; then
      die "pgbouncer exited during start-up" "$dir/pgbouncer.log"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      cmd_stop "$dir" >/dev/null 2>&1 || true
      die "pgbouncer did not answer on 127.0.0.1:$port within ${timeout}s" "$dir/pgbouncer.stderr" "$dir/pgbouncer.log"
    fi
    sleep 0.1
  done
  log "pgbouncer up on 127.0.0.1:$port (transaction pooling, $pool server connections per database and user) after $(($(now_ms) - t0)) ms"
  printf 'export PGBOUNCER_PORT=%s\n' "$port"
}

cmd_add_users() {
  local dir=${1:-}
  [ -n "$dir" ] && [ $# -ge 2 ] || usage
  shift
  [ -f "$dir/userlist.txt" ] || die "no pgbouncer in $dir (no userlist.txt)"
  write_users "$dir/userlist.txt" "$@"
  local pid
  pid=$(pid_of "$dir/pgbouncer.pid")
  pid_alive "$pid" || die "the pgbouncer in $dir is not running"
  # RELOAD re-reads the config and the auth file; wait for it to be done, not just signalled.
  PGCONNECT_TIMEOUT=5 psql -X -q -w -h 127.0.0.1 -p "$(port_of "$dir")" -U postgres -d pgbouncer -c 'RELOAD' \
    >/dev/null </dev/null || die "RELOAD on the admin console failed" "$dir/pgbouncer.log"
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  [ -d "$dir" ] || die "no such directory: $dir"
  local pid i
  pid=$(pid_of "$dir/pgbouncer.pid")
  if pid_alive "$pid"; then
    log "stopping pgbouncer (pid $pid)"
    # SIGINT: a "safe shutdown" waits for clients to leave; SIGTERM closes them at once.
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    if pid_alive "$pid"; then
      log "pid $pid still running after 10 s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/pgbouncer.pid"
}

cmd_status() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  [ -f "$dir/pgbouncer.ini" ] || die "no pgbouncer in $dir (no pgbouncer.ini)"
  local pid port
  pid=$(pid_of "$dir/pgbouncer.pid")
  port=$(port_of "$dir")
  if pid_alive "$pid"; then
    printf 'pgbouncer running (pid %s) on 127.0.0.1:%s\n' "$pid" "$port"
    printf 'export PGBOUNCER_PORT=%s\n' "$port"
    return 0
  fi
  printf 'pgbouncer stopped\n'
  return 1
}

case "${1:-}" in
install) cmd_install ;;
start)
  shift
  cmd_start "$@"
  ;;
add-users)
  shift
  cmd_add_users "$@"
  ;;
stop) cmd_stop "${2:-}" ;;
status) cmd_status "${2:-}" ;;
*) usage ;;
esac
