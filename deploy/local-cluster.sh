#!/usr/bin/env bash
# The process-based twin of deploy/docker-compose.yml: a Sluice cluster made
# of plain processes on this machine, no Docker needed.
#
#   broker     `sluice broker`, the embedded Kafka, with telemetry (8
#              partitions), the sample job's output topics and the catalog
#   worker-N   `sluice worker` x N, each with its own state directory and
#              its own JobService API on 127.0.0.1 (9750, 9751, ... or the
#              next free ports)
#   simulator  `sluice simulate` producing telemetry in real time
#   submit     deploy/samples/job.sql submitted as job `hot-devices` through
#              worker-1's API
#
# Every process's output is streamed to stdout, one line at a time, prefixed
# with its name, and copied to <dir>/<name>.log. Each process's PID is in
# <dir>/<name>.pid. Runs until Ctrl-C or SIGTERM (or --duration), then stops
# the simulator, the workers (which commit and leave their groups) and the
# broker, in that order, and waits for them.
#
# usage: deploy/local-cluster.sh [--workers N] [--rate N] [--devices N]
#            [--duration D] [--dir DIR] [--base-port PORT] [--sluice PATH]
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOB_SQL="$REPO/deploy/samples/job.sql"
JOB_NAME="hot-devices"
TELEMETRY_PARTITIONS=8

workers=3
rate=2000
devices=1000
duration=""
dir=""
base_port=9750
sluice="$REPO/build/sluice"

usage() {
  cat <<EOF
usage: deploy/local-cluster.sh [flags]

Starts the embedded Kafka broker, N workers, the device simulator in real
time and the sample job ($JOB_NAME), and streams everyone's output until
Ctrl-C or SIGTERM.

  --workers N       workers to start (default 3)
  --rate N          telemetry events per second (default 2000)
  --devices N       simulated devices (default 1000)
  --duration D      stop by itself after D (e.g. 40, 40s, 5m, 1h; default: run until stopped)
  --dir DIR         scratch directory for logs, state and PID files (default: a new temporary one)
  --base-port PORT  worker-1's API port; worker-i gets the next free port after worker-(i-1)'s (default 9750)
  --sluice PATH     the sluice binary (default: build/sluice in this repository)
  --help            show this help
EOF
}

die() {
  echo "local-cluster: $*" >&2
  exit 2
}

# Command line: --flag VALUE or --flag=VALUE.
while [ $# -gt 0 ]; do
  flag="$1"
  value=""
  case "$flag" in
    --help | -h)
      usage
      exit 0
      ;;
    --*=*)
      value="${flag#*=}"
      flag="${flag%%=*}"
      ;;
    --*)
      [ $# -ge 2 ] || die "$flag needs a value"
      value="$2"
      shift
      ;;
    *) die "unexpected argument '$flag' (see --help)" ;;
  esac
  shift
  case "$flag" in
    --workers) workers="$value" ;;
    --rate) rate="$value" ;;
    --devices) devices="$value" ;;
    --duration) duration="$value" ;;
    --dir) dir="$value" ;;
    --base-port) base_port="$value" ;;
    --sluice) sluice="$value" ;;
    *) die "unknown flag $flag (see --help)" ;;
  esac
done

is_count() {
  [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]
}
is_count "$workers" || die "--workers takes a whole number above 0, got '$workers'"
is_count "$rate" || die "--rate takes a whole number above 0, got '$rate'"
is_count "$devices" || die "--devices takes a whole number above 0, got '$devices'"
if ! is_count "$base_port" || [ "$base_port" -ge 65536 ]; then
  die "--base-port takes a port number, got '$base_port'"
fi
[ -x "$sluice" ] || die "no sluice binary at $sluice (build it, or pass --sluice PATH)"

# --duration in whole seconds (0: until stopped).
duration_s=0
if [ -n "$duration" ]; then
  [[ "$duration" =~ ^([0-9]+)(s|m|h)?$ ]] || die "--duration takes e.g. 40, 40s, 5m or 1h, got '$duration'"
  duration_s="${BASH_REMATCH[1]}"
  case "${BASH_REMATCH[2]}" in
    m) duration_s=$((duration_s * 60)) ;;
    h) duration_s=$((duration_s * 3600)) ;;
  esac
  [ "$duration_s" -gt 0 ] || die "--duration must be above 0"
fi

if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/sluice-local-cluster.XXXXXX")"
else
  mkdir -p "$dir"
fi
dir="$(cd "$dir" && pwd)"

say() {
  echo "local-cluster | $*"
}

# relay NAME: copies stdin to stdout line by line, prefixing each line with
# "NAME | " unless it already starts with it (workers prefix their own
# lines), and to $dir/NAME.log.
relay() {
  sed -u -e "/^$1 | /!s/^/$1 | /" -e "w $dir/$1.log"
}

# start NAME COMMAND...: runs COMMAND in the background with its stdout and
# stderr relayed; its PID goes to $dir/NAME.pid and to $started. The job is
# disowned: this script watches it by PID (bash still reaps it), and a
# worker killed on purpose is reported by the main loop, not by bash.
started=""
start() {
  local name="$1"
  shift
  "$@" < /dev/null > >(relay "$name") 2>&1 &
  started=$!
  disown "$started"
  echo "$started" > "$dir/$name.pid"
}

port_in_use() {
  (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
}

broker_pid=""
simulator_pid=""
worker_pids=()
stopping=0

# wait_or_kill SECONDS PID...: waits for the PIDs to exit; those still
# running after SECONDS get SIGKILL.
wait_or_kill() {
  local seconds="$1"
  shift
  [ $# -gt 0 ] || return 0
  local deadline=$((SECONDS + seconds)) pid alive
  while :; do
    alive=()
    for pid in "$@"; do
      if kill -0 "$pid" 2> /dev/null; then alive+=("$pid"); fi
    done
    [ ${#alive[@]} -gt 0 ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "still running after ${seconds} s, killing: ${alive[*]}"
      kill -KILL "${alive[@]}" 2> /dev/null || true
      break
    fi
    sleep 0.2
  done
}

# Stops what this script started, in order: the producer, then the workers
# (SIGTERM: they commit finished work and leave their groups), then the
# broker they need for that.
shutdown() {
  [ "$stopping" -eq 0 ] || return 0
  stopping=1
  trap '' INT TERM
  say "stopping the cluster"
  if [ -n "$simulator_pid" ]; then
    kill -TERM "$simulator_pid" 2> /dev/null || true
    wait_or_kill 5 "$simulator_pid"
  fi
  if [ ${#worker_pids[@]} -gt 0 ]; then
    kill -TERM "${worker_pids[@]}" 2> /dev/null || true
    wait_or_kill 20 "${worker_pids[@]}"
  fi
  if [ -n "$broker_pid" ]; then
    kill -TERM "$broker_pid" 2> /dev/null || true
    wait_or_kill 5 "$broker_pid"
  fi
  say "stopped; logs, state and PID files are in $dir"
}
# shellcheck disable=SC2317  # called by the traps below
on_signal() {
  say "got SIG$1"
  shutdown
  exit 0
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'say "failed: line $LINENO: $BASH_COMMAND"' ERR
trap 'shutdown' EXIT

# The broker. Its partitions, offsets and catalog live in memory, so state
# left in $dir by an earlier run would not match them: start clean.
rm -f "$dir"/*.pid "$dir/bootstrap"
say "scratch directory $dir (logs, state, PID files)"
start broker "$sluice" broker --bootstrap-file "$dir/bootstrap" \
  --topic "telemetry:$TELEMETRY_PARTITIONS" --topic "aggregates:$TELEMETRY_PARTITIONS" \
  --topic "alerts:$TELEMETRY_PARTITIONS" --topic "$JOB_NAME.errors:$TELEMETRY_PARTITIONS"
broker_pid="$started"
for _ in $(seq 150); do
  if [ -s "$dir/bootstrap" ] || ! kill -0 "$broker_pid" 2> /dev/null; then break; fi
  sleep 0.1
done
[ -s "$dir/bootstrap" ] || die "the broker did not start (see $dir/broker.log)"
bootstrap="$(cat "$dir/bootstrap")"

# The workers, each with its own state directory and API port.
apis=()
port="$base_port"
for i in $(seq "$workers"); do
  name="worker-$i"
  while port_in_use "$port"; do
    port=$((port + 1))
    [ "$port" -lt 65536 ] || die "no free port for $name's API"
  done
  rm -rf "${dir:?}/$name"
  mkdir -p "$dir/$name"
  start "$name" "$sluice" worker --bootstrap-file "$dir/bootstrap" --name "$name" \
    --state-dir "$dir/$name/state" --grpc-listen "127.0.0.1:$port"
  worker_pids+=("$started")
  apis+=("127.0.0.1:$port")
  port=$((port + 1))
done

say "Kafka (embedded broker) at $bootstrap"
for i in $(seq "$workers"); do
  say "worker-$i: pid ${worker_pids[$((i - 1))]}, API ${apis[$((i - 1))]}"
done
say "hint: kill -9 <pid> to watch its partitions move (e.g. kill -9 ${worker_pids[$((workers - 1))]} for worker-$workers)"
say "results: $sluice tail $JOB_NAME alerts --server ${apis[0]}   or   kcat -b $bootstrap -C -t alerts"

# The job, through worker-1's API once it has read the catalog (`list`
# answers 0; 3 means no answer yet, 1 that it is not serving yet).
deadline=$((SECONDS + 60))
until "$sluice" list --server "${apis[0]}" > /dev/null 2>&1; do
  kill -0 "${worker_pids[0]}" 2> /dev/null || die "worker-1 exited (see $dir/worker-1.log)"
  [ "$SECONDS" -lt "$deadline" ] || die "worker-1 did not answer on ${apis[0]} within 60 s"
  sleep 0.5
done
attempt=1
until "$sluice" submit "$JOB_SQL" --name "$JOB_NAME" --server "${apis[0]}" \
  < /dev/null > >(relay submit) 2>&1; do
  code=$?
  [ "$code" -ne 2 ] || die "$JOB_SQL was refused (see above)"
  [ "$attempt" -lt 10 ] || die "could not submit $JOB_NAME (exit $code)"
  attempt=$((attempt + 1))
  sleep 1
done

# Telemetry in real time: for --duration (plus a margin), else a year.
sim_duration="365d"
if [ "$duration_s" -gt 0 ]; then sim_duration="$((duration_s + 10))s"; fi
start simulator "$sluice" simulate --bootstrap-file "$dir/bootstrap" --topic telemetry \
  --devices "$devices" --rate "$rate" --realtime --duration "$sim_duration"
simulator_pid="$started"
say "simulator: pid $simulator_pid, $rate events/s from $devices devices"

# Until Ctrl-C, SIGTERM or --duration. `sleep & wait` keeps the traps
# responsive; a dead worker is reported and left dead (that is the point of
# the hint), a dead broker ends the run.
status=0
gone=()
while :; do
  if ! kill -0 "$broker_pid" 2> /dev/null; then
    say "the broker exited; stopping"
    status=1
    break
  fi
  for i in $(seq "$workers"); do
    pid="${worker_pids[$((i - 1))]}"
    if [ -z "${gone[$i]:-}" ] && ! kill -0 "$pid" 2> /dev/null; then
      gone[i]=1
      say "worker-$i (pid $pid) is gone; its partitions move to the others once its session times out"
    fi
  done
  if [ "$duration_s" -gt 0 ] && [ "$SECONDS" -ge "$duration_s" ]; then
    say "--duration $duration reached"
    break
  fi
  sleep 1 &
  wait $! || true
done
shutdown
exit "$status"
