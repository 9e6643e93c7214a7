#!/usr/bin/env bash
# Idle CPU of the README devnet (3 validators + 1 business + 1 slim, peers on mutual TLS): starts it from the built
# binary (so `dotnet run` is not measured) with its data in a temporary folder, waits until every node knows the
# same leader, lets it settle, then reads each node's utime+stime from /proc/<pid>/stat over the measuring window and
# prints each node's share of one core and the largest.
#
#   bench/idle-cpu.sh                       # build first: dotnet build Aurigraph.Node.sln -c Release
#   SETTLE=10 DURATION=60 bench/idle-cpu.sh
#   AURIGRAPH__HEARTBEATTICKS=2 bench/idle-cpu.sh   # any AURIGRAPH__* variable reaches every node
#
# Exit status: 0 measured, 1 the devnet did not come up or a node died during the window.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/node/bin/Release/net10.0/Aurigraph.Node}"
SETTLE="${SETTLE:-10}"
DURATION="${DURATION:-60}"
BASE_PORT="${BASE_PORT:-7100}"
NODES=5
HZ="$(getconf CLK_TCK)"

if [[ ! -x "$BIN" ]]; then
  echo "idle-cpu: $BIN not found; build first: dotnet build Aurigraph.Node.sln -c Release" >&2
  exit 1
fi

DIR="$(mktemp -d "${TMPDIR:-/tmp}/aurigraph-idle.XXXXXX")"
LOG="$DIR/devnet.log"
DEVNET=""
cleanup() {
  if [[ -n "$DEVNET" ]] && kill -0 "$DEVNET" 2>/dev/null; then
    kill -TERM "$DEVNET" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$DEVNET" 2>/dev/null || break; sleep 0.1; done
  fi
  if [[ -z "${KEEP:-}" ]]; then rm -rf "$DIR"; else echo "idle-cpu: kept $DIR"; fi
}
trap cleanup EXIT

"$BIN" devnet --dir "$DIR" --base-port "$BASE_PORT" >"$LOG" 2>&1 &
DEVNET=$!

# utime + stime (fields 14 and 15; the command name in field 2 may hold spaces, so count from its closing paren).
cpu_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  read -r -a f <<<"$stat"
  echo $((f[11] + f[12]))
}

# The node processes are the devnet's children, told apart by their configuration path.
declare -A PID=()
deadline=$((SECONDS + 60))
while ((${#PID[@]} < NODES)); do
  ((SECONDS < deadline)) || { echo "idle-cpu: the nodes did not start; log: $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
  kill -0 "$DEVNET" 2>/dev/null || { echo "idle-cpu: devnet exited; log:" >&2; tail -20 "$LOG" >&2; exit 1; }
  for child in $(pgrep -P "$DEVNET" || true); do
    cmd="$(tr '\0' ' ' <"/proc/$child/cmdline" 2>/dev/null || true)"
    if [[ "$cmd" =~ node-([0-9]+)/appsettings\.json ]]; then PID[${BASH_REMATCH[1]}]=$child; fi
  done
  sleep 0.2
done

leader_of() {
  curl -sf --max-time 2 "http://127.0.0.1:$((BASE_PORT + 200 + $1))/api/v11/node/status" |
    sed -n 's/.*"leader": *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p'
}

# Elected: every node reports the same, non-zero leader.
deadline=$((SECONDS + 90))
LEADER=""
while :; do
  ((SECONDS < deadline)) || { echo "idle-cpu: no leader within 90 s; log: $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
  seen=""
  agreed=1
  for n in $(seq 1 $NODES); do
    l="$(leader_of "$n" || true)"
    if [[ -z "$l" || "$l" == 0 ]] || { [[ -n "$seen" ]] && [[ "$l" != "$seen" ]]; }; then agreed=0; break; fi
    seen="$l"
  done
  if ((agreed)); then LEADER="$seen"; break; fi
  sleep 0.5
done
echo "idle-cpu: leader is node $LEADER; settling ${SETTLE} s, then measuring ${DURATION} s"
sleep "$SETTLE"

declare -A START=()
for n in $(seq 1 $NODES); do START[$n]="$(cpu_ticks "${PID[$n]}")"; done
t0="$(cut -d' ' -f1 /proc/uptime)"
sleep "$DURATION"
declare -A END=()
for n in $(seq 1 $NODES); do
  END[$n]="$(cpu_ticks "${PID[$n]}")" || { echo "idle-cpu: node $n (pid ${PID[$n]}) died during the window" >&2; exit 1; }
done
t1="$(cut -d' ' -f1 /proc/uptime)"

after="$(leader_of "$LEADER" || true)"
[[ "$after" == "$LEADER" ]] || echo "idle-cpu: note: the leader changed during the window (now '${after:-unknown}')"

max=0
for n in $(seq 1 $NODES); do
  pct="$(awk -v d=$((END[$n] - START[$n])) -v hz="$HZ" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", d / hz / (t1 - t0) * 100 }')"
  tag=""; [[ "$n" == "$LEADER" ]] && tag=" (leader)"
  echo "node $n: $pct % of a core$tag"
  max="$(awk -v a="$pct" -v b="$max" 'BEGIN { print (a > b) ? a : b }')"
done
echo "max: $max % of a core (${DURATION} s window, $((NODES)) nodes, USER_HZ $HZ)"
