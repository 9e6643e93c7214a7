#!/usr/bin/env bash
# End-to-end test of the node image under podman: builds the local base (docker/build-base.sh; kept when present),
# publishes the node on this machine and builds the image from that (Dockerfile target prebuilt), generates genesis,
# keys, certificates and configurations for 3 validators + 1 business + 1 slim node on 127.0.0.1 (`devnet --prepare`),
# runs each node in its own container (host network, its data folder a bind-mounted volume, its configuration in
# AURIGRAPH__* environment variables), waits until every node is ready under one leader, submits signed transfers
# through the business node and checks they commit, checks that every node reports the same height and state root,
# kills the leader's container (a validator) and checks that a new leader is elected and commits go on, starts the
# killed container again and checks it catches up from its data volume to the same height and state root, then removes
# the containers, the node image and the generated files. Exits non-zero with a message on the first failure.
#
#   sudo docker/test-containers.sh
#
# Options: --base-port N (27600: peers N+id, gRPC N+100+id, REST N+200+id), --transfers N (per sender and phase, 3;
# the four genesis accounts send in parallel), --keep (leave containers, image and files for a look afterwards),
# --no-publish (use artifacts/publish/node-linux-x64 as it is), --timeout S (60: the bound of every wait).
# Needs root, podman, runc, debootstrap (for the base), the .NET 10 SDK, curl and jq.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
base_port=27600
transfers=3
keep=0
publish=1
timeout=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base-port) base_port=$2; shift 2 ;;
    --transfers) transfers=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-publish) publish=0; shift ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-containers: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

export CONTAINERS_CONF=${CONTAINERS_CONF:-$script_dir/podman/containers.conf}
pm() { podman --runtime /usr/bin/runc --cgroup-manager cgroupfs "$@"; }
run_id=$(date +%Y%m%d-%H%M%S)-$$
base_image=${AURIGRAPH_BASE_IMAGE:-localhost/aurigraph-base:bookworm}
image=localhost/aurigraph-node:test-$run_id
publish_dir=$repo/artifacts/publish/node-linux-x64
work=$(mktemp -d /var/tmp/aurigraph-containers.XXXXXX)
node_cli() { dotnet "$publish_dir/Aurigraph.Node.dll" "$@"; }
t0=$(date +%s.%N)
now() { date +%s.%N; }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%7ss] %s\n' "$(since "$t0")" "$*"; }
fail() { printf '[%7ss] test-containers: FAIL: %s\n' "$(since "$t0")" "$*" >&2; exit 1; }

containers=()
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 && ${#containers[@]} -gt 0 ]]; then
    for c in "${containers[@]}"; do
      echo "--- last log lines of $c ($(pm inspect --format '{{.State.Status}} exit {{.State.ExitCode}}' "$c" 2>/dev/null || echo gone))" >&2
      pm logs --tail 15 "$c" >&2 2>&1 || true
    done
  fi
  if [[ $keep -eq 1 ]]; then
    echo "test-containers: kept containers (${containers[*]:-none}), image $image and files in $work"
    return
  fi
  for c in "${containers[@]}"; do pm rm -f -t 2 "$c" >/dev/null 2>&1 || true; done
  pm rmi "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

[[ $(id -u) -eq 0 ]] || fail "needs root (rootful podman, host network, data folders owned by the image's user)"
for tool in podman dotnet curl jq ss; do command -v "$tool" >/dev/null || fail "'$tool' not found"; done
[[ -x /usr/bin/runc ]] || fail "/usr/bin/runc not found (apt-get install runc)"

# --- images -------------------------------------------------------------------------------------------------------
s=$(now)
"$script_dir/build-base.sh" --image "$base_image" || fail "building the base image failed"
base_seconds=$(since "$s")
if [[ $publish -eq 1 ]]; then
  s=$(now)
  log "dotnet publish (framework-dependent, linux-x64) -> $publish_dir"
  dotnet publish "$repo/node/Aurigraph.Node.csproj" -c Release -r linux-x64 --self-contained false -o "$publish_dir" > "$work/publish.log" 2>&1 \
    || { tail -20 "$work/publish.log" >&2; fail "dotnet publish failed (log above)"; }
  publish_seconds=$(since "$s")
else
  publish_seconds=skipped
fi
[[ -f $publish_dir/Aurigraph.Node.dll ]] || fail "no published node in $publish_dir"
s=$(now)
log "podman build --target prebuilt FROM $base_image -> $image"
pm build --format docker -f "$repo/docker/Dockerfile" --target prebuilt --build-arg RUNTIME_IMAGE="$base_image" -t "$image" "$repo" > "$work/build.log" 2>&1 \
  || { tail -20 "$work/build.log" >&2; fail "podman build failed (log above)"; }
build_seconds=$(since "$s")
image_bytes=$(pm image inspect --format '{{.Size}}' "$image")
base_bytes=$(pm image inspect --format '{{.Size}}' "$base_image")
log "image $image: $(mb "$image_bytes") (base $(mb "$base_bytes"))"

# --- genesis, keys, certificates, configurations ------------------------------------------------------------------
for id in 1 2 3 4 5; do
  for port in $((base_port + id)) $((base_port + 100 + id)) $((base_port + 200 + id)); do
    if ss -Hltn "sport = :$port" | grep -q .; then fail "port $port is taken (choose another --base-port)"; fi
  done
done
node_cli devnet --prepare --dir "$work/devnet" --base-port "$base_port" > "$work/prepare.log" 2>&1 \
  || { cat "$work/prepare.log" >&2; fail "devnet --prepare failed"; }
devnet=$work/devnet
chain_id=$(jq -r '.Aurigraph.ChainId' "$devnet/node-1/appsettings.json")
mapfile -t members < <(jq -c '.Aurigraph.Members[]' "$devnet/node-1/appsettings.json")
[[ ${#members[@]} -eq 5 ]] || fail "expected 5 members in the generated configuration, found ${#members[@]}"
member_env=()
for i in "${!members[@]}"; do
  m=${members[$i]}
  member_env+=(-e "AURIGRAPH__MEMBERS__${i}__ID=$(jq -r .Id <<<"$m")"
               -e "AURIGRAPH__MEMBERS__${i}__ROLE=$(jq -r '["Validator","Business","Slim"][.Role]' <<<"$m")"
               -e "AURIGRAPH__MEMBERS__${i}__PEERADDRESS=$(jq -r .PeerAddress <<<"$m")"
               -e "AURIGRAPH__MEMBERS__${i}__APIADDRESS=$(jq -r .ApiAddress <<<"$m")"
               -e "AURIGRAPH__MEMBERS__${i}__RESTADDRESS=$(jq -r .RestAddress <<<"$m")")
done
role() { jq -r '["validator","business","slim"][.Role]' <<<"${members[$(($1 - 1))]}"; }
api() { jq -r .ApiAddress <<<"${members[$(($1 - 1))]}"; }
rest() { jq -r .RestAddress <<<"${members[$(($1 - 1))]}"; }
name() { echo "aurigraph-test-$run_id-node-$1"; }

# Podman's stderr without its complaint that there is no systemd to run healthcheck timers.
quiet_podman() { grep -v 'unable to get systemd connection' "$1" >&2 || true; }

# --- start --------------------------------------------------------------------------------------------------------
start=$(now)
for id in 1 2 3 4 5; do
  data=$devnet/node-$id/data
  mkdir -p "$data"
  chown 10001:10001 "$data" "$devnet/certs/node-$id.key"
  chmod 600 "$devnet/certs/node-$id.key"
  # No systemd here to run the healthcheck on a timer: `podman healthcheck run` runs it below.
  pm run -d --name "$(name "$id")" --label "aurigraph-test=$run_id" --network host --health-interval disable \
    -e AURIGRAPH__NODEID="$id" -e AURIGRAPH__CHAINID="$chain_id" \
    -e AURIGRAPH__TLS__CAFILE=/etc/aurigraph/certs/ca.pem \
    -e AURIGRAPH__TLS__CERTIFICATEFILE=/etc/aurigraph/certs/node.pem \
    -e AURIGRAPH__TLS__KEYFILE=/etc/aurigraph/certs/node.key \
    -e AURIGRAPH_HEALTHCHECK_URL="$(rest "$id")/healthz" \
    "${member_env[@]}" \
    -v "$devnet/genesis.json:/etc/aurigraph/genesis.json:ro" \
    -v "$devnet/certs/ca.pem:/etc/aurigraph/certs/ca.pem:ro" \
    -v "$devnet/certs/node-$id.pem:/etc/aurigraph/certs/node.pem:ro" \
    -v "$devnet/certs/node-$id.key:/etc/aurigraph/certs/node.key:ro" \
    -v "$data:/var/lib/aurigraph" \
    "$image" > /dev/null 2> "$work/run-$id.err" || { cat "$work/run-$id.err" >&2; fail "podman run of node $id failed"; }
  quiet_podman "$work/run-$id.err"
  containers+=("$(name "$id")")
done
started_seconds=$(since "$start")
log "started 5 containers: $(for id in 1 2 3 4 5; do printf '%s=%s ' "$id" "$(role "$id")"; done)"

alive() { # fails the test when a node's container is no longer running
  local id state
  for id in "$@"; do
    state=$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$(name "$id")")
    [[ $state == running* ]] || fail "node $id's container is not running ($state)"
  done
}

# Every given node ready (/readyz: a leader known, applied up to commit) under the same leader, which is not the node
# after --not; prints the leader.
wait_ready() {
  local deadline=$((SECONDS + timeout)) leaders id answer not=0
  if [[ $1 == --not ]]; then not=$2; shift 2; fi
  while :; do
    leaders=()
    for id in "$@"; do
      answer=$(curl -fsS --max-time 2 "$(rest "$id")/readyz" 2>/dev/null) && leaders+=("$(jq -r .leader <<<"$answer")") || leaders+=(none)
    done
    if [[ ${leaders[0]} != none && ${leaders[0]} != 0 && ${leaders[0]} != "$not" ]] && [[ $(printf '%s\n' "${leaders[@]}" | sort -u | wc -l) -eq 1 ]]; then
      echo "${leaders[0]}"
      return 0
    fi
    alive "$@"
    [[ $SECONDS -lt $deadline ]] || fail "nodes $* not ready under one leader within ${timeout} s (leaders seen: ${leaders[*]})"
    sleep 0.2
  done
}

leader=$(wait_ready 1 2 3 4 5)
leader_seconds=$(since "$start")
log "all 5 nodes ready, leader node $leader, ${leader_seconds} s after the first podman run (the last returned after ${started_seconds} s)"
[[ $(role "$leader") == validator ]] || fail "the leader, node $leader, is not a validator"
for id in 1 2 3 4 5; do
  pm healthcheck run "$(name "$id")" > /dev/null || fail "node $id's image healthcheck (curl $(rest "$id")/healthz) failed"
done
log "image healthcheck healthy on all 5 containers"

# --- transfers ----------------------------------------------------------------------------------------------------
recipient=$(node_cli keygen --out "$work/recipient.key" | awk '/public key/ { print $NF }')
[[ $recipient =~ ^[0-9a-f]{64}$ ]] || fail "keygen printed no public key"
expected_balance=0
committed_total=0
tx_ids=()
# One phase: each genesis account sends $transfers transfers in turn (nonces from the chain), the four in parallel,
# all through the business node's gRPC API; every one must come back COMMITTED with a successful receipt.
transfer_phase() {
  local phase=$1 k sender amount pids=() out
  for k in 1 2 3 4; do
    (
      for ((n = 1; n <= transfers; n++)); do
        amount=$((phase * 1000 + k * 10 + n))
        out=$work/tx-$phase-$k-$n.json
        if ! node_cli transfer --node "$(api 4)" --key "$devnet/keys/dev-$k.key" --to "$recipient" --amount "$amount" > "$out" 2> "$out.err"; then
          echo "transfer $phase/$k/$n: $(cat "$out.err" "$out" | tr '\n' ' ')" > "$out.failed"
        fi
      done
    ) &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k"; done
  if compgen -G "$work/tx-$phase-*.failed" > /dev/null; then
    fail "not committed: $(cat "$work"/tx-"$phase"-*.failed | head -5)"
  fi
  for out in "$work"/tx-"$phase"-*.json; do
    [[ $(jq -r .state "$out") == TRANSACTION_STATE_COMMITTED && $(jq -r .receipt.success "$out") == true ]] \
      || fail "$(basename "$out"): $(jq -c . "$out")"
    tx_ids+=("$(jq -r .txId "$out")")
    committed_total=$((committed_total + 1))
  done
  for k in 1 2 3 4; do for ((n = 1; n <= transfers; n++)); do expected_balance=$((expected_balance + phase * 1000 + k * 10 + n)); done; done
}

# The given nodes agree: same height and state root, applied up to their commit index (polled until they do).
converged_height=0
converged_root=
check_converged() {
  local deadline=$((SECONDS + timeout)) id status heights roots
  while :; do
    heights=() roots=()
    for id in "$@"; do
      status=$(curl -fsS --max-time 2 "$(rest "$id")/api/v11/node/status" 2>/dev/null) || status='{}'
      heights+=("$(jq -r '.height // "?"' <<<"$status")")
      roots+=("$(jq -r '.stateRoot // "?"' <<<"$status")")
    done
    if [[ ${heights[0]} != "?" && $(printf '%s\n' "${heights[@]}" | sort -u | wc -l) -eq 1 \
          && ${roots[0]} != "?" && $(printf '%s\n' "${roots[@]}" | sort -u | wc -l) -eq 1 ]]; then
      converged_height=${heights[0]}
      converged_root=$(base64 -d <<<"${roots[0]}" | od -An -tx1 | tr -d ' \n')
      return 0
    fi
    alive "$@"
    [[ $SECONDS -lt $deadline ]] || fail "nodes $* do not agree within ${timeout} s: heights ${heights[*]}, state roots ${roots[*]}"
    sleep 0.2
  done
}

# Every committed transaction is found committed, and the recipient's balance is the sum sent, on each given node.
check_ledger() {
  local id states balance urls
  for id in "$@"; do
    urls=()
    for tx in "${tx_ids[@]}"; do urls+=("$(rest "$id")/api/v11/transactions/$tx"); done
    states=$(curl -fsS --max-time 10 "${urls[@]}" | jq -rs 'map(.state) | group_by(.) | map("\(.[0])=\(length)") | join(",")') \
      || fail "node $id: the transactions could not all be read"
    [[ $states == "TRANSACTION_STATE_COMMITTED=${#tx_ids[@]}" ]] || fail "node $id: the ${#tx_ids[@]} transactions are $states"
    balance=$(curl -fsS --max-time 2 "$(rest "$id")/api/v11/accounts/$recipient" | jq -r .balance) || fail "node $id: no account answer"
    [[ $balance == "$expected_balance" ]] || fail "node $id: the recipient's balance is $balance, expected $expected_balance"
  done
}

s=$(now)
transfer_phase 1
phase1_seconds=$(since "$s")
phase1_commits=$committed_total
log "phase 1: $phase1_commits transfers COMMITTED through the business node in ${phase1_seconds} s"
check_converged 1 2 3 4 5
log "all 5 nodes at height $converged_height, state root $converged_root"
check_ledger 1 2 3 4 5
log "all 5 nodes: every transaction committed, the recipient holds $expected_balance"

# --- lose the leader ----------------------------------------------------------------------------------------------
killed=$leader
pm kill "$(name "$killed")" > /dev/null || fail "podman kill of node $killed failed"
killed_at=$(now)
log "killed node $killed's container (the leader, a validator)"
survivors=()
for id in 1 2 3 4 5; do [[ $id -ne $killed ]] && survivors+=("$id"); done
new_leader=$(wait_ready --not "$killed" "${survivors[@]}")
failover_seconds=$(since "$killed_at")
log "new leader node $new_leader, ready on all 4 survivors ${failover_seconds} s after the kill"

s=$(now)
transfer_phase 2
phase2_seconds=$(since "$s")
phase2_commits=$((committed_total - phase1_commits))
log "phase 2: $phase2_commits transfers COMMITTED with node $killed down in ${phase2_seconds} s"
height_before=$converged_height
check_converged "${survivors[@]}"
[[ $converged_height -gt $height_before ]] || fail "height did not advance after the kill ($height_before -> $converged_height)"
phase2_height=$converged_height
log "4 survivors at height $converged_height, state root $converged_root"
check_ledger "${survivors[@]}"
log "4 survivors: every transaction of both phases committed, the recipient holds $expected_balance"

# --- the killed node comes back from its volume ---------------------------------------------------------------------
restarted_at=$(now)
pm start "$(name "$killed")" > /dev/null 2> "$work/start.err" || { cat "$work/start.err" >&2; fail "podman start of node $killed failed"; }
quiet_podman "$work/start.err"
back_leader=$(wait_ready 1 2 3 4 5)
check_converged 1 2 3 4 5
rejoin_seconds=$(since "$restarted_at")
log "node $killed restarted on its data volume: all 5 ready under node $back_leader, at height $converged_height, state root $converged_root, ${rejoin_seconds} s after podman start"
check_ledger "$killed"
log "node $killed: every transaction committed, the recipient holds $expected_balance"

cat <<EOF

test-containers: PASS
  base image        $base_image, $(mb "$base_bytes") (build-base.sh ${base_seconds} s)
  node image        $(mb "$image_bytes") (publish ${publish_seconds} s, podman build ${build_seconds} s)
  start to leader   ${leader_seconds} s (first podman run -> 5 nodes ready under node $leader)
  phase 1           $phase1_commits transfers committed in ${phase1_seconds} s, height $height_before
  failover          node $killed killed -> node $new_leader leads, 4 ready in ${failover_seconds} s
  phase 2           $phase2_commits transfers committed in ${phase2_seconds} s, height $phase2_height
  rejoin            node $killed back from its volume, all 5 agree at height $converged_height in ${rejoin_seconds} s
  total             $committed_total commits, ${SECONDS} s end to end (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)
EOF
