# shellcheck shell=bash
# Helpers shared by the scripts that install and start the tests' private services
# (slurm-test-cluster.sh, pgbouncer-test.sh). Sourced, not run: each script keeps its own
# commands; these only log, fail, and find free ports and live pids the same way.

PROG=$(basename "$0")

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  # die REASON [LOGFILE...]: show the logs' tails, then the one-line reason last.
  local reason=$1 f
  shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    printf -- '--- last lines of %s ---\n' "$f" >&2
    tail -n 20 "$f" >&2 || true
    printf -- '---\n' >&2
  done
  printf '%s: error: %s\n' "$PROG" "$reason" >&2
  exit 1
}
# The sourcing script's header comment, from its second line to its first non-comment line.
usage() {
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2
  exit 2
}
now_ms() { date +%s%3N; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { if [ -s "$1" ]; then tr -dc '0-9' <"$1"; fi; }

used_ports() {
  local hex
  # Column 2 is the local ADDR:PORT, the port in hex.
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$1 ~ /^[0-9]+:$/ { sub(/.*:/, "", $2); print $2 }' |
    sort -u | while read -r hex; do echo $((16#$hex)); done
}

# Print a base port P such that P .. P+count-1 are all free, below the ephemeral range (where
# outgoing connections take their local ports), picked at random so that several instances can
# run side by side.
pick_ports() {
  local count=$1 used base i ok _ low span
  low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  span=$((low - 20000 - count))
  [ "$span" -gt 100 ] || span=10000
  used=" $(used_ports | tr '\n' ' ') "
  for _ in $(seq 1 200); do
    base=$((20000 + (RANDOM * 32768 + RANDOM) % span))
    ok=1
    for ((i = 0; i < count; i++)); do
      case "$used" in *" $((base + i)) "*) ok=0 ;; esac
    done
    if [ "$ok" = 1 ]; then
      echo "$base"
      return 0
    fi
  done
  die "found no $count free consecutive TCP port(s)"
}
