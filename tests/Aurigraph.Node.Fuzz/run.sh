#!/usr/bin/env bash
# Fuzzes the node's decoders with AFL++ and SharpFuzz, one target after another.
#
#   tests/Aurigraph.Node.Fuzz/run.sh [seconds-per-target] [target...]
#
# Targets: frames, block, transaction, json (default: all four; 600 s each). Installs what it needs (Debian's afl++,
# the sharpfuzz tool from .config/dotnet-tools.json), publishes the harness into $FUZZ_WORK/bin, instruments
# Aurigraph.Node.dll (and the Google.Protobuf and MessagePack readers it decodes with), runs afl-fuzz on each target
# starting from corpus/<target>/ (with <target>.dict as its dictionary where there is one), then adds the inputs AFL
# found (its queue, minimised with afl-cmin) to corpus/<target>/ and prints executions, speed, crashes and hangs per
# target. Exits 1 if any target crashed or hung.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frames block transaction json)
work=${FUZZ_WORK:-$here/work}

if ! command -v afl-fuzz >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
cd "$repo"
dotnet tool restore >/dev/null

# A fresh publish each run: sharpfuzz rewrites the assemblies in place and refuses to instrument one twice.
rm -rf "$work/bin"
dotnet publish "$here/Aurigraph.Node.Fuzz.csproj" -c Release -o "$work/bin" -nologo -v quiet
for dll in Aurigraph.Node.dll Aurigraph.Client.dll Google.Protobuf.dll MessagePack.dll; do
  dotnet tool run sharpfuzz "$work/bin/$dll" >/dev/null
done
harness=("$(command -v dotnet)" "$work/bin/Aurigraph.Node.Fuzz.dll")

# dotnet itself carries no AFL instrumentation (the fork server is SharpFuzz's); a container has no CPU governor to
# check and may route core dumps elsewhere; the machine is shared, so no core pinning.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
export AFL_NO_UI=1 AFL_FORKSRV_INIT_TMOUT=60000 AFL_QUIET=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

field() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$2"; }

summary=()
failed=0
for target in "${targets[@]}"; do
  corpus="$here/corpus/$target"
  out="$work/findings/$target"
  rm -rf "$out"
  mkdir -p "$work/findings"
  echo "== $target: afl-fuzz for $seconds s from $(ls "$corpus" | wc -l) corpus inputs"
  dictionary=()
  [ -f "$here/$target.dict" ] && dictionary=(-x "$here/$target.dict")
  afl-fuzz -i "$corpus" -o "$out" "${dictionary[@]}" -V "$seconds" -t 2000 -m none -- "${harness[@]}" "$target" > "$work/$target.log" 2>&1 \
    || { tail -n 30 "$work/$target.log"; exit 1; }
  stats="$out/default/fuzzer_stats"
  crashes=$(field saved_crashes "$stats"); crashes=${crashes:-$(field unique_crashes "$stats")}
  hangs=$(field saved_hangs "$stats"); hangs=${hangs:-$(field unique_hangs "$stats")}

  # Keep what AFL found: its queue (which began as the corpus), minimised with afl-cmin to the inputs that still add
  # coverage, replaces the corpus's earlier finds; the seeds stay. Files are named by content.
  before=$(ls "$corpus" | wc -l)
  rm -rf "$work/cmin/$target"
  mkdir -p "$work/cmin"
  # afl-cmin refuses folders under /tmp unless told they are private; these are this script's own.
  if ! AFL_ALLOW_TMP=1 afl-cmin -i "$out/default/queue" -o "$work/cmin/$target" -t 5000 -m none -- "${harness[@]}" "$target" > "$work/$target.cmin.log" 2>&1; then
    echo "   afl-cmin failed (see $work/$target.cmin.log); keeping the whole queue"
    rm -rf "$work/cmin/$target"
    cp -r "$out/default/queue" "$work/cmin/$target"
  fi
  rm -f "$corpus"/afl-*
  for input in "$work/cmin/$target"/*; do
    [ -f "$input" ] && [ -s "$input" ] || continue
    case "$(basename "$input")" in *orig:seed-*) continue ;; esac
    cp "$input" "$corpus/afl-$(sha256sum "$input" | cut -c1-16)"
  done
  after=$(ls "$corpus" | wc -l)

  line="$target: execs_done=$(field execs_done "$stats") execs_per_sec=$(field execs_per_sec "$stats") saved_crashes=$crashes saved_hangs=$hangs corpus_count=$(field corpus_count "$stats") corpus_files=$before->$after ($(cat "$corpus"/* | wc -c) bytes)"
  summary+=("$line")
  echo "   $line"
  if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
    failed=1
    echo "   findings in $out/default/crashes and $out/default/hangs; replaying the crashes:"
    dotnet run --project "$here" -c Release -- replay "$target" "$out/default/crashes" | tail -n 40 || true
  fi
done

echo "== summary ($seconds s per target)"
printf '%s\n' "${summary[@]}"
exit $failed
