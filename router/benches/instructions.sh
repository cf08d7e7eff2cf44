#!/usr/bin/env bash
# Instructions the server executes per delivery (pub/sub) or per round trip (echo), counted by
# callgrind: repeatable where wall-clock figures on a shared 2-core machine are not (the same
# binary and load give the same count within ~1 %, whatever else runs).
#
#   router/benches/instructions.sh BINARY pubsub --conns 500 --senders 4 --size 64
#   URLPATH=echo router/benches/instructions.sh BINARY echo --conns 100 --pipeline 16 --size 32
#   REDIS_URL=redis://127.0.0.1:6379 router/benches/instructions.sh BINARY pubsub …   (backplane)
#
# BINARY is a server with `/ws` and `/echo` on $PORT (examples/bench_server). It runs under
# valgrind on core 0; wsbench (../shared/tools/wsbench, built in ~/.cache/wsbench-target by its
# compare.sh; WSBENCH names another) runs on core 1: a 1 s warm-up, then callgrind's counters
# are zeroed and a DUR-second run (default 5) is counted, so start-up is not in the figure.
set -euo pipefail
bin=$(realpath "${1:?usage: instructions.sh BINARY MODE WSBENCH-ARGS...}")
shift
WSBENCH=${WSBENCH:-$HOME/.cache/wsbench-target/release/wsbench}
port=${PORT:-4291}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
PORT=$port taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" \
    >/dev/null 2>"$out.err" &
pid=$!
for _ in $(seq 400); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
url=ws://127.0.0.1:$port/${URLPATH:-ws}
taskset -c 1 "$WSBENCH" "$@" --url "$url" --duration 1 --warmup 0 >/dev/null 2>&1 || true
callgrind_control --zero "$pid" >/dev/null
json=$(taskset -c 1 "$WSBENCH" "$@" --url "$url" --duration "${DUR:-5}" --warmup 0 2>/dev/null | tail -n1)
kill -TERM "$pid"
wait "$pid" || true
rm -f "$out.err"
ir=$(grep -E "^(summary|totals):" "$out" | head -1 | awk '{print $2}')
python3 -c '
import json, sys
d = json.loads(sys.argv[1]); ir = int(sys.argv[2])
units = d.get("deliveries") or d.get("round_trips")
print(f"{ir / units:.0f} instructions per unit ({units} units, {ir} Ir)")' "$json" "$ir"
