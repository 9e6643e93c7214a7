#!/usr/bin/env bash
# The programme's end state on one machine: 3 clouds x (4 validators + 6 business + 12 slim) = 66 node processes with
# WAN emulation (devnet --topology programme). Checks that it starts, elects and commits, that every node holds the
# same state root, then loses the leader's whole cloud at once (22 processes, kill -9) while a client writes through
# another cloud, and reports the write pause, the acknowledged writes lost (must be 0) and the catch-up of the
# returned cloud. Prints each phase's time; exits non-zero on any failure. Takes about 10 minutes on 2 cores.
#   bench/programme-layout.sh [--base-port 30000] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
base=30000
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --base-port) base="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--base-port N] [--keep]" >&2; exit 2 ;;
  esac
done

dotnet build node -c Release -v quiet -nologo >/dev/null
node_dll="$PWD/node/bin/Release/net10.0/Aurigraph.Node.dll"
work=$(mktemp -d /tmp/aurigraph-programme-XXXXXX)
dir="$work/devnet"
cli() { timeout 60 dotnet "$node_dll" "$@"; }
api() { echo "http://127.0.0.1:$((base + 100 + $1))"; }
field() { python3 -c "import json,sys
try: print(json.load(sys.stdin).get('$1', ''))
except ValueError: print('')"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.1f}')"; }

started=$(now)
dotnet "$node_dll" devnet --topology programme --dir "$dir" --base-port "$base" >"$work/devnet.out" 2>"$work/devnet.err" &
devnet=$!
cleanup() {
  kill "$devnet" 2>/dev/null || true
  wait "$devnet" 2>/dev/null || true
  pkill -f "run --config $dir/" 2>/dev/null || true
  [ "$keep" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM

# Which members sit in which cloud: from the generated configuration.
until [ -f "$dir/node-66/appsettings.json" ]; do sleep 1; done
python3 - "$dir/node-1/appsettings.json" >"$work/clouds.txt" <<'EOF'
import json, sys
members = json.load(open(sys.argv[1]))["Aurigraph"]["Members"]
for m in members:
    print(m["Id"], m["Cloud"], m["Role"])
EOF
cloud_of() { awk -v id="$1" '$1 == id { print $2 }' "$work/clouds.txt"; }

leader=""
until [ -n "$leader" ] && [ "$leader" != 0 ]; do
  kill -0 "$devnet" 2>/dev/null || fail "the devnet exited: $(tail -5 "$work/devnet.err")"
  [ "$(since "$started" | cut -d. -f1)" -lt 900 ] || fail "no leader within 15 minutes"
  sleep 5
  leader=$(cli status --node "$(api 1)" 2>/dev/null | field leader || true)
done
echo "start to leader (node $leader, $(cloud_of "$leader")): $(since "$started") s"

recipient=$(cli keygen | grep -o '[0-9a-f]\{64\}' | tail -1)
# One transfer through a slim node of each cloud (slim ids 31-66 go round-robin over aws, azure, gcp).
t=$(now)
for slim in 64 65 66; do
  state=$(cli transfer --node "$(api $slim)" --key "$dir/keys/dev-1.key" --to "$recipient" --amount 1 | field state)
  [ "$state" = TRANSACTION_STATE_COMMITTED ] || fail "transfer through node $slim: $state"
done
echo "3 transfers through a slim node of each cloud, one at a time: $(since "$t") s"

agree() {
  local want="$1" roots
  roots=$(for id in $(seq 1 66); do grep -q "^$id " "$work/gone.txt" 2>/dev/null && continue; cli status --node "$(api "$id")" 2>/dev/null | python3 -c "import json,sys
try:
    s = json.load(sys.stdin)
    print(s['height'], s['stateRoot']) if int(s['height']) >= $want else print('behind')
except ValueError:
    print('behind')"; done | sort -u)
  [ "$(echo "$roots" | wc -l)" = 1 ] && [ "$roots" != behind ]
}
height=$(cli status --node "$(api "$leader")" | field height)
t=$(now)
until agree "$height"; do [ "$(since "$t" | cut -d. -f1)" -lt 300 ] || fail "the nodes do not agree on one state root"; sleep 2; done
echo "all 66 nodes at one height and state root: $(since "$t") s"

# Lose the leader's cloud while a client writes through a business node of another cloud.
lost=$(cloud_of "$leader")
entry=$(awk -v c="$lost" '$2 != c && $3 == "Business" { print $1; exit }' "$work/clouds.txt")
: >"$work/writes.txt"
(
  # The nonce moves on only once a write is acknowledged; a write that was not is sent again with the same nonce,
  # so the same signed bytes (Ed25519 is deterministic): it commits once, whatever happened to the first attempt.
  nonce=0
  for i in $(seq 1 60); do
    state=$(cli transfer --node "$(api "$entry")" --key "$dir/keys/dev-2.key" --to "$recipient" --amount 1 --nonce "$nonce" 2>/dev/null | field state || true)
    echo "$(now) $nonce $state" >>"$work/writes.txt"
    [ "$state" = TRANSACTION_STATE_COMMITTED ] && nonce=$((nonce + 1))
  done
) &
writer=$!
until [ "$(grep -c COMMITTED "$work/writes.txt")" -ge 5 ]; do sleep 1; done
# Leadership may have moved since the start: the cloud lost is the one that leads now.
leader=$(cli status --node "$(api "$entry")" | field leader)
lost=$(cloud_of "$leader")
awk -v c="$lost" '$2 == c { print $1 }' "$work/clouds.txt" >"$work/gone.txt"
[ -n "$(awk -v c="$lost" '$2 != c && $3 == "Business" && $1 == '"$entry"'' "$work/clouds.txt")" ] || fail "the writer's node $entry is in the lost cloud"
killed=$(now)
pkill -9 -f "run --config $dir/node-($(paste -sd'|' "$work/gone.txt"))/appsettings.json\$" || fail "no node of $lost to kill"
echo "killed all $(wc -l <"$work/gone.txt") nodes of $lost (the leader, node $leader, is there) in one signal round: $(since "$killed") s"
wait "$writer"
python3 - "$work/writes.txt" "$killed" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
killed = float(sys.argv[2])
acked = [float(r[0]) for r in rows if len(r) > 2 and r[2].endswith("COMMITTED")]
after = [t for t in acked if t > killed]
if not after:
    print("no write was acknowledged after the kill")
    sys.exit(1)
# The longest pause between acknowledgements from the last one before the kill on (a write takes a CLI process start).
points = [max([t for t in acked if t <= killed] or [killed])] + after
pause = max(b - a for a, b in zip(points, points[1:]))
print(f"acknowledged writes: {len(acked)} of {len(rows)} attempts; longest pause between acknowledgements from the kill on: {pause:.1f} s "
      f"(usual gap {sorted(b - a for a, b in zip(acked, acked[1:]))[len(acked) // 2]:.1f} s)")
EOF
acked=$(grep -c COMMITTED "$work/writes.txt")
balance=$(cli account "$recipient" --node "$(api "$entry")" | field balance)
[ "$balance" = $((3 + acked)) ] || fail "the recipient holds $balance, not 3 + $acked acknowledged: an acknowledged write was lost"
echo "acknowledged writes lost: 0 (balance $balance = 3 + $acked, linearizable read)"

# The cloud returns: each node started again as the devnet prints, then all catch up.
t=$(now)
for id in $(cat "$work/gone.txt"); do
  dotnet "$node_dll" run --config "$dir/node-$id/appsettings.json" >"$work/node-$id.restarted.log" 2>&1 &
done
: >"$work/gone.txt"
height=""
until [ -n "$height" ]; do height=$(cli status --node "$(api "$entry")" 2>/dev/null | field height); [ -n "$height" ] || sleep 2; done
until agree "$height"; do [ "$(since "$t" | cut -d. -f1)" -lt 600 ] || fail "the returned cloud did not catch up"; sleep 5; done
echo "the returned cloud caught up, all 66 at one height and state root: $(since "$t") s"
echo "total: $(since "$started") s"
