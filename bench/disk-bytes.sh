#!/usr/bin/env bash
# Bytes written to disk per committed transaction on each node of a `load --devnet` run.
#
#   bench/disk-bytes.sh [--window SECONDS] [--settle SECONDS] [-- load options...]
#   e.g. bench/disk-bytes.sh --window 20 -- --devnet 3 --duration 30 --signatures none
#
# Starts the load bench in the background, waits until its nodes are up and committing, lets the load settle, then
# reads each node process's /proc/<pid>/io (write_bytes: what reached the block layer; wchar: what the process handed
# to write(2)) and its /metrics (committed transactions, height, RocksDB's WAL/flush/compaction tickers, synced raft
# writes) at the start and the end of a window inside the bench's timed phase. The RocksDB LOG of each node's data
# folder gives flushes and compactions per column family (EVENT_LOG table_file_creation events) inside the window.
# The window must end before the bench's timed phase does: --duration must exceed settle + window + a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

window=20
settle=8
while [[ $# -gt 0 ]]; do
  case "$1" in
    --window) window="$2"; shift 2 ;;
    --settle) settle="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown option $1 (load options go after --)" >&2; exit 2 ;;
  esac
done
load_args=("$@")
[[ ${#load_args[@]} -eq 0 ]] && load_args=(--devnet 3 --duration $((settle + window + 8)) --signatures none --transactions 1200000)

out=$(mktemp -d /tmp/disk-bytes.XXXXXX)
dotnet build bench/Aurigraph.Bench -c Release -v q -nologo >"$out/build.log" 2>&1
dotnet run --no-build --project bench/Aurigraph.Bench -c Release -- load "${load_args[@]}" >"$out/bench.log" 2>&1 &
bench=$!
trap 'kill "$bench" 2>/dev/null || true' EXIT

# Node processes of this bench: dotnet .../Aurigraph.Node.dll run --config <devnet>/node-N/appsettings.json, children
# of the bench process that `dotnet run` started. The window starts once the first node reports committed transactions.
nodes=()
committed() { # sum of committed transactions the nodes report (0 while none answers)
  local total=0 pid cfg rest v
  for pid in "${nodes[@]}"; do
    cfg=$(tr '\0' '\n' </proc/"$pid"/cmdline | grep appsettings.json) || continue
    rest=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["Aurigraph"]; print(next(m["RestAddress"] for m in c["Members"] if int(m["Id"])==int(c["NodeId"])))' "$cfg")
    v=$(curl -s --max-time 2 "$rest/metrics" | awk '/^aurigraph_transactions_committed_total/ {s+=$NF} END {printf "%d", s}') || v=0
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
for _ in $(seq 1 600); do
  kill -0 "$bench" 2>/dev/null || { echo "the bench stopped; see $out/bench.log" >&2; exit 1; }
  children=$(pgrep -d, -P "$bench" || true)
  if [[ -n "$children" ]]; then
    mapfile -t nodes < <(pgrep -f 'Aurigraph.Node.dll run --config' -P "$children" || true)
  fi
  if [[ ${#nodes[@]} -gt 0 && $(committed) -gt 0 ]]; then break; fi
  sleep 0.5
done
[[ ${#nodes[@]} -gt 0 ]] || { echo "no node processes found; see $out/bench.log" >&2; exit 1; }
echo "nodes: ${nodes[*]}; settling ${settle}s, then a ${window}s window (output in $out)" >&2
sleep "$settle"

sample() { # $1 = tag
  for pid in "${nodes[@]}"; do
    cfg=$(tr '\0' '\n' </proc/"$pid"/cmdline | grep appsettings.json)
    python3 - "$pid" "$cfg" "$1" <<'EOF' >>"$out/samples.jsonl"
import json, sys, time, urllib.request, os
pid, cfg, tag = sys.argv[1], sys.argv[2], sys.argv[3]
conf = json.load(open(cfg))["Aurigraph"]
me = next(m for m in conf["Members"] if int(m["Id"]) == int(conf["NodeId"]))
io = dict(l.split(": ") for l in open(f"/proc/{pid}/io").read().split("\n") if l)
metrics = {}
for line in urllib.request.urlopen(me["RestAddress"].rstrip("/") + "/metrics", timeout=5).read().decode().split("\n"):
    if line.startswith(("aurigraph_storage_", "aurigraph_transactions_committed", "aurigraph_ledger_height")) and " " in line:
        name, value = line.split("{")[0].split(" ")[0], line.rsplit(" ", 1)[1]
        metrics[name] = metrics.get(name, 0) + float(value)
data = os.path.join(os.path.dirname(cfg), conf.get("DataDir", "data")) if not os.path.isabs(conf.get("DataDir", "data")) else conf["DataDir"]
print(json.dumps({"tag": tag, "pid": pid, "node": conf["NodeId"], "t": time.time(), "data": data,
                  "io": {k: int(v) for k, v in io.items()}, "metrics": metrics}))
EOF
  done
}
sample start
sleep "$window"
sample end

python3 - "$out/samples.jsonl" <<'EOF' | tee "$out/report.md"
import json, sys, glob, os, collections
rows = [json.loads(l) for l in open(sys.argv[1])]
by = collections.defaultdict(dict)
for r in rows: by[r["node"]][r["tag"]] = r
print("| node | committed tx | blocks | write_bytes/tx | wchar/tx | WAL bytes/tx | flush bytes/tx | compaction bytes/tx | raft synced writes/s | synced writes/block | WAL syncs/s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
percf = {}
for node, s in sorted(by.items()):
    a, b = s["start"], s["end"]
    secs = b["t"] - a["t"]
    d = lambda k: b["metrics"].get(k, 0) - a["metrics"].get(k, 0)
    tx = d("aurigraph_transactions_committed_total")
    blocks = d("aurigraph_ledger_height")
    wb = b["io"]["write_bytes"] - a["io"]["write_bytes"]
    wc = b["io"]["wchar"] - a["io"]["wchar"]
    sync = d("aurigraph_storage_raft_log_synced_writes_total")
    per = lambda v: f"{v / tx:,.0f}" if tx else "-"
    print(f"| {node} | {tx:,.0f} | {blocks:,.0f} | {per(wb)} | {per(wc)} | {per(d('aurigraph_storage_wal_bytes_total'))} | "
          f"{per(d('aurigraph_storage_flush_write_bytes_total'))} | {per(d('aurigraph_storage_compact_write_bytes_total'))} | "
          f"{sync / secs:,.0f} | {sync / blocks if blocks else 0:,.2f} | {d('aurigraph_storage_wal_synced_total') / secs:,.0f} |")
    # Flushes and compactions per column family inside the window, from the RocksDB LOG's event lines.
    jobs, files = {}, []
    for log in sorted(glob.glob(os.path.join(a["data"], "LOG*"))):
        for line in open(log, errors="replace"):
            if "EVENT_LOG_v1" not in line: continue
            ev = json.loads(line.split("EVENT_LOG_v1", 1)[1])
            t = ev.get("time_micros", 0) / 1e6
            if not (a["t"] <= t <= b["t"]): continue
            if ev.get("event") in ("flush_started", "compaction_started"): jobs[ev["job"]] = ev["event"].split("_")[0]
            if ev.get("event") == "table_file_creation": files.append(ev)
    cf = collections.defaultdict(lambda: collections.Counter())
    for f in files:
        cf[f.get("cf_name", "?")][jobs.get(f.get("job"), "flush?")] += f.get("file_size", 0)
    percf[node] = (tx, cf)
print()
print("Per column family, bytes per committed transaction written as SST files inside the window (flush / compaction):")
print()
names = sorted({n for _, cf in percf.values() for n in cf})
print("| node | " + " | ".join(names) + " |")
print("|---|" + "---|" * len(names))
for node, (tx, cf) in sorted(percf.items()):
    cells = [f"{cf[n]['flush'] / tx:,.0f} / {cf[n]['compaction'] / tx:,.0f}" if tx else "-" for n in names]
    print(f"| {node} | " + " | ".join(cells) + " |")
EOF
wait "$bench" || true
grep -E "committed|tx/s" "$out/bench.log" | tail -5 || true
echo "bench log: $out/bench.log" >&2
