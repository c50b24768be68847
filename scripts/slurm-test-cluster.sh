#!/usr/bin/env bash
# A real single-machine Slurm cluster for the tests: one slurmctld and two slurmd (node1, node2)
# on this host, its config, state, spool and logs all under one directory.
#
#   slurm-test-cluster.sh install      apt-get install Slurm and munge unless already there (root)
#   slurm-test-cluster.sh start DIR    write DIR/slurm.conf, start munged (if not running),
#                                      slurmctld and the two slurmd, wait until both nodes are
#                                      idle, print `export SLURM_CONF=DIR/slurm.conf` on stdout
#   slurm-test-cluster.sh stop DIR     cancel the cluster's jobs, stop its daemons (munged stays)
#   slurm-test-cluster.sh status DIR   daemons and nodes; exit 0 only if all daemons are up
#
# Partitions: `debug` (default, both nodes, no time limit) and `short` (both nodes, MaxTime=5
# minutes). Each node is given the CPU layout that `slurmd -C` reports and half its memory.
# Ports are picked free at random, so several clusters can run side by side (munged is shared).
# Environment: SLURM_TEST_START_TIMEOUT (seconds to wait for idle nodes, default 60).
# Progress goes to stderr; on failure the last line of stderr says why, after the log's tail.
set -euo pipefail

NODES=(node1 node2)
# shellcheck source=lib/test-service-helpers.sh
source "$(dirname "$0")/lib/test-service-helpers.sh"

have_slurm() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null &&
    command -v munged >/dev/null
}

cmd_install() {
  if have_slurm; then
    log "Slurm is installed ($(slurmctld -V))"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "Slurm is not installed and installing it needs root"
  local t0
  t0=$(now_ms)
  # Two installs at once (parallel test files) would fight over the dpkg lock.
  exec 8>/var/lock/sluice-slurm-install.lock
  flock 8
  if ! have_slurm; then
    log "installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    local aptlog
    aptlog=$(mktemp /tmp/sluice-slurm-install.XXXXXX.log)
    apt-get update -qq >"$aptlog" 2>&1 </dev/null 8>&- || die "apt-get update failed" "$aptlog"
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >>"$aptlog" 2>&1 </dev/null 8>&- ||
      die "apt-get install of slurmctld slurmd slurm-client munge failed" "$aptlog"
    have_slurm || die "installed, but slurmctld, slurmd, sbatch or munged is still missing" "$aptlog"
    rm -f "$aptlog"
  fi
  flock -u 8
  log "installed $(slurmctld -V) in $(($(now_ms) - t0)) ms"
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

ensure_munged() {
  munge_works && return 0
  [ "$(id -u)" = 0 ] || die "munged is not running and starting it needs root"
  exec 7>/var/lock/sluice-munged-start.lock
  flock 7
  if ! munge_works; then
    log "starting munged"
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
    if [ ! -s /etc/munge/munge.key ]; then
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    # munged outlives this script: it must not hold our caller's stdout/stderr pipes open.
    local out i
    out=$(mktemp)
    runuser -u munge -- munged >"$out" 2>&1 </dev/null 7>&- || die "munged did not start" "$out" /var/log/munge/munged.log
    for i in $(seq 1 50); do
      munge_works && break
      sleep 0.1
    done
    munge_works || die "munged started but munge -n | unmunge fails" "$out" /var/log/munge/munged.log
    rm -f "$out"
  fi
  flock -u 7
}

ensure_hostname_resolves() {
  local host=$1
  getent hosts "$host" >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "hostname $host does not resolve and adding it to /etc/hosts needs root"
  log "adding '127.0.0.1 $host' to /etc/hosts (it did not resolve)"
  printf '127.0.0.1 %s\n' "$host" >>/etc/hosts
}

# Local TCP ports in use (listening or connected), in decimal, one a line.

# name pidfile logfile, one a line, for each daemon of the cluster in DIR
daemons() {
  local dir=$1 n
  printf 'slurmctld %s %s\n' "$dir/run/slurmctld.pid" "$dir/log/slurmctld.log"
  for n in "${NODES[@]}"; do
    printf 'slurmd-%s %s %s\n' "$n" "$dir/run/slurmd-$n.pid" "$dir/log/slurmd-$n.log"
  done
}

# Node states from sinfo, "node1 idle" one a line (nothing if slurmctld does not answer yet).
node_states() {
  SLURM_CONF="$1/slurm.conf" timeout 10 sinfo -h -N -o '%N %t' 2>/dev/null | sort -u || true
}

write_conf() {
  local dir=$1 host=$2 ctld_port=$3 node_port=$4
  local hw cpus boards sockets cores threads mem node_mem last_port
  hw=$(slurmd -C | head -n1) || die "slurmd -C failed"
  field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" <<<"$hw"; }
  cpus=$(field CPUs)
  boards=$(field Boards)
  sockets=$(field SocketsPerBoard)
  cores=$(field CoresPerSocket)
  threads=$(field ThreadsPerCore)
  mem=$(field RealMemory)
  if [ -z "$cpus" ] || [ -z "$mem" ] || [ -z "$cores" ]; then
    die "cannot read CPUs/RealMemory from slurmd -C: $hw"
  fi
  # Each slurmd checks its node's config against the whole machine: the CPU layout must be the
  # real one (or the node is INVAL), memory may be less. Both nodes get all CPUs (jobs of the
  # tests mostly wait, and four slots let more of them run at once) and half the memory.
  node_mem=$((mem / ${#NODES[@]}))
  last_port=$((node_port + ${#NODES[@]} - 1))
  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-test-cluster.sh for a test cluster in $dir
ClusterName=sluicetest
# By address too: clients then talk to 127.0.0.1, whatever the hostname resolves to.
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Without batch_sched_delay=0 each sbatch waits about 3 s before it may start.
SchedulerParameters=batch_sched_delay=0
# Reject at submission what can never run, rather than leaving it pending.
EnforcePartLimits=ALL
# Finished jobs stay visible to scontrol show job for an hour.
MinJobAge=3600
KillWait=5
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=node[1-${#NODES[@]}] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$node_port-$last_port] CPUs=$cpus Boards=${boards:-1} SocketsPerBoard=${sockets:-1} CoresPerSocket=$cores ThreadsPerCore=${threads:-1} RealMemory=$node_mem State=UNKNOWN
PartitionName=debug Nodes=node[1-${#NODES[@]}] Default=YES MaxTime=UNLIMITED State=UP
PartitionName=short Nodes=node[1-${#NODES[@]}] MaxTime=5 State=UP
EOF
}

cmd_start() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  have_slurm || die "Slurm is not installed: run '$0 install' first"
  [ "$(id -u)" = 0 ] || die "starting the test cluster needs root (SlurmUser=root)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  # slurmd and slurmstepd put Unix sockets in the spool directory (at most 107 bytes a path).
  [ "${#dir}" -le 60 ] || die "directory path is too long for Slurm's sockets (${#dir} > 60 bytes): $dir"
  local pid name pidfile logfile
  while read -r name pidfile logfile; do
    pid=$(pid_of "$pidfile")
    ! pid_alive "$pid" || die "$name of a cluster in $dir is already running (pid $pid); stop it first"
  done < <(daemons "$dir")

  local t0 host
  t0=$(now_ms)
  host=$(hostname -s)
  ensure_hostname_resolves "$host"
  ensure_munged
  rm -rf "$dir/state" "$dir/spool" "$dir/run" "$dir/log"
  mkdir -p "$dir/state" "$dir/run" "$dir/log"
  local n
  for n in "${NODES[@]}"; do mkdir -p "$dir/spool/$n"; done

  # Pick ports and start the daemons under a lock, so that two starts do not take the same ports.
  exec 9>/var/lock/sluice-slurm-ports.lock
  flock 9
  local base
  base=$(pick_ports $((1 + ${#NODES[@]})))
  write_conf "$dir" "$host" "$base" $((base + 1))
  log "starting slurmctld (port $base) and slurmd ${NODES[*]} (ports $((base + 1))-$((base + ${#NODES[@]}))) in $dir"
  # The daemons must not keep the caller's pipes or the lock open (9>&-).
  slurmctld -f "$dir/slurm.conf" -i >>"$dir/log/slurmctld.stderr" 2>&1 </dev/null 9>&- ||
    die "slurmctld failed to start" "$dir/log/slurmctld.stderr" "$dir/log/slurmctld.log"
  for n in "${NODES[@]}"; do
    slurmd -f "$dir/slurm.conf" -N "$n" >>"$dir/log/slurmd-$n.stderr" 2>&1 </dev/null 9>&- ||
      die "slurmd -N $n failed to start" "$dir/log/slurmd-$n.stderr" "$dir/log/slurmd-$n.log"
  done
  flock -u 9

  local timeout=${SLURM_TEST_START_TIMEOUT:-60} deadline states idle
  deadline=$(($(date +%s) + timeout))
  while :; do
    states=$(node_states "$dir")
    idle=$(grep -c ' idle$' <<<"$states" || true)
    [ "$idle" = "${#NODES[@]}" ] && break
    while read -r name pidfile logfile; do
      pid=$(pid_of "$pidfile")
      # A daemon writes its pid file at once: a pid file naming a dead process means it exited.
      if [ -s "$pidfile" ] && ! pid_alive "$pid"; then
        cmd_stop "$dir" >/dev/null 2>&1 || true
        die "$name exited during start-up" "$logfile"
      fi
    done < <(daemons "$dir")
    if [ "$(date +%s)" -ge "$deadline" ]; then
      # No answer at all: slurmctld's log tells why; else the logs of the nodes not idle.
      local logs=()
      [ -n "$states" ] || logs+=("$dir/log/slurmctld.log")
      for n in "${NODES[@]}"; do
        grep -q "^$n idle$" <<<"$states" || logs+=("$dir/log/slurmd-$n.log")
      done
      cmd_stop "$dir" >/dev/null 2>&1 || true
      die "nodes not idle within ${timeout}s (sinfo: $(tr '\n' ' ' <<<"${states:-no answer}"))" "${logs[@]}"
    fi
    sleep 0.2
  done
  log "cluster up, ${#NODES[@]} nodes idle after $(($(now_ms) - t0)) ms"
  printf 'export SLURM_CONF=%s/slurm.conf\n' "$dir"
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  [ -d "$dir" ] || die "no such directory: $dir"
  dir=$(cd "$dir" && pwd -P)
  local name pidfile logfile pid i
  local ctld
  ctld=$(pid_of "$dir/run/slurmctld.pid")
  # Jobs' processes belong to slurmstepd, which outlives slurmd: cancel the jobs first.
  if pid_alive "$ctld" && [ -f "$dir/slurm.conf" ]; then
    export SLURM_CONF="$dir/slurm.conf"
    if [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null)" ]; then
      timeout 10 scancel --user="$(id -un)" 2>/dev/null || true
      for i in $(seq 1 100); do
        [ -z "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.1
      done
    fi
  fi
  local pids=()
  while read -r name pidfile logfile; do
    pid=$(pid_of "$pidfile")
    if pid_alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      log "stopping $name (pid $pid)"
    fi
  done < <(daemons "$dir")
  for i in $(seq 1 100); do
    local alive=0
    for pid in "${pids[@]}"; do pid_alive "$pid" && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if pid_alive "$pid"; then
      log "pid $pid still running after 10 s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$dir"/run/*.pid
}

cmd_status() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  [ -f "$dir/slurm.conf" ] || die "no cluster in $dir (no slurm.conf)"
  dir=$(cd "$dir" && pwd -P)
  local name pidfile logfile pid up=0 down=0
  while read -r name pidfile logfile; do
    pid=$(pid_of "$pidfile")
    if pid_alive "$pid"; then
      printf '%-14s running (pid %s)\n' "$name" "$pid"
      up=$((up + 1))
    else
      printf '%-14s stopped\n' "$name"
      down=$((down + 1))
    fi
  done < <(daemons "$dir")
  if munge_works; then echo "munged         running"; else echo "munged         not answering"; fi
  if [ "$up" -gt 0 ]; then
    printf 'nodes:\n'
    node_states "$dir" | sed 's/^/  /'
  fi
  printf 'export SLURM_CONF=%s/slurm.conf\n' "$dir"
  [ "$down" = 0 ]
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
status) cmd_status "${2:-}" ;;
*) usage ;;
esac
